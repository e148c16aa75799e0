package deletion

import (
	"context"
	"net/http"
	"sync"

	"github.com/cloudevents/sdk-go/v2/event"

	"example.com/billing/shared/config"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/platform"
)

var server = sync.OnceValues(func() (*Server, error) {
	d, err := platform.Deletions()
	if err != nil {
		return nil, err
	}
	v, err := platform.Verifier()
	if err != nil {
		return nil, err
	}
	return NewServer(v, d), nil
})

func serve(w http.ResponseWriter, r *http.Request, function string, pick func(*Server) http.Handler) {
	platform.ServeConsole(w, r, function, func() (http.Handler, error) {
		s, err := server()
		if err != nil {
			return nil, err
		}
		return pick(s), nil
	})
}

// HandleCheck is the DeletionCheck entry point.
func HandleCheck(w http.ResponseWriter, r *http.Request) {
	serve(w, r, "DeletionCheck", (*Server).Check)
}

// HandleRequest is the RequestDeletion entry point.
func HandleRequest(w http.ResponseWriter, r *http.Request) {
	serve(w, r, "RequestDeletion", (*Server).Request)
}

// HandleCancel is the CancelDeletion entry point.
func HandleCancel(w http.ResponseWriter, r *http.Request) {
	serve(w, r, "CancelDeletion", (*Server).Cancel)
}

// SweepConfig bounds one run of the sweep.
type SweepConfig struct {
	BatchSize int `env:"DELETION_SWEEP_BATCH_SIZE, default=100"`
}

type (
	advancer interface {
		Sweep(ctx context.Context, limit int) (advanced, failed int, err error)
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
		published, perr := o.FlushPending(ctx, batch)
		logging.FromContext(ctx).InfoContext(ctx, "deletion sweep done", "advanced", advanced, "failed", failed, "published", published)
		return perr
	}
}

var sweep = sync.OnceValues(func() (platform.EventHandler, error) {
	var cfg SweepConfig
	if err := config.Load(context.Background(), &cfg); err != nil {
		return nil, err
	}
	d, err := platform.Deletions()
	if err != nil {
		return nil, err
	}
	o, err := platform.Outbox()
	if err != nil {
		return nil, err
	}
	return Sweep(d, o, max(cfg.BatchSize, 1)), nil
})

// HandleSweep is the DeletionSweep entry point.
func HandleSweep(ctx context.Context, e event.Event) error {
	return platform.ServeEvent(ctx, e, "DeletionSweep", sweep)
}
