package customer

import (
	"context"
	"errors"
	"sync"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/sweep"
)

// RepairReport says what one sweep did.
type RepairReport struct {
	Due      int // accounts found due
	Repaired int // now ready
	Failed   int // attempted, Stripe failed; rescheduled with backoff
	Skipped  int // claimed by another worker meanwhile, or already ready
	// Throttled attempts were cut short by Stripe's rate limit (or the
	// run's end): not the account's failure, due again at once.
	Throttled int
}

// Repair ensures the customer of every account whose repairAt has passed,
// oldest first, reading page accounts at a time, on the workers and within
// the time and Stripe budget of the run in ctx (sweep.From). Each account
// is claimed in a transaction (its repairAt moves forward, a lease), so
// concurrent runs do not work on the same account, and a run that dies
// leaves each account due again after its lease. Only a failure to query
// Firestore is an error; Stripe failures are counted and rescheduled.
func (s *Service) Repair(ctx context.Context, page int) (RepairReport, error) {
	var (
		mu     sync.Mutex
		report RepairReport
	)
	logger := logging.FromContext(ctx)
	due := func() firestore.Query { return s.accounts.DueQuery(s.now()) }
	err := sweep.From(ctx).Drain(ctx, due, page, func(ctx context.Context, snap *firestore.DocumentSnapshot) error {
		ctx = logging.WithLogger(ctx, logger.With("user_id", snap.Ref.ID))
		attempted, err := s.repair(ctx, snap.Ref.ID)
		mu.Lock()
		defer mu.Unlock()
		report.Due++
		switch {
		case errors.Is(err, ErrNotDue), err == nil && !attempted:
			report.Skipped++
		case err != nil && cutShort(ctx, err):
			report.Throttled++
		case err != nil:
			report.Failed++
		default:
			report.Repaired++
		}
		return err
	})
	return report, err
}

// repair is Ensure for an account the sweep found without a customer: it
// goes straight to the claim, whose transaction reads the account anyway.
func (s *Service) repair(ctx context.Context, userID string) (attempted bool, err error) {
	acct, err := s.claim(ctx, userID, "", onlyIfDue)
	if err != nil || acct.CustomerID != "" {
		return false, err
	}
	if _, err = s.create(ctx, acct); errors.Is(err, errSuperseded) {
		// Deleted in Stripe meanwhile: the current generation's customer.
		_, _, err = s.ensureWhen(ctx, userID, acct.Email, always)
	}
	return true, err
}

// cutShort reports an attempt that failed for no fault of the account:
// Stripe's rate limit, or the caller's time running out.
func cutShort(ctx context.Context, err error) bool {
	return payments.Throttled(err) || ctx.Err() != nil
}
