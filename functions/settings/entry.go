package settings

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"example.com/billing/shared/config"
	"example.com/billing/shared/platform"
)

// The server is built on the first request, not at start-up.
var server = sync.OnceValues(func() (http.Handler, error) {
	var cfg struct {
		AddFunds    config.AddFunds
		Purchase    config.Purchase
		Publishable config.StripePublishable
	}
	if err := config.Load(context.Background(), &cfg); err != nil {
		return nil, err
	}
	defaults := cfg.AddFunds.Settings()
	if err := errors.Join(defaults.Validate(), cfg.Purchase.Packages.Validate(), cfg.Publishable.Validate()); err != nil {
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
	return NewServer(verifier, config.NewSettingsStore(fs, defaults, config.SettingsTTL), cfg.Purchase.Packages, cfg.Publishable.Key), nil
})

// Handle is the BillingSettings entry point.
func Handle(w http.ResponseWriter, r *http.Request) {
	platform.ServeConsole(w, r, "BillingSettings", server)
}
