// Package addfunds is the AddFunds function: a console user tops up their
// prepaid balance by card. It validates the request against the live
// settings, makes sure the user's Stripe customer exists, records a pending
// ledger transaction and creates its PaymentIntent. It never credits the
// balance itself: the webhook does, once Stripe reports the payment.
package addfunds

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"example.com/billing/shared/auth"
	"example.com/billing/shared/config"
	"example.com/billing/shared/customer"
	"example.com/billing/shared/httpx"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
)

// The consumer-side interfaces: what this function needs of each dependency.
type (
	authenticator interface {
		Authenticate(r *http.Request) (auth.User, error)
	}
	settingsSource interface {
		Get(ctx context.Context) config.Settings
	}
	customers interface {
		Ensure(ctx context.Context, userID, email string) (customer.Account, error)
	}
	intents interface {
		CreatePaymentIntent(ctx context.Context, p payments.NewPaymentIntent, idempotencyKey string) (payments.PaymentIntent, error)
		GetPaymentIntent(ctx context.Context, id string) (payments.PaymentIntent, error)
	}
	topUps interface {
		Transaction(ctx context.Context, userID, txID string) (ledger.Transaction, error)
		BeginTopUp(ctx context.Context, t ledger.TopUp) (ledger.Transaction, error)
		AttachPaymentIntent(ctx context.Context, userID, txID, paymentIntentID string) error
		FailTopUp(ctx context.Context, userID, txID, paymentIntentID, code, message string) error
	}
)

// Server handles AddFunds requests.
type Server struct {
	auth      authenticator
	settings  settingsSource
	customers customers
	intents   intents
	ledger    topUps
}

// NewServer wires a Server.
func NewServer(a authenticator, s settingsSource, c customers, i intents, l topUps) *Server {
	return &Server{auth: a, settings: s, customers: c, intents: i, ledger: l}
}

type request struct {
	Amount          json.RawMessage `json:"amount"`
	Currency        string          `json:"currency"`
	PaymentMethodID string          `json:"paymentMethodId"`
}

type response struct {
	TransactionID   string `json:"transactionId"`
	PaymentIntentID string `json:"paymentIntentId"`
	ClientSecret    string `json:"clientSecret"`
	Status          string `json:"status"`
	Amount          int64  `json:"amount"`
	Currency        string `json:"currency"`
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, err := s.handleAddFunds(r.Context(), w, r)
	if err != nil {
		httpx.WriteError(w, r, toHTTP(err))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
}

func (s *Server) handleAddFunds(ctx context.Context, w http.ResponseWriter, r *http.Request) (response, error) {
	if err := httpx.Method(r, http.MethodPost); err != nil {
		return response{}, err
	}
	user, err := s.auth.Authenticate(r)
	if err != nil {
		return response{}, err
	}
	ctx = logging.WithLogger(ctx, logging.FromContext(ctx).With("user_id", user.ID))

	var req request
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return response{}, err
	}
	topUp, err := s.validate(ctx, user.ID, req, r.Header.Get("Idempotency-Key"))
	if err != nil {
		return response{}, err
	}

	// A retry of a request that already has its intent answers from it.
	if existing, err := s.ledger.Transaction(ctx, topUp.UserID, topUp.ID); err == nil && existing.PaymentIntentID != "" {
		if !topUp.Matches(existing) {
			return response{}, ledger.ErrConflict
		}
		return s.replay(ctx, existing)
	} else if err != nil && !errors.Is(err, ledger.ErrNotFound) {
		return response{}, err
	}

	acct, err := s.customers.Ensure(ctx, user.ID, user.Email)
	if err != nil {
		return response{}, err
	}
	tx, err := s.ledger.BeginTopUp(ctx, topUp)
	if err != nil {
		return response{}, err
	}
	pi, err := s.intents.CreatePaymentIntent(ctx, payments.NewPaymentIntent{
		CustomerID:      acct.CustomerID,
		Amount:          tx.Amount,
		Currency:        tx.Currency,
		PaymentMethodID: tx.PaymentMethodID,
		Description:     "Add funds to prepaid balance",
		Metadata: map[string]string{
			payments.MetadataUserID:        user.ID,
			payments.MetadataTransactionID: tx.ID,
			payments.MetadataKind:          ledger.TypeCardTopUp,
		},
	}, "topup:"+tx.ID)
	if err != nil {
		return response{}, s.failed(ctx, tx, err)
	}
	if err := s.ledger.AttachPaymentIntent(ctx, tx.UserID, tx.ID, pi.ID); err != nil {
		// The intent exists and carries our ids in its metadata, so the
		// webhook still finds the transaction; a retry with the same
		// Idempotency-Key gets the same intent from Stripe.
		return response{}, err
	}
	logging.FromContext(ctx).InfoContext(ctx, "top-up started", "transaction_id", tx.ID, "payment_intent_id", pi.ID, "amount", tx.Amount, "status", pi.Status)
	return respond(tx, pi), nil
}

// validate turns the request into a top-up, checking it against the
// settings in force now.
func (s *Server) validate(ctx context.Context, userID string, req request, key string) (ledger.TopUp, error) {
	amount, tooLarge, err := parseAmount(req.Amount)
	if err != nil {
		return ledger.TopUp{}, err
	}
	currency := strings.ToLower(strings.TrimSpace(req.Currency))
	if currency == "" {
		currency = ledger.Currency
	}
	if currency != ledger.Currency {
		return ledger.TopUp{}, httpx.Errorf(http.StatusBadRequest, "invalid_request", "Currency %q is not supported; balances are kept in %s.", req.Currency, ledger.Currency)
	}
	if req.PaymentMethodID != "" && (!strings.HasPrefix(req.PaymentMethodID, "pm_") || len(req.PaymentMethodID) > 255) {
		return ledger.TopUp{}, httpx.Errorf(http.StatusBadRequest, "invalid_request", "paymentMethodId must be a Stripe payment method id (pm_...).")
	}
	settings := s.settings.Get(ctx)
	switch {
	case !settings.AddFundsEnabled:
		return ledger.TopUp{}, errDisabled
	case tooLarge || amount > settings.AddFundsMaxCents:
		return ledger.TopUp{}, amountTooHigh(settings.AddFundsMaxCents)
	case amount < settings.AddFundsMinCents:
		return ledger.TopUp{}, amountTooLow(settings.AddFundsMinCents)
	}
	id, err := transactionID(userID, key)
	if err != nil {
		return ledger.TopUp{}, err
	}
	return ledger.TopUp{UserID: userID, ID: id, Type: ledger.TypeCardTopUp, Amount: amount, Currency: currency, PaymentMethodID: req.PaymentMethodID}, nil
}

// transactionID is random for a request without an Idempotency-Key, and
// derived from the user and the key otherwise, so that a retry lands on the
// same transaction (and, through it, the same Stripe idempotency key).
func transactionID(userID, key string) (string, error) {
	if key == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return "tx_" + hex.EncodeToString(b), nil
	}
	if len(key) > 255 || strings.IndexFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "", errBadKey
	}
	sum := sha256.Sum256([]byte(userID + "\x00" + key))
	return "tx_" + hex.EncodeToString(sum[:16]), nil
}

// replay answers a retried request from its transaction and intent.
func (s *Server) replay(ctx context.Context, tx ledger.Transaction) (response, error) {
	if tx.Status == ledger.StatusFailed && tx.FailureCode == "card_declined" {
		return response{}, cardDeclined(tx.FailureMessage)
	}
	pi, err := s.intents.GetPaymentIntent(ctx, tx.PaymentIntentID)
	if err != nil {
		return response{}, err
	}
	return respond(tx, pi), nil
}

// failed records why no payment could start, and returns the client error.
func (s *Server) failed(ctx context.Context, tx ledger.Transaction, cause error) error {
	var pe *payments.Error
	errors.As(cause, &pe)
	code, message, clientErr := "payment_provider_unavailable", "The payment provider could not be reached.", toHTTP(cause)
	if errors.Is(cause, payments.ErrCardDeclined) {
		code, message, clientErr = "card_declined", pe.Message, cardDeclined(pe.Message)
	}
	piID := ""
	if pe != nil {
		piID = pe.PaymentIntentID
	}
	if err := s.ledger.FailTopUp(ctx, tx.UserID, tx.ID, piID, code, message); err != nil {
		logging.FromContext(ctx).ErrorContext(ctx, "could not mark top-up failed", "transaction_id", tx.ID, "error", err.Error())
	}
	return clientErr
}

func respond(tx ledger.Transaction, pi payments.PaymentIntent) response {
	return response{
		TransactionID:   tx.ID,
		PaymentIntentID: pi.ID,
		ClientSecret:    pi.ClientSecret,
		Status:          pi.Status,
		Amount:          pi.Amount,
		Currency:        pi.Currency,
	}
}
