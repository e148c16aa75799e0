// Package sweep runs the scheduled background jobs (RepairCustomers,
// CancelStalePayments, Reconcile, DeletionSweep) as fast as their Stripe
// budget allows, and no faster. A run works through what is due on a bounded
// number of workers; every Stripe request of the run, stripe-go's retries
// included, waits for one shared payments.Budget, and a 429 slows the whole
// run down. A run stops taking work a margin before its time is up
// (SWEEP_RUN_TIME, or its context's deadline when sooner), lets the work
// under way finish, and, when it stopped for time with work left, publishes
// to its own topic so that the next run starts at once instead of at the
// schedule's next tick. A run also stops when Stripe keeps failing (an
// outage, a rejected key): that work waits for the schedule. Runs may
// overlap; what keeps two of them off one item (claims, leases,
// transactions) belongs to the package that owns the item, as before.
package sweep

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/cloudevents/sdk-go/v2/event"

	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
)

// Config bounds the runs of every sweep of a process.
type Config struct {
	// StripeRPS is the Stripe requests a second one process's sweeps may
	// spend together: well under Stripe's live limit of 100, so console
	// traffic keeps its headroom (test mode allows 25 in all).
	StripeRPS float64 `env:"STRIPE_SWEEP_RPS, default=50"`
	// Concurrency is how many items a run works on at once: enough to keep
	// the budget busy while each item waits on Stripe and Firestore.
	Concurrency int `env:"SWEEP_CONCURRENCY, default=16"`
	// RunTime is how long one run may last; it must end before the
	// function's timeout (infra: 540 s), which stops event functions.
	RunTime time.Duration `env:"SWEEP_RUN_TIME, default=480s"`
}

// Validate reports every unusable setting.
func (c Config) Validate() error {
	var errs []error
	if !(c.StripeRPS > 0) {
		errs = append(errs, fmt.Errorf("STRIPE_SWEEP_RPS must be positive, not %v", c.StripeRPS))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("SWEEP_CONCURRENCY must be at least 1, not %d", c.Concurrency))
	}
	if c.RunTime < time.Second {
		errs = append(errs, fmt.Errorf("SWEEP_RUN_TIME must be at least 1s, not %v", c.RunTime))
	}
	return errors.Join(errs...)
}

// Why a run stopped taking work.
const (
	StoppedDone   = "done"           // nothing left that it had not tried
	StoppedTime   = "time"           // its time was up; work is left
	StoppedStripe = "stripe_failing" // Stripe kept failing; the schedule retries
)

// maxMargin is the longest a run keeps for the work under way once it
// stops taking more (a quarter of a short run).
const maxMargin = 30 * time.Second

// Run is one run of a sweep: its deadline, its workers, what it spent.
type Run struct {
	concurrency int
	started     time.Time
	stopAt      time.Time // no new work from then on; zero: never
	usage       payments.Usage
	slots       chan struct{}
	wg          sync.WaitGroup

	mu       sync.Mutex
	stopped  string
	left     bool // it stopped with work it did not start
	failures int  // Stripe failures in a row
}

type runKey struct{}

// Start begins a run for cfg on ctx: the returned context carries the run
// (see From), its hard deadline, and the budget every Stripe request of the
// run waits for (none when budget is nil). Call cancel when the run ends.
func Start(ctx context.Context, cfg Config, budget *payments.Budget) (context.Context, *Run, context.CancelFunc) {
	now := time.Now()
	deadline := now.Add(cfg.RunTime)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	r := newRun(cfg.Concurrency)
	r.stopAt = deadline.Add(-min(maxMargin, deadline.Sub(now)/4))
	ctx, cancel := context.WithDeadline(ctx, deadline)
	if budget != nil {
		ctx = payments.Paced(ctx, budget, &r.usage)
	}
	return context.WithValue(ctx, runKey{}, r), r, cancel
}

func newRun(concurrency int) *Run {
	concurrency = max(concurrency, 1)
	return &Run{concurrency: concurrency, started: time.Now(), slots: make(chan struct{}, concurrency)}
}

// From returns the run ctx carries, or, outside any (tests, tools), a run of
// four workers with no deadline and no budget.
func From(ctx context.Context) *Run {
	if r, ok := ctx.Value(runKey{}).(*Run); ok {
		return r
	}
	return newRun(4)
}

// Go runs work on one of the run's workers, once one is free. It reports
// false, and runs nothing, once the run has stopped taking work: the caller
// stops too, and the run counts the work as left.
func (r *Run) Go(ctx context.Context, work func(context.Context) error) bool {
	if !r.going() {
		r.markLeft()
		return false
	}
	var stop <-chan time.Time
	if !r.stopAt.IsZero() {
		t := time.NewTimer(time.Until(r.stopAt))
		defer t.Stop()
		stop = t.C
	}
	acquired := false
	select {
	case r.slots <- struct{}{}:
		acquired = true
	case <-stop:
	case <-ctx.Done():
	}
	if !acquired || !r.going() || ctx.Err() != nil {
		if acquired {
			<-r.slots
		}
		r.stop(StoppedTime)
		r.markLeft()
		return false
	}
	r.wg.Add(1)
	go func() {
		defer func() {
			<-r.slots
			r.wg.Done()
		}()
		err := work(ctx)
		if ctx.Err() != nil {
			r.markLeft() // cut short by the run's end: still due
		}
		r.note(ctx, err)
	}()
	return true
}

// Wait waits for the work under way.
func (r *Run) Wait() { r.wg.Wait() }

// Drain runs work, on the run's workers, on every document q finds. It
// reads page documents at a time (q must order them, so a page can start
// after the last one of the previous), building q afresh for each page (its
// "now" moves on), until a page comes back short or the run stops. A run
// works on each document once, even when a lease moves it further down the
// order. Only a failed query is an error, returned once the work under way
// is done.
func (r *Run) Drain(ctx context.Context, q func() firestore.Query, page int, work func(context.Context, *firestore.DocumentSnapshot) error) error {
	defer r.Wait()
	page = max(page, 1)
	seen := map[string]bool{}
	var after *firestore.DocumentSnapshot
	for {
		if !r.going() {
			r.markLeft()
			return nil
		}
		query := q().Limit(page)
		if after != nil {
			query = query.StartAfter(after)
		}
		snaps, err := query.Documents(ctx).GetAll()
		if err != nil {
			return err
		}
		for _, snap := range snaps {
			if seen[snap.Ref.Path] {
				continue
			}
			seen[snap.Ref.Path] = true
			if !r.Go(ctx, func(ctx context.Context) error { return work(ctx, snap) }) {
				return nil
			}
		}
		if len(snaps) < page {
			return nil
		}
		after = snaps[len(snaps)-1]
	}
}

// Stopped reports why the run stopped taking work, or "" while it goes on.
func (r *Run) Stopped() string {
	r.going()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// Left reports that the run stopped for time with work it did not start:
// its next run should start at once. Work left because Stripe kept failing
// waits for the schedule instead.
func (r *Run) Left() bool {
	r.going()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.left && r.stopped == StoppedTime
}

// Usage is what the run spent of its Stripe budget.
func (r *Run) Usage() *payments.Usage { return &r.usage }

func (r *Run) going() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped == "" && !r.stopAt.IsZero() && !time.Now().Before(r.stopAt) {
		r.stopped = StoppedTime
	}
	return r.stopped == ""
}

func (r *Run) stop(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped == "" {
		r.stopped = why
	}
}

func (r *Run) markLeft() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.left = true
}

// note counts Stripe failing (unreachable, or our key rejected) on
// consecutive items; enough of them in a row stop the run. A 429, the run
// running out of time, or anything Stripe answered for the item itself
// breaks the streak.
func (r *Run) note(ctx context.Context, err error) {
	failing := err != nil && ctx.Err() == nil && !payments.Throttled(err) &&
		(errors.Is(err, payments.ErrUnavailable) || errors.Is(err, payments.ErrMisconfigured))
	r.mu.Lock()
	defer r.mu.Unlock()
	if !failing {
		r.failures = 0
		return
	}
	if r.failures++; r.failures >= max(10, 2*r.concurrency) && r.stopped == "" {
		r.stopped = StoppedStripe
	}
}

// fields are the run's part of its log line.
func (r *Run) fields() []any {
	stopped := r.Stopped()
	if stopped == "" || stopped == StoppedTime && !r.Left() {
		stopped = StoppedDone // its time ran out after its work did
	}
	return []any{"stripe_requests", r.usage.Requests(), "stripe_throttled", r.usage.Throttled(),
		"duration_ms", time.Since(r.started).Milliseconds(), "stopped", stopped}
}

// Publisher sends one message to a topic (events.PubSub).
type Publisher interface {
	Publish(ctx context.Context, topic, id string, data []byte) error
}

// Runner starts the runs of the sweeps of one process, which share its
// budget. In production each sweep is a function of its own, so each has a
// budget of its own (infra sets each one's STRIPE_SWEEP_RPS); the local
// server runs them all on one.
type Runner struct {
	cfg    Config
	budget *payments.Budget
	pub    Publisher
}

// NewRunner returns a Runner. Without a budget runs are not paced; without
// a publisher they never start the next run themselves.
func NewRunner(cfg Config, budget *payments.Budget, pub Publisher) *Runner {
	return &Runner{cfg: cfg, budget: budget, pub: pub}
}

// Budget is the runner's Stripe budget (nil: unpaced).
func (r *Runner) Budget() *payments.Budget { return r.budget }

// Handler is the event handler of a sweep function whose trigger is topic:
// each event is one run of do, which returns its log fields. The run's one
// log line is message with do's fields and the run's own: Stripe requests
// and 429s, duration, why it stopped, and whether it started the next run.
// An error from do (Firestore could not be queried) is returned for
// Pub/Sub to redeliver (and logged on the line when do returned fields).
func (r *Runner) Handler(message, topic string, do func(ctx context.Context) ([]any, error)) func(context.Context, event.Event) error {
	return func(ctx context.Context, e event.Event) error {
		ctx, run, cancel := Start(ctx, r.cfg, r.budget)
		defer cancel()
		fields, err := do(ctx)
		if err != nil && fields == nil {
			return err
		}
		logger := logging.FromContext(ctx)
		next := false
		if err == nil && run.Left() && r.pub != nil {
			// The run's own deadline has passed or nearly: publish on a
			// context of its own.
			pctx, pcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer pcancel()
			data := fmt.Appendf(nil, `{"continues":%q}`, e.ID())
			if err := r.pub.Publish(pctx, topic, "continue-"+e.ID(), data); err != nil {
				logger.WarnContext(ctx, "could not start the next run at once; the schedule will", "topic", topic, "error", err.Error())
			} else {
				next = true
			}
		}
		fields = append(append(fields, run.fields()...), "next_run", next)
		if err != nil {
			fields = append(fields, "error", err.Error())
		}
		logger.InfoContext(ctx, message, fields...)
		return err
	}
}
