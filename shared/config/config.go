// Package config owns the functions' settings: the environment, read once per
// concern with go-envconfig and validated as a whole, and the live add-funds
// settings in the Firestore document config/billing, which override the
// environment's defaults at run time without a restart.
package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/sethvargo/go-envconfig"
)

// Google is where the functions run.
type Google struct {
	// Project is the GCP project id. Empty means: detect it from the
	// credentials (Cloud Functions always sets it in the environment via the
	// Terraform module, so detection is only a fallback).
	Project string `env:"GOOGLE_CLOUD_PROJECT"`
}

// Stripe is the payment provider's configuration.
type Stripe struct {
	SecretKey string `env:"STRIPE_SECRET_KEY"`
	// APIURL points the client at stripe-mock or a test double.
	APIURL string `env:"STRIPE_API_URL"`
	// WebhookSecrets holds every accepted signing secret, so a secret can be
	// rotated with zero downtime.
	WebhookSecrets []string `env:"STRIPE_WEBHOOK_SECRET"`
}

// ValidateAPI reports what stops the functions from calling Stripe.
func (s Stripe) ValidateAPI() error {
	var errs []error
	if s.SecretKey == "" {
		errs = append(errs, errors.New("STRIPE_SECRET_KEY is not set"))
	}
	if s.APIURL != "" {
		if u, err := url.Parse(s.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("STRIPE_API_URL %q is not an http(s) URL", s.APIURL))
		}
	}
	return errors.Join(errs...)
}

// ValidateWebhook reports what stops the webhook from verifying events.
func (s Stripe) ValidateWebhook() error {
	if len(s.Secrets()) == 0 {
		return errors.New("STRIPE_WEBHOOK_SECRET is not set")
	}
	return nil
}

// Secrets returns the configured webhook signing secrets, trimmed, without
// empties.
func (s Stripe) Secrets() []string {
	var out []string
	for _, v := range s.WebhookSecrets {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Auth describes the console's tokens.
type Auth struct {
	JWKSURL  string `env:"AUTH_JWKS_URL"`
	Issuer   string `env:"AUTH_ISSUER"`
	Audience string `env:"AUTH_AUDIENCE"`
}

// Validate reports every missing or malformed auth setting.
func (a Auth) Validate() error {
	var errs []error
	if a.JWKSURL == "" {
		errs = append(errs, errors.New("AUTH_JWKS_URL is not set"))
	} else if u, err := url.Parse(a.JWKSURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("AUTH_JWKS_URL %q is not an http(s) URL", a.JWKSURL))
	}
	if a.Issuer == "" {
		errs = append(errs, errors.New("AUTH_ISSUER is not set"))
	}
	if a.Audience == "" {
		errs = append(errs, errors.New("AUTH_AUDIENCE is not set"))
	}
	return errors.Join(errs...)
}

// AddFunds holds the environment defaults of the live add-funds settings.
type AddFunds struct {
	Enabled  bool  `env:"ADD_FUNDS_ENABLED, default=true"`
	MinCents int64 `env:"ADD_FUNDS_MIN_CENTS, default=1000"`
	MaxCents int64 `env:"ADD_FUNDS_MAX_CENTS, default=250000"`
}

// Settings converts the defaults to live settings.
func (a AddFunds) Settings() Settings {
	return Settings{AddFundsEnabled: a.Enabled, AddFundsMinCents: a.MinCents, AddFundsMaxCents: a.MaxCents}
}

// Load fills cfg (a pointer to a struct of the types above, or of fields
// tagged for envconfig) from the environment.
func Load(ctx context.Context, cfg any) error {
	if err := envconfig.Process(ctx, cfg); err != nil {
		return fmt.Errorf("read environment: %w", err)
	}
	return nil
}

// LoadFrom fills cfg like Load, from vars instead of the environment.
func LoadFrom(ctx context.Context, cfg any, vars map[string]string) error {
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: cfg, Lookuper: envconfig.MapLookuper(vars)}); err != nil {
		return fmt.Errorf("read configuration: %w", err)
	}
	return nil
}

// Package is a plan a partner sign-up can buy: the card is charged Price,
// the balance gains Credit (both in cents).
type Package struct {
	Price  int64 `json:"price"`
	Credit int64 `json:"credit"`
}

// Packages are the plans on offer by id, read from PACKAGE_PLANS as JSON:
// {"partner-pro": {"price": 10000, "credit": 15000}}.
type Packages map[string]Package

// EnvDecode reads the JSON form.
func (p *Packages) EnvDecode(val string) error {
	if strings.TrimSpace(val) == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(val))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return fmt.Errorf("PACKAGE_PLANS is not a JSON object of {\"price\", \"credit\"}: %w", err)
	}
	return nil
}

// Validate reports every unusable package.
func (p Packages) Validate() error {
	var errs []error
	for id, pkg := range p {
		if id == "" || len(id) > 64 || strings.ContainsAny(id, "/ ") {
			errs = append(errs, fmt.Errorf("package id %q must be 1 to 64 characters without spaces or slashes", id))
		}
		if pkg.Price < StripeMinimumCents {
			errs = append(errs, fmt.Errorf("package %q: price %d is below Stripe's minimum charge of %d cents", id, pkg.Price, StripeMinimumCents))
		}
		if pkg.Credit <= 0 {
			errs = append(errs, fmt.Errorf("package %q: credit must be positive", id))
		}
	}
	return errors.Join(errs...)
}

// Purchase configures PurchasePackage.
type Purchase struct {
	Packages Packages `env:"PACKAGE_PLANS"`
}
