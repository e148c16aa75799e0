package deletion

import (
	"context"

	"example.com/billing/shared/logging"
	"example.com/billing/shared/platform"
	"example.com/billing/shared/sweep"
)

// SweepTopic triggers DeletionSweep: the schedule's ticks, and a run's own
// request for the next one.
const SweepTopic = "deletion-sweep"

type (
	advancer interface {
		Sweep(ctx context.Context, page int) (advanced, failed int, err error)
		FinishReturns(ctx context.Context, limit int) (int, error)
	}
	flusher interface {
		FlushPending(ctx context.Context, page int) (int, error)
	}
)

// Sweep is the handler of DeletionSweep's runs: advance every deletion
// whose next step is due, then publish every recorded event not yet
// published, both page documents at a time, until the run's time is up.
func Sweep(runs *sweep.Runner, d advancer, o flusher, page int) platform.EventHandler {
	return runs.Handler("deletion sweep done", SweepTopic, func(ctx context.Context) ([]any, error) {
		advanced, failed, err := d.Sweep(ctx, page)
		if err != nil {
			return nil, err
		}
		// Payments that landed on closing accounts go back to their cards;
		// one that fails is tried again by the next run.
		returned, rerr := d.FinishReturns(ctx, page)
		if rerr != nil {
			logging.FromContext(ctx).WarnContext(ctx, "payments to closing accounts not all returned yet", "error", rerr.Error())
		}
		published, perr := o.FlushPending(ctx, page)
		return []any{"advanced", advanced, "failed", failed, "returned", returned, "published", published}, perr
	})
}

// NewSweep builds DeletionSweep from the services.
func NewSweep(s *platform.Services) platform.EventHandler {
	return Sweep(s.Sweeps, s.Deletions, s.Outbox, s.Config.Sweeps.DeletionBatch)
}
