// Package addfunds holds the functions that buy balance by card: AddFunds,
// where a console user tops up their prepaid balance, and PurchasePackage,
// where a partner sign-up buys a package plan. Both authenticate, validate,
// and start the payment through checkout (customer first, pending
// transaction, PaymentIntent). Neither credits the balance: the webhook
// does, once Stripe reports the payment.
package addfunds

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"example.com/billing/shared/auth"
	"example.com/billing/shared/checkout"
	"example.com/billing/shared/config"
	"example.com/billing/shared/httpx"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/platform"
)

// The consumer-side interfaces: what this function needs of each dependency.
type (
	settingsSource interface {
		Get(ctx context.Context) config.Settings
	}
	starter interface {
		Start(ctx context.Context, p checkout.Payment) (checkout.Started, error)
	}
)

// Server handles AddFunds requests.
type Server struct {
	http.Handler
	settings settingsSource
	checkout starter
}

// NewServer wires a Server.
func NewServer(a httpx.Authenticator, s settingsSource, c starter) *Server {
	srv := &Server{settings: s, checkout: c}
	srv.Handler = httpx.Console(a, http.MethodPost, errs, srv.handleAddFunds)
	return srv
}

// New builds the AddFunds function from the services.
func New(s *platform.Services) http.Handler { return NewServer(s.Verifier, s.Settings, s.Checkout) }

type request struct {
	Amount          json.RawMessage `json:"amount"`
	Currency        string          `json:"currency"`
	PaymentMethodID string          `json:"paymentMethodId"`
}

// Response is the answer of AddFunds (and of PurchasePackage, which adds
// the package).
type Response struct {
	TransactionID   string `json:"transactionId"`
	PaymentIntentID string `json:"paymentIntentId"`
	ClientSecret    string `json:"clientSecret"`
	Status          string `json:"status"`
	Amount          int64  `json:"amount"`
	Currency        string `json:"currency"`
	Package         string `json:"package,omitempty"`
}

// Respond builds the answer for a started payment.
func Respond(s checkout.Started) Response {
	return Response{
		TransactionID:   s.Transaction.ID,
		PaymentIntentID: s.Intent.ID,
		ClientSecret:    s.Intent.ClientSecret,
		Status:          s.Intent.Status,
		Amount:          s.Intent.Amount,
		Currency:        s.Intent.Currency,
		Package:         s.Transaction.PackageID,
	}
}

func (s *Server) handleAddFunds(w http.ResponseWriter, r *http.Request, user auth.User) (any, error) {
	ctx := r.Context()
	var req request
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	amount, err := s.validate(ctx, req)
	if err != nil {
		return nil, err
	}
	started, err := s.checkout.Start(ctx, checkout.Payment{
		UserID: user.ID, Email: user.Email, IdempotencyKey: r.Header.Get("Idempotency-Key"),
		Type: ledger.TypeCardTopUp, Charge: amount, Credit: amount, Currency: ledger.Currency,
		PaymentMethodID: req.PaymentMethodID, Description: "Add funds to prepaid balance",
	})
	if err != nil {
		return nil, err
	}
	return Respond(started), nil
}

// validate checks the request against the settings in force now and
// returns the amount.
func (s *Server) validate(ctx context.Context, req request) (int64, error) {
	amount, tooLarge, err := parseAmount(req.Amount)
	if err != nil {
		return 0, err
	}
	if err := ValidateCurrency(req.Currency); err != nil {
		return 0, err
	}
	if err := ValidatePaymentMethod(req.PaymentMethodID); err != nil {
		return 0, err
	}
	settings := s.settings.Get(ctx)
	switch {
	case !settings.AddFundsEnabled:
		return 0, errDisabled
	case tooLarge || amount > settings.AddFundsMaxCents:
		return 0, amountTooHigh(settings.AddFundsMaxCents)
	case amount < settings.AddFundsMinCents:
		return 0, amountTooLow(settings.AddFundsMinCents)
	}
	return amount, nil
}

// ValidateCurrency accepts the balance's currency, in any case; empty means it.
func ValidateCurrency(c string) error {
	if c := strings.ToLower(strings.TrimSpace(c)); c == "" || c == ledger.Currency {
		return nil
	}
	return httpx.Errorf(http.StatusBadRequest, "invalid_request", "Currency %q is not supported; balances are kept in %s.", c, ledger.Currency)
}

// ValidatePaymentMethod accepts no saved card, or a Stripe payment method id.
func ValidatePaymentMethod(id string) error {
	if id != "" && (!strings.HasPrefix(id, "pm_") || len(id) > 255) {
		return httpx.Errorf(http.StatusBadRequest, "invalid_request", "paymentMethodId must be a Stripe payment method id (pm_...).")
	}
	return nil
}
