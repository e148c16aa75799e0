package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// CORS lists the browser origins the console calls the functions from.
type CORS struct {
	// AllowedOrigins are exact origins (scheme://host[:port]), comma-separated
	// in CORS_ALLOWED_ORIGINS. Empty grants no origin.
	AllowedOrigins []string `env:"CORS_ALLOWED_ORIGINS"`
}

// Origins returns the configured origins, trimmed, without empties.
func (c CORS) Origins() []string {
	var out []string
	for _, o := range c.AllowedOrigins {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// Validate reports every entry that is not an exact origin. A wildcard is
// refused: the console's origins are known, and "*" would let any page
// drive a signed-in user's billing.
func (c CORS) Validate() error {
	var errs []error
	for _, o := range c.Origins() {
		u, err := url.Parse(o)
		switch {
		case strings.Contains(o, "*"):
			errs = append(errs, fmt.Errorf("CORS_ALLOWED_ORIGINS: %q: wildcards are not allowed; list exact origins", o))
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			errs = append(errs, fmt.Errorf("CORS_ALLOWED_ORIGINS: %q is not an origin such as https://console.example.com", o))
		case u.Path == "/":
			errs = append(errs, fmt.Errorf("CORS_ALLOWED_ORIGINS: %q: an origin has no path; drop the trailing slash", o))
		}
	}
	return errors.Join(errs...)
}

// StripePublishable is the key the console starts Stripe.js with; it is
// meant for browsers, unlike STRIPE_SECRET_KEY.
type StripePublishable struct {
	Key string `env:"STRIPE_PUBLISHABLE_KEY"`
}

// Validate refuses anything but a publishable key, so that a secret key put
// here by mistake is never handed to browsers. Empty is allowed (locally,
// the reference page then pays through the local server).
func (p StripePublishable) Validate() error {
	if p.Key != "" && !strings.HasPrefix(p.Key, "pk_") {
		return errors.New("STRIPE_PUBLISHABLE_KEY must be a publishable key (pk_...); never put a secret key here")
	}
	return nil
}
