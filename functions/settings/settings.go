// Package settings is the BillingSettings function: what the console needs
// to render billing before the user does anything. That is the add-funds
// switch and range in force (the live config/billing values, so the form
// validates exactly as AddFunds will), the currency, the package plans on
// offer and the Stripe publishable key that starts Stripe.js.
package settings

import (
	"cmp"
	"context"
	"net/http"
	"slices"

	"example.com/billing/shared/auth"
	"example.com/billing/shared/config"
	"example.com/billing/shared/httpx"
	"example.com/billing/shared/ledger"
)

type (
	authenticator interface {
		Authenticate(r *http.Request) (auth.User, error)
	}
	settingsSource interface {
		Get(ctx context.Context) config.Settings
	}
)

// CacheControl lets the browser reuse the answer briefly. Private: it
// answers a signed-in user. 30 s: on top of the settings store's own 30 s,
// a change of config/billing still reaches the page within the contract's
// 60 s.
const CacheControl = "private, max-age=30"

// Server handles BillingSettings requests.
type Server struct {
	auth           authenticator
	settings       settingsSource
	packages       config.Packages
	publishableKey string
}

// NewServer wires a Server: the live add-funds settings, the plans
// PurchasePackage sells and the Stripe publishable key (empty when none is
// configured).
func NewServer(a authenticator, s settingsSource, p config.Packages, publishableKey string) *Server {
	return &Server{auth: a, settings: s, packages: p, publishableKey: publishableKey}
}

// Response is the answer of GET /BillingSettings. Amounts are cents of
// Currency.
type Response struct {
	AddFundsEnabled   bool      `json:"addFundsEnabled"`
	AddFundsMinAmount int64     `json:"addFundsMinAmount"`
	AddFundsMaxAmount int64     `json:"addFundsMaxAmount"`
	Currency          string    `json:"currency"`
	Packages          []Package `json:"packages"`
	// StripePublishableKey is absent when none is configured (locally).
	StripePublishableKey string `json:"stripePublishableKey,omitempty"`
}

// Package is a plan on offer: the card is charged Price, the balance gains
// Credit.
type Package struct {
	ID     string `json:"id"`
	Price  int64  `json:"price"`
	Credit int64  `json:"credit"`
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, err := s.handleSettings(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", CacheControl)
	httpx.WriteJSON(w, http.StatusOK, resp)
}

func (s *Server) handleSettings(r *http.Request) (Response, error) {
	if err := httpx.Method(r, http.MethodGet); err != nil {
		return Response{}, err
	}
	if _, err := s.auth.Authenticate(r); err != nil {
		return Response{}, err
	}
	live := s.settings.Get(r.Context())
	resp := Response{
		AddFundsEnabled: live.AddFundsEnabled, AddFundsMinAmount: live.AddFundsMinCents, AddFundsMaxAmount: live.AddFundsMaxCents,
		Currency: ledger.Currency, Packages: make([]Package, 0, len(s.packages)), StripePublishableKey: s.publishableKey,
	}
	for id, p := range s.packages {
		resp.Packages = append(resp.Packages, Package{ID: id, Price: p.Price, Credit: p.Credit})
	}
	slices.SortFunc(resp.Packages, func(a, b Package) int { return cmp.Compare(a.ID, b.ID) })
	return resp, nil
}
