// Package platform is the composition root: it builds the process-wide
// clients (Firestore, Stripe, the token verifier) and the services on them
// (ledger, customers, checkout) once, lazily, on the first request that
// needs them. A cold start does no network I/O, and when one process serves
// every function locally they all share one set.
package platform

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"github.com/cloudevents/sdk-go/v2/event"

	"example.com/billing/shared/auth"
	"example.com/billing/shared/checkout"
	"example.com/billing/shared/closing"
	"example.com/billing/shared/config"
	"example.com/billing/shared/customer"
	"example.com/billing/shared/events"
	"example.com/billing/shared/httpx"
	"example.com/billing/shared/invoicecredit"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/metering"
	"example.com/billing/shared/payments"
)

// Google returns the environment's GCP settings.
var Google = sync.OnceValues(func() (config.Google, error) {
	var cfg config.Google
	return cfg, config.Load(context.Background(), &cfg)
})

// StripeConfig returns the environment's Stripe settings.
var StripeConfig = sync.OnceValues(func() (config.Stripe, error) {
	var cfg config.Stripe
	return cfg, config.Load(context.Background(), &cfg)
})

// Firestore returns the process's Firestore client. It honours
// FIRESTORE_EMULATOR_HOST.
var Firestore = sync.OnceValues(func() (*firestore.Client, error) {
	g, err := Google()
	if err != nil {
		return nil, err
	}
	project := g.Project
	if project == "" {
		project = firestore.DetectProjectID
	}
	// The client outlives any request, so it gets a background context.
	fs, err := firestore.NewClient(context.Background(), project)
	if err != nil {
		return nil, fmt.Errorf("firestore client: %w", err)
	}
	return fs, nil
})

// Stripe returns the process's Stripe port. A missing key is not an error
// here (see payments.New).
var Stripe = sync.OnceValues(func() (*payments.Client, error) {
	cfg, err := StripeConfig()
	if err != nil {
		return nil, err
	}
	return payments.New(cfg, nil), nil
})

// Ledger returns the process's ledger.
var Ledger = sync.OnceValues(func() (*ledger.Ledger, error) {
	fs, err := Firestore()
	if err != nil {
		return nil, err
	}
	return ledger.New(fs), nil
})

// Customers returns the process's customer service.
var Customers = sync.OnceValues(func() (*customer.Service, error) {
	fs, err := Firestore()
	if err != nil {
		return nil, err
	}
	stripe, err := Stripe()
	if err != nil {
		return nil, err
	}
	return customer.New(fs, stripe), nil
})

// Checkout returns the process's payment-start service.
var Checkout = sync.OnceValues(func() (*checkout.Service, error) {
	customers, err := Customers()
	if err != nil {
		return nil, err
	}
	stripe, err := Stripe()
	if err != nil {
		return nil, err
	}
	l, err := Ledger()
	if err != nil {
		return nil, err
	}
	return checkout.New(customers, stripe, l), nil
})

// Outbox returns the process's event outbox, publishing to Pub/Sub (the
// emulator when PUBSUB_EMULATOR_HOST is set).
var Outbox = sync.OnceValues(func() (*events.Outbox, error) {
	g, err := Google()
	if err != nil {
		return nil, err
	}
	fs, err := Firestore()
	if err != nil {
		return nil, err
	}
	project := g.Project
	if project == "" {
		project = pubsub.DetectProjectID
	}
	client, err := pubsub.NewClient(context.Background(), project)
	if err != nil {
		return nil, fmt.Errorf("pubsub client: %w", err)
	}
	return events.NewOutbox(fs, events.NewPubSub(client)), nil
})

// Usage returns the process's usage-report store.
var Usage = sync.OnceValues(func() (*metering.Store, error) {
	fs, err := Firestore()
	if err != nil {
		return nil, err
	}
	return metering.NewStore(fs), nil
})

// Deletions returns the process's deletion service, with the prices and
// invoice terms from the environment.
var Deletions = sync.OnceValues(func() (*closing.Service, error) {
	var cfg struct {
		Usage    metering.Config
		Deletion closing.Config
	}
	if err := config.Load(context.Background(), &cfg); err != nil {
		return nil, err
	}
	prices, err := cfg.Usage.Prices()
	if err != nil {
		return nil, err
	}
	fs, err := Firestore()
	if err != nil {
		return nil, err
	}
	l, err := Ledger()
	if err != nil {
		return nil, err
	}
	customers, err := Customers()
	if err != nil {
		return nil, err
	}
	stripe, err := Stripe()
	if err != nil {
		return nil, err
	}
	u, err := Usage()
	if err != nil {
		return nil, err
	}
	o, err := Outbox()
	if err != nil {
		return nil, err
	}
	return closing.New(fs, l, customers, stripe, u, prices, o, cfg.Deletion), nil
})

// InvoiceCredits returns the process's invoice-credit service.
var InvoiceCredits = sync.OnceValues(func() (*invoicecredit.Service, error) {
	l, err := Ledger()
	if err != nil {
		return nil, err
	}
	customers, err := Customers()
	if err != nil {
		return nil, err
	}
	stripe, err := Stripe()
	if err != nil {
		return nil, err
	}
	return invoicecredit.New(l, customers, stripe), nil
})

// Verifier returns the process's console-token verifier.
var Verifier = sync.OnceValues(func() (*auth.Verifier, error) {
	var cfg config.Auth
	if err := config.Load(context.Background(), &cfg); err != nil {
		return nil, err
	}
	return auth.NewVerifier(context.Background(), cfg)
})

// Serve runs the lazily built handler of a function, with a request logger in
// the context. A handler that cannot be built (bad configuration) answers 500
// service_misconfigured and logs why, on every request, so the problem is
// visible and fixed by a new deploy rather than hidden by a crash loop.
func Serve(w http.ResponseWriter, r *http.Request, function string, build func() (http.Handler, error)) {
	project := ""
	if g, err := Google(); err == nil {
		project = g.Project
	}
	logging.Middleware(logging.Default(), project, function, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, err := build()
		if err != nil {
			httpx.WriteError(w, r, &httpx.Error{
				Status: http.StatusInternalServerError, Code: "service_misconfigured",
				Message: "This service is misconfigured; the operators have been alerted.",
				Cause:   err,
			})
			return
		}
		h.ServeHTTP(w, r)
	})).ServeHTTP(w, r)
}

// CORS returns the process's CORS middleware, for the origins in
// CORS_ALLOWED_ORIGINS.
var CORS = sync.OnceValues(func() (func(http.Handler) http.Handler, error) {
	var cfg config.CORS
	if err := config.Load(context.Background(), &cfg); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return httpx.CORS(cfg.Origins()), nil
})

// ServeConsole is Serve for a console-facing function: the browser's CORS
// rules wrap everything, so that the console's page can read every answer,
// errors included. (The webhook and the event functions grant no CORS.)
func ServeConsole(w http.ResponseWriter, r *http.Request, function string, build func() (http.Handler, error)) {
	cors, err := CORS()
	if err != nil {
		Serve(w, r, function, func() (http.Handler, error) { return nil, err })
		return
	}
	cors(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { Serve(w, r, function, build) })).ServeHTTP(w, r)
}

// EventHandler handles one CloudEvent.
type EventHandler func(ctx context.Context, e event.Event) error

// ServeEvent runs the lazily built handler of an event-triggered function
// with a logger labelled with the function and the event id. A handler that
// cannot be built returns the error, so the message is redelivered (and
// reaches the dead-letter topic) rather than lost while the configuration
// is being fixed.
func ServeEvent(ctx context.Context, e event.Event, function string, build func() (EventHandler, error)) error {
	logger := logging.Default().With("function", function, "event_id", e.ID())
	ctx = logging.WithLogger(ctx, logger)
	h, err := build()
	if err != nil {
		logger.ErrorContext(ctx, "function is misconfigured", "error", err.Error())
		return err
	}
	return h(ctx, e)
}
