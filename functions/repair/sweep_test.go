package repair_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"example.com/billing/functions/repair"
	"example.com/billing/shared/customer"
	"example.com/billing/shared/events"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/sweep"
	"example.com/billing/shared/testsupport/testenv"
)

// backlog is n accounts left without a customer by a Stripe outage, all due
// for repair on svc's clock.
type backlog struct {
	*testenv.Billing
	svc   *customer.Service
	users []string
	// received returns what a subscriber of repair-customers got: the
	// next runs the sweep asked for.
	received func(topic string, wait time.Duration) []*pubsub.Message
	pub      *events.PubSub
}

func newBacklog(t *testing.T, n int) *backlog {
	t.Helper()
	b := testenv.NewBilling(t)
	clock := time.Now().UTC()
	bl := &backlog{Billing: b, svc: customer.New(b.FS, b.Payments).WithClock(func() time.Time { return clock })}
	ps, project := testenv.PubSub(t)
	bl.received = testenv.Topics(t, ps, project, repair.Topic)
	bl.pub = events.NewPubSub(ps)

	b.Stripe.SetDown(http.StatusInternalServerError)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		u := fmt.Sprintf("user%03d", i)
		bl.users = append(bl.users, u)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := bl.svc.Ensure(context.Background(), u, u+"@example.com"); err == nil {
				t.Error("Ensure succeeded while Stripe was down")
			}
		})
	}
	wg.Wait()
	b.Stripe.SetDown(0)
	clock = clock.Add(time.Minute)
	return bl
}

// run is one RepairCustomers run with cfg, its Stripe budget as cfg says,
// its next run published to the emulator; it returns the run's log line.
func (bl *backlog) run(t *testing.T, cfg sweep.Config) map[string]any {
	t.Helper()
	runs := sweep.NewRunner(cfg, payments.NewBudget(cfg.StripeRPS), events.Messages{PubSub: bl.pub})
	var logs testenv.Logs
	if err := repair.Sweep(runs, bl.svc, 10)(logs.Context(context.Background()), testenv.PubSubEvent(t, "tick", map[string]any{})); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	lines := logs.Find(t, "customer repair sweep done")
	if len(lines) != 1 {
		t.Fatalf("%d run lines, want 1", len(lines))
	}
	return lines[0]
}

// ready counts the accounts with their customer, and checks that no user
// has two in Stripe.
func (bl *backlog) ready(t *testing.T) int {
	t.Helper()
	n := 0
	for _, u := range bl.users {
		if acct, _ := bl.svc.Get(context.Background(), u); acct.PaymentsStatus == customer.StatusReady {
			n++
		}
	}
	perUser := map[string]int{}
	for _, c := range bl.Stripe.Customers() {
		if perUser[c.Metadata["user_id"]]++; perUser[c.Metadata["user_id"]] > 1 {
			t.Errorf("user %s has a second Stripe customer", c.Metadata["user_id"])
		}
	}
	return n
}

// The double counts what Stripe would: in no second does the sweep send
// more requests than its budget. (The budget keeps a tenth of a second of
// headroom for the jitter of the requests' way to the double.)
func TestSweepNeverExceedsItsBudget(t *testing.T) {
	t.Parallel()
	bl := newBacklog(t, 20)
	before := len(bl.Stripe.Arrivals())
	const budget = 10
	line := bl.run(t, sweep.Config{StripeRPS: budget, Concurrency: 8, RunTime: time.Minute})
	if line["repaired"] != 20.0 || line["failed"] != 0.0 {
		t.Fatalf("run = %v, want all 20 repaired", line)
	}
	arrivals := bl.Stripe.Arrivals()[before:]
	if len(arrivals) < 2*budget {
		t.Fatalf("%d requests: too few to measure a rate", len(arrivals))
	}
	most := 0
	for i, start := range arrivals {
		n := 0
		for _, at := range arrivals[i:] {
			if at.Sub(start) < time.Second {
				n++
			}
		}
		most = max(most, n)
	}
	if most > budget {
		t.Errorf("%d requests within one second, budget %d", most, budget)
	}
	if line["stripe_requests"] != float64(len(arrivals)) {
		t.Errorf("the run line counts %v requests, the double saw %d", line["stripe_requests"], len(arrivals))
	}
}

// Stripe's rate limit well below the budget: the 429s slow the whole run
// down and are counted on its line, and no account fails for them.
func TestRateLimitStormSlowsTheSweepWithoutFailingAccounts(t *testing.T) {
	t.Parallel()
	bl := newBacklog(t, 12)
	bl.Stripe.SetRateLimit(3)
	line := bl.run(t, sweep.Config{StripeRPS: 30, Concurrency: 8, RunTime: 2 * time.Minute})
	if line["repaired"] != 12.0 || line["failed"] != 0.0 || line["throttled"] != 0.0 {
		t.Errorf("run = %v, want all 12 repaired, none failed or cut short", line)
	}
	if th, ok := line["stripe_throttled"].(float64); !ok || th == 0 || int(th) != bl.Stripe.RateLimited() {
		t.Errorf("the run line counts %v 429s, the double sent %d", line["stripe_throttled"], bl.Stripe.RateLimited())
	}
	if n := bl.ready(t); n != 12 {
		t.Errorf("%d accounts ready, want 12", n)
	}
	for _, u := range bl.users {
		if acct, _ := bl.svc.Get(context.Background(), u); acct.LastError != nil && acct.LastError.Code == "rate_limit" {
			t.Errorf("%s recorded the rate limit as its failure: %+v", u, acct.LastError)
		}
	}
}

// A run whose time is up stops taking accounts, finishes the ones under
// way, and asks for the next run on its own topic; run after run (each
// message handled as Pub/Sub would deliver it) the backlog drains, and the
// last run asks for no other.
func TestRunOutOfTimeStartsTheNextRun(t *testing.T) {
	t.Parallel()
	bl := newBacklog(t, 40)
	cfg := sweep.Config{StripeRPS: 20, Concurrency: 4, RunTime: 2 * time.Second}
	line := bl.run(t, cfg)
	if line["stopped"] != sweep.StoppedTime || line["next_run"] != true {
		t.Fatalf("first run = %v, want it stopped for time, asking for the next", line)
	}
	if n := bl.ready(t); n == 0 || n == 40 {
		t.Fatalf("%d ready after the first run, want some but not all", n)
	}
	for runs := 1; ; runs++ {
		if got := bl.received(repair.Topic, 2*time.Second); len(got) != 1 {
			t.Fatalf("run %d asked for %d next runs, want 1", runs, len(got))
		}
		line = bl.run(t, cfg)
		if line["next_run"] != true {
			break
		}
		if runs > 20 {
			t.Fatal("the backlog does not drain")
		}
	}
	if line["stopped"] != sweep.StoppedDone || line["failed"] != 0.0 {
		t.Errorf("last run = %v, want it done", line)
	}
	if n := bl.ready(t); n != 40 {
		t.Errorf("%d ready, want 40", n)
	}
	if got := bl.received(repair.Topic, time.Second); len(got) != 0 {
		t.Errorf("the last run asked for %d more runs", len(got))
	}
}

// Three runs at once (the schedule's tick during a run, or a next run
// redelivered) share the backlog: each account is attempted by one of
// them, and no user gets two customers.
func TestOverlappingRunsCreateNoDuplicates(t *testing.T) {
	t.Parallel()
	bl := newBacklog(t, 30)
	before := len(bl.Stripe.Requests())
	var wg sync.WaitGroup
	lines := make([]map[string]any, 3)
	for i := range lines {
		wg.Go(func() { lines[i] = bl.run(t, sweep.Config{StripeRPS: 50, Concurrency: 8, RunTime: time.Minute}) })
	}
	wg.Wait()
	repaired := 0.0
	for _, l := range lines {
		repaired += l["repaired"].(float64)
	}
	if repaired != 30 {
		t.Errorf("the runs repaired %v in all (%v), want 30", repaired, lines)
	}
	if n := bl.ready(t); n != 30 {
		t.Errorf("%d ready, want 30", n)
	}
	creates := 0
	for _, r := range bl.Stripe.Requests()[before:] {
		if r.Method == http.MethodPost && r.Path == "/v1/customers" {
			creates++
		}
	}
	if creates != 30 || len(bl.Stripe.Customers()) != 30 {
		t.Errorf("%d customer creates, %d customers; want 30 of each (one attempt per account)", creates, len(bl.Stripe.Customers()))
	}
}
