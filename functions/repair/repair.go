// Package repair is the RepairCustomers function: a scheduled sweep
// (Cloud Scheduler publishes to the repair-customers topic) that gives every
// account still without a Stripe customer another try, oldest due first, in
// bounded batches, each account with its own exponential backoff. It
// publishes nothing; runs may overlap safely (accounts are claimed one by
// one in Firestore).
package repair

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"

	"example.com/billing/shared/customer"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/platform"
)

type repairer interface {
	Repair(ctx context.Context, limit int) (customer.RepairReport, error)
}

// Sweep returns the handler of one run.
func Sweep(c repairer, batchSize int) platform.EventHandler {
	return func(ctx context.Context, _ event.Event) error {
		report, err := c.Repair(ctx, batchSize)
		if err != nil {
			// Firestore could not be queried: let Pub/Sub redeliver.
			return err
		}
		logging.FromContext(ctx).InfoContext(ctx, "customer repair sweep done",
			"due", report.Due, "repaired", report.Repaired, "failed", report.Failed, "skipped", report.Skipped)
		return nil
	}
}

// New builds RepairCustomers from the services.
func New(s *platform.Services) platform.EventHandler {
	return Sweep(s.Customers, s.Config.Sweeps.RepairBatch)
}
