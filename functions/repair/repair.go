// Package repair is the RepairCustomers function: a sweep (Cloud Scheduler
// publishes to the repair-customers topic) that gives every account still
// without a Stripe customer another try, oldest due first, each account
// with its own exponential backoff. A run drains what is due as fast as its
// Stripe budget allows until its time is up, then starts the next run at
// once by publishing to its own topic when accounts are left. Runs may
// overlap safely (accounts are claimed one by one in Firestore).
package repair

import (
	"context"

	"example.com/billing/shared/customer"
	"example.com/billing/shared/platform"
	"example.com/billing/shared/sweep"
)

// Topic triggers RepairCustomers: the schedule's ticks and a run's own
// request for the next one.
const Topic = "repair-customers"

type repairer interface {
	Repair(ctx context.Context, page int) (customer.RepairReport, error)
}

// Sweep returns the handler of the runs of runs: each event is one run
// over the due accounts, read page at a time, logged as one line.
func Sweep(runs *sweep.Runner, c repairer, page int) platform.EventHandler {
	return runs.Handler("customer repair sweep done", Topic, func(ctx context.Context) ([]any, error) {
		report, err := c.Repair(ctx, page)
		if err != nil {
			// Firestore could not be queried: let Pub/Sub redeliver.
			return nil, err
		}
		return []any{"due", report.Due, "repaired", report.Repaired, "failed", report.Failed, "skipped", report.Skipped,
			"throttled", report.Throttled}, nil
	})
}

// New builds RepairCustomers from the services.
func New(s *platform.Services) platform.EventHandler {
	return Sweep(s.Sweeps, s.Customers, s.Config.Sweeps.RepairBatch)
}
