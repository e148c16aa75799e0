package platform

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"example.com/billing/shared/closing"
	"example.com/billing/shared/config"
	"example.com/billing/shared/metering"
	"example.com/billing/shared/reconciler"
	"example.com/billing/shared/sweep"
)

// Config is every setting of every function, read from the environment in
// one pass. Every function is deployed with the variables it needs (see
// infra/), so what a function does not use may be unset; what is set must
// be well-formed.
type Config struct {
	Google    config.Google
	Stripe    config.Stripe
	Auth      config.Auth
	AddFunds  config.AddFunds
	Purchase  config.Purchase
	Usage     metering.Config
	Deletion  closing.Config
	Reconcile reconciler.Config
	Sweeps    Sweeps
	// The console's browser side: the origins CORS allows, and the key it
	// starts Stripe.js with.
	CORS        config.CORS
	Publishable config.StripePublishable
}

// Sweeps configures the scheduled sweeps: the documents each reads a page
// at a time, and how fast and how long each run goes.
type Sweeps struct {
	RepairBatch   int `env:"REPAIR_BATCH_SIZE, default=100"`
	DeletionBatch int `env:"DELETION_SWEEP_BATCH_SIZE, default=100"`
	Run           sweep.Config
}

// LoadConfig reads the environment and validates the result as a whole.
func LoadConfig(ctx context.Context) (Config, error) {
	var cfg Config
	if err := config.Load(ctx, &cfg); err != nil {
		return Config{}, err
	}
	return cfg, cfg.Validate()
}

// ConfigFrom is LoadConfig over vars instead of the environment (tests and
// tools that build the graph for another project).
func ConfigFrom(ctx context.Context, vars map[string]string) (Config, error) {
	var cfg Config
	if err := config.LoadFrom(ctx, &cfg, vars); err != nil {
		return Config{}, err
	}
	return cfg, cfg.Validate()
}

// Validate reports every problem of the configuration at once. Settings a
// role needs are checked where the role is built (the token verifier needs
// AUTH_*, the webhook STRIPE_WEBHOOK_SECRET); a missing STRIPE_SECRET_KEY is
// never an error here, because registration must work while Stripe is not
// configured (see payments.New).
func (c Config) Validate() error {
	var errs []error
	if c.Stripe.APIURL != "" {
		if u, err := url.Parse(c.Stripe.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("STRIPE_API_URL %q is not an http(s) URL", c.Stripe.APIURL))
		}
	}
	if c.Auth != (config.Auth{}) {
		errs = append(errs, c.Auth.Validate())
	}
	errs = append(errs, c.AddFunds.Settings().Validate(), c.Purchase.Packages.Validate())
	if _, err := c.Usage.Prices(); err != nil {
		errs = append(errs, err)
	}
	if c.Deletion.DaysUntilDue < 1 {
		errs = append(errs, fmt.Errorf("DELETION_INVOICE_DAYS must be at least 1, not %d", c.Deletion.DaysUntilDue))
	}
	if c.Reconcile.Window <= 0 || c.Reconcile.StaleAfter <= 0 || c.Reconcile.BatchSize < 1 {
		errs = append(errs, errors.New("RECONCILE_WINDOW and STALE_PAYMENT_AGE must be positive and STALE_PAYMENT_BATCH_SIZE at least 1"))
	}
	errs = append(errs, c.CORS.Validate(), c.Publishable.Validate())
	if c.Sweeps.RepairBatch < 1 || c.Sweeps.DeletionBatch < 1 {
		errs = append(errs, errors.New("REPAIR_BATCH_SIZE and DELETION_SWEEP_BATCH_SIZE must be at least 1"))
	}
	errs = append(errs, c.Sweeps.Run.Validate())
	return errors.Join(errs...)
}
