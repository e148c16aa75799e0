package addfunds

import (
	"context"
	"errors"
	"net/http"

	"example.com/billing/shared/account"
	"example.com/billing/shared/checkout"
	"example.com/billing/shared/config"
	"example.com/billing/shared/httpx"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/store"
)

// accounts is what PurchasePackage needs to know of the user's account.
type accounts interface {
	Get(ctx context.Context, userID string) (account.Account, error)
}

// PurchaseServer handles PurchasePackage: a partner sign-up buys a package
// plan by card. It starts the payment exactly like AddFunds (customer first,
// so it works before any AccountSetup), and the webhook credits the
// package's credit and records the plan once Stripe reports the payment.
type PurchaseServer struct {
	auth     authenticator
	packages config.Packages
	accounts accounts
	checkout starter
}

// NewPurchaseServer wires a PurchaseServer.
func NewPurchaseServer(a authenticator, p config.Packages, acc accounts, c starter) *PurchaseServer {
	return &PurchaseServer{auth: a, packages: p, accounts: acc, checkout: c}
}

type purchaseRequest struct {
	Package         string `json:"package"`
	PaymentMethodID string `json:"paymentMethodId"`
}

var errAlreadyPurchased = httpx.Errorf(http.StatusConflict, "package_already_purchased", "This account already has a package plan.")

func (s *PurchaseServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, err := s.handlePurchase(w, r)
	if err != nil {
		httpx.WriteError(w, r, ToHTTP(err))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
}

func (s *PurchaseServer) handlePurchase(w http.ResponseWriter, r *http.Request) (Response, error) {
	if err := httpx.Method(r, http.MethodPost); err != nil {
		return Response{}, err
	}
	user, err := s.auth.Authenticate(r)
	if err != nil {
		return Response{}, err
	}
	ctx := logging.WithLogger(r.Context(), logging.FromContext(r.Context()).With("user_id", user.ID))
	var req purchaseRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return Response{}, err
	}
	pkg, ok := s.packages[req.Package]
	if !ok {
		return Response{}, httpx.Errorf(http.StatusBadRequest, "unknown_package", "There is no package %q.", req.Package)
	}
	if err := ValidatePaymentMethod(req.PaymentMethodID); err != nil {
		return Response{}, err
	}
	acct, err := s.accounts.Get(ctx, user.ID)
	switch {
	case err == nil && acct.Plan != "":
		return Response{}, errAlreadyPurchased
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return Response{}, err
	}
	started, err := s.checkout.Start(ctx, checkout.Payment{
		UserID: user.ID, Email: user.Email, IdempotencyKey: r.Header.Get("Idempotency-Key"),
		Type: ledger.TypePackagePurchase, Charge: pkg.Price, Credit: pkg.Credit, Currency: ledger.Currency,
		PaymentMethodID: req.PaymentMethodID, PackageID: req.Package, Description: "Package plan " + req.Package,
	})
	if err != nil {
		return Response{}, err
	}
	return Respond(started), nil
}
