package addfunds

import (
	"context"
	"errors"
	"net/http"

	"example.com/billing/shared/account"
	"example.com/billing/shared/auth"
	"example.com/billing/shared/checkout"
	"example.com/billing/shared/config"
	"example.com/billing/shared/httpx"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/platform"
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
	http.Handler
	packages config.Packages
	accounts accounts
	checkout starter
}

// NewPurchaseServer wires a PurchaseServer.
func NewPurchaseServer(a httpx.Authenticator, p config.Packages, acc accounts, c starter) *PurchaseServer {
	s := &PurchaseServer{packages: p, accounts: acc, checkout: c}
	s.Handler = httpx.Console(a, http.MethodPost, errs, s.handlePurchase)
	return s
}

// NewPurchase builds the PurchasePackage function from the services.
func NewPurchase(s *platform.Services) http.Handler {
	return NewPurchaseServer(s.Verifier, s.Config.Purchase.Packages, s.Customers, s.Checkout)
}

type purchaseRequest struct {
	Package         string `json:"package"`
	PaymentMethodID string `json:"paymentMethodId"`
}

var errAlreadyPurchased = httpx.Errorf(http.StatusConflict, "package_already_purchased", "This account already has a package plan.")

func (s *PurchaseServer) handlePurchase(w http.ResponseWriter, r *http.Request, user auth.User) (any, error) {
	ctx := r.Context()
	var req purchaseRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	pkg, ok := s.packages[req.Package]
	if !ok {
		return nil, httpx.Errorf(http.StatusBadRequest, "unknown_package", "There is no package %q.", req.Package)
	}
	if err := ValidatePaymentMethod(req.PaymentMethodID); err != nil {
		return nil, err
	}
	acct, err := s.accounts.Get(ctx, user.ID)
	switch {
	case err == nil && acct.Plan != "":
		return nil, errAlreadyPurchased
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	started, err := s.checkout.Start(ctx, checkout.Payment{
		UserID: user.ID, Email: user.Email, IdempotencyKey: r.Header.Get("Idempotency-Key"),
		Type: ledger.TypePackagePurchase, Charge: pkg.Price, Credit: pkg.Credit, Currency: ledger.Currency,
		PaymentMethodID: req.PaymentMethodID, PackageID: req.Package, Description: "Package plan " + req.Package,
	})
	if err != nil {
		return nil, err
	}
	return Respond(started), nil
}
