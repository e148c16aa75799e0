// Package payments is the Stripe port: the only code that talks to Stripe
// and the only one that imports stripe-go. It turns stripe-go calls into the
// project's own small types, classifies every failure into a sentinel the
// callers act on (unavailable, rejected key, declined card, bad request),
// logs each failure once with its operation and Stripe error code, verifies
// webhook signatures and parses the events into our types (Event), and
// declares the metadata keys we put on Stripe objects.
package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"example.com/billing/shared/config"
	"example.com/billing/shared/logging"
)

// Sentinel kinds of failure. Every error this package returns matches
// exactly one of them with errors.Is.
var (
	// ErrUnavailable: Stripe could not be reached, timed out, or answered
	// 5xx/429/409; the same call may succeed later.
	ErrUnavailable = errors.New("stripe is unavailable")
	// ErrMisconfigured: Stripe rejected our key (401/403) or no key is set;
	// an operator must act, but callers treat it like an outage.
	ErrMisconfigured = errors.New("stripe is misconfigured")
	// ErrCardDeclined: the card was declined; the message may be shown.
	ErrCardDeclined = errors.New("card declined")
	// ErrNotFound: the object does not exist in Stripe.
	ErrNotFound = errors.New("not found in stripe")
	// ErrRejected: Stripe refused the request as invalid (400), including an
	// idempotency key reused with other parameters.
	ErrRejected = errors.New("stripe rejected the request")
)

// CodeChargeDisputed is Stripe's refusal to refund a charge a dispute took
// money from (even once the dispute is won).
const CodeChargeDisputed = "charge_disputed"

// Error is a classified Stripe failure.
type Error struct {
	Op      string // e.g. "create customer"
	Kind    error  // one of the sentinels above
	Status  int    // HTTP status from Stripe, 0 when none
	Code    string // Stripe's error code, e.g. "card_declined"
	Param   string // the request parameter Stripe names, e.g. "customer"
	Message string // Stripe's message; safe to show for card errors
	// PaymentIntentID is set when Stripe reports the intent the error is
	// about (a declined confirmation).
	PaymentIntentID string
	Err             error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %v (status %d, code %q): %s", e.Op, e.Kind, e.Status, e.Code, e.Message)
}

func (e *Error) Is(target error) bool { return target == e.Kind }
func (e *Error) Unwrap() error        { return e.Err }

// Client calls Stripe with a key and base URL from configuration, never the
// global stripe.Key.
type Client struct {
	api        *client.API
	configured error
}

// New builds a client. It does no network I/O. A missing key is not an error
// here: every call then fails with ErrMisconfigured, so that functions which
// must keep working without Stripe (account registration) still start.
func New(cfg config.Stripe, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	bc := &stripe.BackendConfig{
		HTTPClient:        paceable(httpClient), // a sweep's requests spend its Budget
		MaxNetworkRetries: stripe.Int64(2),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if cfg.APIURL != "" {
		bc.URL = stripe.String(cfg.APIURL)
	}
	api := &client.API{}
	api.Init(cfg.SecretKey, &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, bc),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, bc),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, bc),
	})
	return &Client{api: api, configured: cfg.ValidateAPI()}
}

// fail classifies err, logs it once, and returns the classified error.
func fail(ctx context.Context, op string, err error) error {
	e := classify(op, err)
	level := "stripe call failed"
	attrs := []any{"operation", op, "stripe_status", e.Status, "stripe_code", e.Code, "kind", e.Kind.Error()}
	logger := logging.FromContext(ctx)
	switch e.Kind {
	case ErrMisconfigured:
		logger.ErrorContext(ctx, level+": configuration error (check STRIPE_SECRET_KEY)", append(attrs, "error", e.Message)...)
	case ErrCardDeclined:
		logger.InfoContext(ctx, level, attrs...)
	default:
		logger.ErrorContext(ctx, level, append(attrs, "error", e.Message)...)
	}
	return e
}

func classify(op string, err error) *Error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		// Network errors, timeouts, canceled contexts: Stripe may or may not
		// have acted, so callers retry with the same idempotency key.
		return &Error{Op: op, Kind: ErrUnavailable, Message: err.Error(), Err: err}
	}
	e := &Error{Op: op, Status: se.HTTPStatusCode, Code: string(se.Code), Param: se.Param, Message: se.Msg, Err: err}
	if se.PaymentIntent != nil {
		e.PaymentIntentID = se.PaymentIntent.ID
	}
	switch {
	case se.HTTPStatusCode == http.StatusUnauthorized || se.HTTPStatusCode == http.StatusForbidden:
		e.Kind = ErrMisconfigured
	case se.Type == stripe.ErrorTypeCard:
		e.Kind = ErrCardDeclined
	case se.HTTPStatusCode == http.StatusNotFound || se.Code == stripe.ErrorCodeResourceMissing:
		e.Kind = ErrNotFound
	case se.HTTPStatusCode == http.StatusConflict || se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode >= 500:
		e.Kind = ErrUnavailable
	default:
		e.Kind = ErrRejected
	}
	return e
}

// IsMissingCustomer reports a call that named a customer Stripe does not
// have (deleted in Stripe): resource_missing on the customer parameter.
func IsMissingCustomer(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == ErrNotFound && e.Param == "customer"
}

// ready reports a missing key as a classified error without calling Stripe.
func (c *Client) ready(ctx context.Context, op string) error {
	if c.configured == nil {
		return nil
	}
	e := &Error{Op: op, Kind: ErrMisconfigured, Message: c.configured.Error(), Err: c.configured}
	logging.FromContext(ctx).ErrorContext(ctx, "stripe call failed: configuration error", "operation", op, "kind", e.Kind.Error(), "error", e.Message)
	return e
}
