package deletion

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"

	"example.com/billing/shared/logging"
	"example.com/billing/shared/platform"
)

type (
	advancer interface {
		Sweep(ctx context.Context, limit int) (advanced, failed int, err error)
		FinishReturns(ctx context.Context, limit int) (int, error)
	}
	flusher interface {
		FlushPending(ctx context.Context, limit int) (int, error)
	}
)

// Sweep is one run of DeletionSweep: advance every deletion whose next step
// is due, then publish every recorded event not yet published.
func Sweep(d advancer, o flusher, batch int) platform.EventHandler {
	return func(ctx context.Context, _ event.Event) error {
		advanced, failed, err := d.Sweep(ctx, batch)
		if err != nil {
			return err
		}
		// Payments that landed on closing accounts go back to their cards;
		// one that fails is tried again by the next run.
		returned, rerr := d.FinishReturns(ctx, batch)
		if rerr != nil {
			logging.FromContext(ctx).WarnContext(ctx, "payments to closing accounts not all returned yet", "error", rerr.Error())
		}
		published, perr := o.FlushPending(ctx, batch)
		logging.FromContext(ctx).InfoContext(ctx, "deletion sweep done", "advanced", advanced, "failed", failed, "returned", returned, "published", published)
		return perr
	}
}

// NewSweep builds DeletionSweep from the services.
func NewSweep(s *platform.Services) platform.EventHandler {
	return Sweep(s.Deletions, s.Outbox, s.Config.Sweeps.DeletionBatch)
}
