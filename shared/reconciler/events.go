package reconciler

import (
	"context"
	"time"

	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
)

// applier applies one Stripe event, or one effect, exactly once with what
// follows it in Stripe: the webhook's dispatch.
type applier interface {
	Apply(ctx context.Context, ev payments.Event) (ledger.Outcome, error)
	Process(ctx context.Context, ev ledger.Event, effect ledger.Effect) (ledger.Outcome, error)
}

// EventRetention is how long Stripe's Events API lists an event: the
// farthest back replayEvents can look, whatever the window.
const EventRetention = 30 * 24 * time.Hour

// EventReport says what one replay of Stripe's events did.
type EventReport struct {
	// Seen events of a handled type; Applied those only this run applied
	// (their webhook never arrived); Failed those that could not be
	// applied (the next run retries them).
	Seen, Applied, Failed int
}

// replayEvents lists Stripe's events of every type the webhook handles,
// created in the window (at most Stripe's 30 days), pages of 100, and
// applies each through the webhook's own dispatch with its own id: one the
// webhook applied is a duplicate, one it never received (a refund, a
// dispute, a paid invoice) is applied now, and a webhook arriving later is
// a duplicate. A failure to apply one is counted and the listing goes on;
// only a failure to list is an error.
func (s *Service) replayEvents(ctx context.Context) (EventReport, error) {
	var r EventReport
	logger := logging.FromContext(ctx)
	since := s.now().Add(-min(s.cfg.Window, EventRetention))
	err := s.stripe.EventsSince(ctx, since, payments.HandledEventTypes(), func(ev payments.Event) error {
		r.Seen++
		out, err := s.events.Apply(logging.WithLogger(ctx, logger.With("event_id", ev.ID, "event_type", string(ev.Type))), ev)
		switch {
		case err != nil:
			r.Failed++
			logger.ErrorContext(ctx, "reconcile could not apply a stripe event", "event_id", ev.ID, "event_type", string(ev.Type), "error", err.Error())
		case out.Result == ledger.ResultApplied:
			r.Applied++
			logger.WarnContext(ctx, "reconcile applied a stripe event the webhook had not", "event_id", ev.ID, "event_type", string(ev.Type),
				"object_id", ev.ObjectID, "user_id", out.UserID, "transaction_id", out.TransactionID, "amount", out.Amount)
		}
		return ctx.Err()
	})
	return r, err
}
