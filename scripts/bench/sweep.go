package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"example.com/billing/functions/repair"
	"example.com/billing/shared/account"
	"example.com/billing/shared/config"
	"example.com/billing/shared/customer"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/store"
	"example.com/billing/shared/sweep"
	"example.com/billing/shared/testsupport/stripetest"
	"example.com/billing/shared/testsupport/testenv"
)

var (
	repairAccounts = flag.Int("repair-accounts", 10000, "accounts due for repair in the sweep benchmark (0: skip it)")
	stripeLatency  = flag.Duration("stripe-latency", 50*time.Millisecond, "the Stripe double's latency on every answer, in the sweep benchmark")
	stripeLimit    = flag.Int("stripe-limit", 100, "the Stripe double's rate limit (429 rate_limit above it, a second): 100 is live mode, 25 test mode")
	sweepRPS       = flag.Float64("sweep-rps", 50, "STRIPE_SWEEP_RPS of the sweep benchmark")
	sweepWorkers   = flag.Int("sweep-concurrency", 16, "SWEEP_CONCURRENCY of the sweep benchmark")
	sweepRunTime   = flag.Duration("sweep-run-time", 2*time.Minute, "SWEEP_RUN_TIME of the sweep benchmark (production: 480s); each run with work left starts the next")
)

// sweepResult is what the repair benchmark measured.
type sweepResult struct {
	ratio float64 // repairs a second over what the budget allows
}

// benchRepairSweep is the case the sweeps exist for: n sign-ups left
// without a Stripe customer by an outage, all due, drained by
// RepairCustomers' runs (each run with work left starting the next, as its
// message to its own topic would) against the stateful Stripe double with
// a latency and Stripe's rate limit, paced by the sweep budget.
func benchRepairSweep(ctx context.Context, n int) (sweepResult, error) {
	project := "demo-bench-sweep-" + randomHex(4)
	fs, err := firestore.NewClient(ctx, project)
	if err != nil {
		return sweepResult{}, err
	}
	defer fs.Close()
	var t tb
	defer t.cleanup()
	double := stripetest.New(&t)
	double.SetLatency(*stripeLatency)
	double.SetRateLimit(*stripeLimit)

	fmt.Printf("seeding %d accounts left without a customer by an outage…\n", n)
	if err := seedPending(ctx, fs, n); err != nil {
		return sweepResult{}, err
	}
	cfg := sweep.Config{StripeRPS: *sweepRPS, Concurrency: *sweepWorkers, RunTime: *sweepRunTime}
	if err := cfg.Validate(); err != nil {
		return sweepResult{}, err
	}
	svc := customer.New(fs, payments.New(config.Stripe{SecretKey: stripetest.Key, APIURL: double.URL()}, nil))
	var next nextRuns
	handler := repair.Sweep(sweep.NewRunner(cfg, payments.NewBudget(cfg.StripeRPS), &next), svc, 100)
	// Only the runs' lines: one per account would drown the output.
	ctx = logging.WithLogger(ctx, logging.New(runLines{}, slog.LevelInfo))

	start := time.Now()
	runs := 0
	for {
		runs++
		if err := handler(ctx, testenv.PubSubEvent(&t, fmt.Sprintf("run-%d", runs), map[string]any{})); err != nil {
			return sweepResult{}, err
		}
		if next.take() == 0 {
			break
		}
	}
	elapsed := time.Since(start)

	repaired, err := countReady(ctx, fs)
	if err != nil {
		return sweepResult{}, err
	}
	perUser := map[string]int{}
	duplicates := 0
	for _, c := range double.Customers() {
		if perUser[c.Metadata[payments.MetadataUserID]]++; perUser[c.Metadata[payments.MetadataUserID]] == 2 {
			duplicates++
		}
	}
	// The requests each repair needs, by endpoint (429s are not needs).
	perEndpoint := map[string]int{}
	sent := 0
	for _, r := range double.Requests() {
		if r.Status != 429 {
			perEndpoint[r.Method+" "+r.Path]++
			sent++
		}
	}
	if repaired == 0 {
		return sweepResult{}, fmt.Errorf("no account was repaired")
	}
	each := float64(sent) / float64(repaired)
	// What the budget allows: its rate over the requests each repair
	// needs, and no endpoint past Stripe's own limit, which the budget
	// honours (25/s, search 20/s).
	allowed := *sweepRPS / each
	limiting := fmt.Sprintf("the budget, %.0f/s over %.2f requests", *sweepRPS, each)
	var needs []string
	for ep, count := range perEndpoint {
		per := float64(count) / float64(repaired)
		needs = append(needs, fmt.Sprintf("%s %.2f", ep, per))
		limit := min(float64(payments.EndpointRPS), *sweepRPS)
		if strings.HasSuffix(ep, "/search") {
			limit = min(float64(payments.SearchRPS), *sweepRPS)
		}
		if limit/per < allowed {
			allowed, limiting = limit/per, fmt.Sprintf("%s at Stripe's %.0f/s", ep, limit)
		}
	}
	sort.Strings(needs)
	rate := float64(repaired) / elapsed.Seconds()
	fmt.Printf("repair sweep: %d of %d accounts repaired in %v over %d runs: %.1f/s\n", repaired, n, elapsed.Round(time.Millisecond), runs, rate)
	fmt.Printf("  requests per repair: %.2f (%s); peak %d requests in a second; %d 429s from the double (limit %d/s)\n",
		each, strings.Join(needs, ", "), peakPerSecond(double.Arrivals()), double.RateLimited(), *stripeLimit)
	fmt.Printf("  allowed %.1f repairs/s (limited by %s); against the budget alone (%.0f/s over %.2f requests) %.2f\n",
		allowed, limiting, *sweepRPS, each, rate/(*sweepRPS/each))
	if limit := float64(*stripeLimit); limit/each < allowed {
		fmt.Printf("  the double's limit allows less than the budget: %.1f repairs/s (%d/s over %.2f requests); against it %.2f\n",
			limit/each, *stripeLimit, each, rate/(limit/each))
	}
	fmt.Printf("  duplicate customers: %d; accounts left without one: %d\n", duplicates, n-repaired)
	if duplicates > 0 || repaired != n {
		return sweepResult{}, fmt.Errorf("the sweep left %d duplicates and %d accounts unrepaired", duplicates, n-repaired)
	}
	return sweepResult{ratio: rate / allowed}, nil
}

// seedPending writes n accounts as a Stripe outage leaves them: pending,
// one failed attempt recorded, due for repair (oldest first).
func seedPending(ctx context.Context, fs *firestore.Client, n int) error {
	bw := fs.BulkWriter(ctx)
	now := time.Now().UTC()
	for i := range n {
		at := now.Add(-time.Hour).Add(time.Duration(i) * time.Millisecond)
		if _, err := bw.Set(fs.Collection(store.AccountsCollection).Doc(fmt.Sprintf("signup%05d", i)), map[string]any{
			"email": fmt.Sprintf("signup%05d@example.com", i), "customerId": "", "paymentsStatus": account.PaymentsPending,
			"attempts": 1, "createdAt": at, "updatedAt": at, "lastAttemptAt": at, "repairAt": at.Add(customer.Backoff(1)),
			"lastError": map[string]any{"operation": "create customer", "kind": payments.ErrUnavailable.Error(), "code": "", "message": "Stripe was down", "at": at},
		}); err != nil {
			return err
		}
	}
	bw.End()
	return nil
}

func countReady(ctx context.Context, fs *firestore.Client) (int, error) {
	q := fs.Collection(store.AccountsCollection).Where("paymentsStatus", "==", account.PaymentsReady)
	res, err := q.NewAggregationQuery().WithCount("n").Get(ctx)
	if err != nil {
		return 0, err
	}
	v, _ := res["n"].(interface{ GetIntegerValue() int64 })
	if v == nil {
		return 0, fmt.Errorf("count of ready accounts: %v", res)
	}
	return int(v.GetIntegerValue()), nil
}

// peakPerSecond is the most arrivals within any one second.
func peakPerSecond(at []time.Time) int {
	peak, j := 0, 0
	for i := range at {
		for at[i].Sub(at[j]) >= time.Second {
			j++
		}
		peak = max(peak, i-j+1)
	}
	return peak
}

// nextRuns stands in for Pub/Sub: it counts the next runs asked for.
type nextRuns struct {
	mu sync.Mutex
	n  int
}

func (p *nextRuns) Publish(context.Context, string, string, []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	return nil
}

func (p *nextRuns) take() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.n
	p.n = 0
	return n
}

// runLines passes the sweep's run lines to stdout and drops the rest.
type runLines struct{}

func (runLines) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(`sweep done"`)) {
		os.Stdout.Write(p)
	}
	return len(p), nil
}

// tb is what stripetest.New and testenv.PubSubEvent use of a testing.TB,
// so the bench can run the double outside a test; the rest is never
// called.
type tb struct {
	testing.TB
	cleanups []func()
}

func (t *tb) Helper()                   {}
func (t *tb) Cleanup(f func())          { t.cleanups = append(t.cleanups, f) }
func (t *tb) Fatal(args ...any)         { panic(fmt.Sprint(args...)) }
func (t *tb) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

func (t *tb) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
