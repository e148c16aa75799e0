// Package reconcile holds the scheduled money jobs: Reconcile (Pub/Sub
// reconcile, hourly) settles every recent PaymentIntent of ours that a
// webhook missed and applies every recent Stripe event of a handled type
// the webhook never received, and CancelStalePayments (Pub/Sub cancel-stale-payments,
// hourly) cancels top-ups pending for too long, crediting any that turn out
// paid. Both go through the ledger's exactly-once path and log what they
// fixed.
package reconcile

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"

	"example.com/billing/shared/logging"
	"example.com/billing/shared/platform"
	"example.com/billing/shared/reconciler"
)

// NewReconcile builds Reconcile from the services: it settles missed
// payments, then finishes invoice credits a dead process left pending.
func NewReconcile(s *platform.Services) platform.EventHandler {
	return Job(s.Reconciler, s.InvoiceCredits)
}

// NewCancelStale builds CancelStalePayments from the services. Only a
// failure to read the state is returned (Pub/Sub redelivers); per-payment
// failures are in the logs and the next run retries them.
func NewCancelStale(s *platform.Services) platform.EventHandler {
	return func(ctx context.Context, _ event.Event) error {
		_, err := s.Reconciler.CancelStalePayments(ctx)
		return err
	}
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
