// Package platform is the composition root: the one place that builds every
// service of the functions (Firestore and Pub/Sub clients, the Stripe port,
// the ledger, customers, checkout, deletions, ...) from one validated Config,
// and the adapters that turn a function's handler into an entry point that
// builds it on the first request. Production builds the graph from the
// environment (Default); tests build the same graph with New on the
// emulators and the Stripe double. Nothing here runs at cold start: the
// graph is built on the first request or event, and building it does no
// network I/O of its own.
package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"

	"example.com/billing/shared/auth"
	"example.com/billing/shared/checkout"
	"example.com/billing/shared/closing"
	"example.com/billing/shared/config"
	"example.com/billing/shared/customer"
	"example.com/billing/shared/dispatch"
	"example.com/billing/shared/events"
	"example.com/billing/shared/invoicecredit"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/metering"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/reconciler"
	"example.com/billing/shared/sweep"
)

// Services is the graph every function is built from.
type Services struct {
	Config         Config
	Firestore      *firestore.Client
	Payments       *payments.Client
	Ledger         *ledger.Ledger
	Customers      *customer.Service
	Checkout       *checkout.Service
	Settings       *config.SettingsStore
	Usage          *metering.Store
	Outbox         *events.Outbox
	Deletions      *closing.Service
	InvoiceCredits *invoicecredit.Service
	// Events applies Stripe events exactly once: the webhook's and those
	// Reconcile lists.
	Events     *dispatch.Service
	Reconciler *reconciler.Service
	// Sweeps runs the scheduled sweeps: one Stripe budget for the process,
	// and the next run published to the sweep's own topic.
	Sweeps *sweep.Runner
	// Verifier checks console tokens; nil when AUTH_* is not configured,
	// which only the console functions refuse (see Console).
	Verifier *auth.Verifier

	verifierErr error
	pubsub      *pubsub.Client
}

// Options are what differs between production and a test.
type Options struct {
	// StripeHTTP is the HTTP client of the Stripe port (default: 30 s timeout).
	StripeHTTP *http.Client
	// FreshSettings reads config/billing on every request instead of caching
	// it for config.SettingsTTL, so a test sees a change at once.
	FreshSettings bool
}

// New builds the graph for cfg, which must have passed Validate. ctx bounds
// the clients' background work and should live as long as the graph.
func New(ctx context.Context, cfg Config, opts Options) (*Services, error) {
	prices, err := cfg.Usage.Prices()
	if err != nil {
		return nil, err
	}
	fsProject, psProject := cfg.Google.Project, cfg.Google.Project
	if fsProject == "" {
		fsProject, psProject = firestore.DetectProjectID, pubsub.DetectProjectID
	}
	fs, err := firestore.NewClient(ctx, fsProject)
	if err != nil {
		return nil, fmt.Errorf("firestore client: %w", err)
	}
	ps, err := pubsub.NewClient(ctx, psProject)
	if err != nil {
		fs.Close()
		return nil, fmt.Errorf("pubsub client: %w", err)
	}
	s := &Services{Config: cfg, Firestore: fs, pubsub: ps}
	s.Payments = payments.New(cfg.Stripe, opts.StripeHTTP)
	s.Ledger = ledger.New(fs)
	s.Customers = customer.New(fs, s.Payments)
	s.Checkout = checkout.New(s.Customers, s.Payments, s.Ledger)
	ttl := config.SettingsTTL
	if opts.FreshSettings {
		ttl = 0
	}
	s.Settings = config.NewSettingsStore(fs, cfg.AddFunds.Settings(), ttl)
	s.Usage = metering.NewStore(fs)
	publisher := events.NewPubSub(ps)
	s.Outbox = events.NewOutbox(fs, publisher)
	s.Deletions = closing.New(fs, s.Ledger, s.Customers, s.Payments, s.Usage, prices, s.Outbox, cfg.Deletion)
	s.InvoiceCredits = invoicecredit.New(s.Ledger, s.Customers, s.Payments)
	s.Events = dispatch.New(s.Ledger, s.Deletions, s.InvoiceCredits, s.Customers, s.Payments)
	s.Reconciler = reconciler.New(fs, s.Payments, s.Customers, s.Ledger, s.Events, cfg.Reconcile)
	s.Sweeps = sweep.NewRunner(cfg.Sweeps.Run, payments.NewBudget(cfg.Sweeps.Run.StripeRPS), events.Messages{PubSub: publisher})
	// Only the console functions verify tokens; the others run without AUTH_*.
	s.Verifier, s.verifierErr = auth.NewVerifier(ctx, cfg.Auth)
	return s, nil
}

// WebhookSecrets are the webhook's signing secrets, or why there are none.
func (s *Services) WebhookSecrets() ([]string, error) {
	if err := s.Config.Stripe.ValidateWebhook(); err != nil {
		return nil, err
	}
	return s.Config.Stripe.Secrets(), nil
}

// Close releases the clients.
func (s *Services) Close() error {
	return errors.Join(s.pubsub.Close(), s.Firestore.Close())
}

// Default is the process's graph, built from the environment on first use.
// When one process serves every function locally they all share it.
var Default = sync.OnceValues(func() (*Services, error) {
	cfg, err := LoadConfig(context.Background())
	if err != nil {
		return nil, err
	}
	// The clients outlive any request, so they get a background context.
	return New(context.Background(), cfg, Options{})
})
