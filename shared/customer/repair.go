package customer

import (
	"context"
	"errors"

	"example.com/billing/shared/logging"
)

// RepairReport says what one sweep did.
type RepairReport struct {
	Due      int // accounts found due
	Repaired int // now ready
	Failed   int // attempted, Stripe failed; rescheduled with backoff
	Skipped  int // claimed by another worker meanwhile, or already ready
}

// Repair ensures the customers of at most limit accounts whose repairAt has
// passed, oldest first. Accounts are claimed one by one (EnsureIfDue moves
// their repairAt forward inside a transaction), so concurrent sweeps do not
// work on the same account, and a sweep that dies leaves each account due
// again after its lease. Only a failure to query Firestore is an error;
// Stripe failures are counted and rescheduled.
func (s *Service) Repair(ctx context.Context, limit int) (RepairReport, error) {
	due, err := s.accounts.DueForRepair(ctx, s.now(), limit)
	if err != nil {
		return RepairReport{}, err
	}
	report := RepairReport{Due: len(due)}
	logger := logging.FromContext(ctx)
	for _, userID := range due {
		ctx := logging.WithLogger(ctx, logger.With("user_id", userID))
		_, attempted, err := s.ensure(ctx, userID, "", true)
		switch {
		case errors.Is(err, ErrNotDue), err == nil && !attempted:
			report.Skipped++
		case err != nil:
			report.Failed++
		default:
			report.Repaired++
		}
		if ctx.Err() != nil {
			break // out of time; the rest stay due for the next run
		}
	}
	return report, nil
}
