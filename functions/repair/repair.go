// Package repair is the RepairCustomers function: a scheduled sweep
// (Cloud Scheduler publishes to the repair-customers topic) that gives every
// account still without a Stripe customer another try, oldest due first, in
// bounded batches, each account with its own exponential backoff. It
// publishes nothing; runs may overlap safely (accounts are claimed one by
// one in Firestore).
package repair

import (
	"context"
	"sync"

	"github.com/cloudevents/sdk-go/v2/event"

	"example.com/billing/shared/config"
	"example.com/billing/shared/customer"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/platform"
)

// Config bounds one run.
type Config struct {
	BatchSize int `env:"REPAIR_BATCH_SIZE, default=100"`
}

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

var handler = sync.OnceValues(func() (platform.EventHandler, error) {
	var cfg Config
	if err := config.Load(context.Background(), &cfg); err != nil {
		return nil, err
	}
	customers, err := platform.Customers()
	if err != nil {
		return nil, err
	}
	return Sweep(customers, max(cfg.BatchSize, 1)), nil
})

// Handle is the RepairCustomers entry point.
func Handle(ctx context.Context, e event.Event) error {
	return platform.ServeEvent(ctx, e, "RepairCustomers", handler)
}
