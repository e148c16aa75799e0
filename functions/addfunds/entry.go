package addfunds

import (
	"context"
	"net/http"
	"sync"

	"example.com/billing/shared/config"
	"example.com/billing/shared/platform"
)

// The servers are built on the first request, not at start-up.
var (
	server = sync.OnceValues(func() (http.Handler, error) {
		var defaults config.AddFunds
		if err := config.Load(context.Background(), &defaults); err != nil {
			return nil, err
		}
		if err := defaults.Settings().Validate(); err != nil {
			return nil, err
		}
		fs, err := platform.Firestore()
		if err != nil {
			return nil, err
		}
		verifier, err := platform.Verifier()
		if err != nil {
			return nil, err
		}
		c, err := platform.Checkout()
		if err != nil {
			return nil, err
		}
		return NewServer(verifier, config.NewSettingsStore(fs, defaults.Settings(), config.SettingsTTL), c), nil
	})
	purchaseServer = sync.OnceValues(func() (http.Handler, error) {
		var cfg config.Purchase
		if err := config.Load(context.Background(), &cfg); err != nil {
			return nil, err
		}
		if err := cfg.Packages.Validate(); err != nil {
			return nil, err
		}
		verifier, err := platform.Verifier()
		if err != nil {
			return nil, err
		}
		customers, err := platform.Customers()
		if err != nil {
			return nil, err
		}
		c, err := platform.Checkout()
		if err != nil {
			return nil, err
		}
		return NewPurchaseServer(verifier, cfg.Packages, customers, c), nil
	})
)

// Handle is the AddFunds entry point.
func Handle(w http.ResponseWriter, r *http.Request) {
	platform.ServeConsole(w, r, "AddFunds", server)
}

// HandlePurchase is the PurchasePackage entry point.
func HandlePurchase(w http.ResponseWriter, r *http.Request) {
	platform.ServeConsole(w, r, "PurchasePackage", purchaseServer)
}
