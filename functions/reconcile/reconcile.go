// Package reconcile holds the scheduled money jobs: Reconcile (Pub/Sub
// reconcile, hourly) settles every recent PaymentIntent of ours that a
// webhook missed, and CancelStalePayments (Pub/Sub cancel-stale-payments,
// hourly) cancels top-ups pending for too long, crediting any that turn out
// paid. Both go through the ledger's exactly-once path and log what they
// fixed.
package reconcile

import (
	"context"
	"sync"

	"github.com/cloudevents/sdk-go/v2/event"

	"example.com/billing/shared/config"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/platform"
	"example.com/billing/shared/reconciler"
)

var service = sync.OnceValues(func() (*reconciler.Service, error) {
	var cfg reconciler.Config
	if err := config.Load(context.Background(), &cfg); err != nil {
		return nil, err
	}
	fs, err := platform.Firestore()
	if err != nil {
		return nil, err
	}
	stripe, err := platform.Stripe()
	if err != nil {
		return nil, err
	}
	l, err := platform.Ledger()
	if err != nil {
		return nil, err
	}
	return reconciler.New(fs, stripe, l, cfg), nil
})

// run adapts a job to an event handler; only a failure to read the state
// is returned (Pub/Sub redelivers); per-payment failures are in the logs
// and the next run retries them.
func run(job func(*reconciler.Service, context.Context) (reconciler.Report, error)) func() (platform.EventHandler, error) {
	return func() (platform.EventHandler, error) {
		s, err := service()
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, _ event.Event) error {
			_, err := job(s, ctx)
			return err
		}, nil
	}
}

// HandleReconcile is the Reconcile entry point: it settles missed
// payments, then finishes invoice credits a dead process left pending.
func HandleReconcile(ctx context.Context, e event.Event) error {
	return platform.ServeEvent(ctx, e, "Reconcile", func() (platform.EventHandler, error) {
		s, err := service()
		if err != nil {
			return nil, err
		}
		credits, err := platform.InvoiceCredits()
		if err != nil {
			return nil, err
		}
		return Job(s, credits), nil
	})
}

type finisher interface {
	FinishPending(ctx context.Context, limit int) (int, error)
}

// Job is one Reconcile run.
func Job(s *reconciler.Service, credits finisher) platform.EventHandler {
	return func(ctx context.Context, _ event.Event) error {
		if _, err := s.Reconcile(ctx); err != nil {
			return err
		}
		n, err := credits.FinishPending(ctx, 100)
		logging.FromContext(ctx).InfoContext(ctx, "pending invoice credits finished", "finished", n)
		return err
	}
}

// HandleCancelStale is the CancelStalePayments entry point.
func HandleCancelStale(ctx context.Context, e event.Event) error {
	return platform.ServeEvent(ctx, e, "CancelStalePayments", run((*reconciler.Service).CancelStalePayments))
}
