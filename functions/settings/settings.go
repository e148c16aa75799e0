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
	"example.com/billing/shared/platform"
)

type settingsSource interface {
	Get(ctx context.Context) config.Settings
}

// CacheControl lets the browser reuse the answer briefly. Private: it
// answers a signed-in user. 30 s: on top of the settings store's own 30 s,
// a change of config/billing still reaches the page within the contract's
// 60 s.
const CacheControl = "private, max-age=30"

// Server handles BillingSettings requests.
type Server struct {
	http.Handler
	settings       settingsSource
	packages       config.Packages
	publishableKey string
}

// NewServer wires a Server: the live add-funds settings, the plans
// PurchasePackage sells and the Stripe publishable key (empty when none is
// configured).
func NewServer(a httpx.Authenticator, s settingsSource, p config.Packages, publishableKey string) *Server {
	srv := &Server{settings: s, packages: p, publishableKey: publishableKey}
	srv.Handler = httpx.Console(a, http.MethodGet, httpx.Errors{}, srv.handleSettings)
	return srv
}

// New builds the BillingSettings function from the services.
func New(s *platform.Services) http.Handler {
	return NewServer(s.Verifier, s.Settings, s.Config.Purchase.Packages, s.Config.Publishable.Key)
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

func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request, _ auth.User) (any, error) {
	w.Header().Set("Cache-Control", CacheControl)
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
