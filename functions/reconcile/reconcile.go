// Package reconcile holds the scheduled money jobs: Reconcile (Pub/Sub
// reconcile, hourly) settles every recent PaymentIntent of ours that a
// webhook missed and applies every recent Stripe event of a handled type
// the webhook never received, and CancelStalePayments (Pub/Sub cancel-stale-payments,
// hourly) cancels top-ups pending for too long, crediting any that turn out
// paid. Both go through the ledger's exactly-once path and log what they
// fixed. Each is a sweep: a run goes as fast as its Stripe budget allows
// until its time is up, and starts the next run at once when work is left.
package reconcile

import (
	"context"

	"example.com/billing/shared/logging"
	"example.com/billing/shared/platform"
	"example.com/billing/shared/reconciler"
	"example.com/billing/shared/sweep"
)

// The topics that trigger the jobs: the schedule's ticks, and a run's own
// request for the next one.
const (
	ReconcileTopic   = "reconcile"
	CancelStaleTopic = "cancel-stale-payments"
)

// NewReconcile builds Reconcile from the services: it settles missed
// payments, then finishes invoice credits a dead process left pending.
func NewReconcile(s *platform.Services) platform.EventHandler {
	return Job(s.Sweeps, s.Reconciler, s.InvoiceCredits)
}

// NewCancelStale builds CancelStalePayments from the services. Only a
// failure to read the state is returned (Pub/Sub redelivers); per-payment
// failures are in the logs and the next run retries them.
func NewCancelStale(s *platform.Services) platform.EventHandler {
	return CancelStale(s.Sweeps, s.Reconciler)
}

type (
	finisher interface {
		FinishPending(ctx context.Context, limit int) (int, error)
	}
	staleCanceler interface {
		CancelStalePayments(ctx context.Context) (reconciler.Report, error)
	}
)

// CancelStale is the handler of CancelStalePayments' runs.
func CancelStale(runs *sweep.Runner, s staleCanceler) platform.EventHandler {
	return runs.Handler("stale payments sweep done", CancelStaleTopic, func(ctx context.Context) ([]any, error) {
		r, err := s.CancelStalePayments(ctx)
		if err != nil {
			return nil, err
		}
		return reportFields(r), nil
	})
}

// Job is the handler of Reconcile's runs.
func Job(runs *sweep.Runner, s *reconciler.Service, credits finisher) platform.EventHandler {
	return runs.Handler("reconcile sweep done", ReconcileTopic, func(ctx context.Context) ([]any, error) {
		r, err := s.Reconcile(ctx)
		if err != nil {
			return nil, err
		}
		fields := reportFields(r)
		if sweep.From(ctx).Stopped() != "" {
			// Out of time: the next run, started at once, finishes them.
			return fields, nil
		}
		n, err := credits.FinishPending(ctx, 100)
		logging.FromContext(ctx).InfoContext(ctx, "pending invoice credits finished", "finished", n)
		return append(fields, "invoice_credits_finished", n), err
	})
}

func reportFields(r reconciler.Report) []any {
	return []any{"seen", r.Seen, "fixed", r.Fixed, "unchanged", r.Unchanged, "skipped", r.Skipped, "failed", r.Failed, "throttled", r.Throttled}
}
