package flows_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/billing/functions/webhook"
	"example.com/billing/shared/checkout"
	"example.com/billing/shared/closing"
	"example.com/billing/shared/fault"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/metering"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/store"
	"example.com/billing/shared/testsupport/stripetest"
	"example.com/billing/shared/testsupport/testenv"
)

// The simulation of the money core (issue 11): for many users it plays
// random lifecycles against the Stripe double (top-ups paid, declined,
// retried with another card or abandoned; partial and full refunds;
// inquiries and chargebacks won, lost or left open; invoices paid from the
// balance; deletions completed by refunds or a paid final invoice, or
// canceled), and delivers the events Stripe recorded to the real webhook
// shuffled, delayed, duplicated, dropped and crashed at the fault seam,
// retrying every non-2xx as Stripe does. Reconcile and the deletion sweep
// then finish what the webhook did not, and the books are checked against
// an oracle computed from Stripe's final state.
//
// Every random choice comes from a PCG seeded by (seed, user), so a seed
// replays the same lifecycles: go test ./functions/flows/ -run
// TestSimulation -sim.seed=N. A failure prints the seed, the invariant and
// that user's history.
var (
	simSeeds = flag.Int("sim.seeds", 4, "simulation: how many seeds to run (1..N)")
	simSeed  = flag.Uint64("sim.seed", 0, "simulation: run only this seed")
	simUsers = flag.Int("sim.users", 15, "simulation: users per seed")
	// Every run plays every lifecycle: events held past the deletion
	// request on even seeds, chargebacks after a deletion on every seed.
	// The flag forces a lifecycle onto every seed.
	simLate = flag.String("sim.late", "", `simulation: a comma-separated list of lifecycles to force on every seed: "events" (events wait past a deletion request; `+
		`otherwise even seeds only), "disputes" (every deleted user's paid top-up is charged back; otherwise half of them), or "all"`)
)

// again is a caller's retry (the console's, Pub/Sub's) of a step that
// failed, as the emulator's lock timeouts make some fail under load.
func again(f func() error) error {
	var err error
	for range 4 {
		if err = f(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// late reports whether the lifecycle name was asked for with -sim.late.
func late(name string) bool {
	for _, n := range strings.Split(*simLate, ",") {
		if n == name || n == "all" {
			return true
		}
	}
	return false
}

// lateEvents reports whether the seed holds events past the deletion
// request: every other seed, or all with -sim.late=events.
func (s *sim) lateEvents() bool { return late("events") || s.seed%2 == 0 }

// simWorkers is how many users act (and receive deliveries) at once: each
// user's own steps are sequential, so a user's documents see no lock
// contention; users touch disjoint documents.
const simWorkers = 4

func TestSimulation(t *testing.T) {
	t.Parallel()
	seeds := []uint64{*simSeed}
	if *simSeed == 0 {
		seeds = nil
		for i := 1; i <= *simSeeds; i++ {
			seeds = append(seeds, uint64(i))
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			newSim(t, seed, *simUsers).run(t)
		})
	}
}

// sim is one seed's world: the production graph on one emulator project
// and one Stripe double, and its users.
type sim struct {
	*testenv.Closing
	seed  uint64
	hook  http.Handler
	users []*simUser

	mu        sync.Mutex // guards the fields below
	seen      int        // events of the double already handed to users
	intentOf  map[string]*simUser
	customerO map[string]*simUser
	orphans   []string
	kinds     map[string]int // how often each lifecycle step happened, across users

	deliveries, crashes, drops, dups atomic.Int64
	events                           atomic.Int64
}

// simUser is one user's lifecycle: its random source, what it did (the
// history printed on failure) and what it knows of Stripe.
type simUser struct {
	id      string
	rng     *rand.Rand
	history []string

	mu    sync.Mutex
	inbox []stripetest.Event // recorded by Stripe, not delivered yet

	intents  []string          // every top-up intent started
	paid     []string          // succeeded intents
	credit   map[string]int64  // what a paid package intent credits (a card top-up: what it charged)
	pkg      bool              // a package purchase was started
	disputed map[string]string // intent -> its dispute
	open     []string          // disputes not closed yet
	invoices []string          // draft invoices to finalize
	deletion string            // what the deletion phase did
}

func newSim(t *testing.T, seed uint64, users int) *sim {
	c := testenv.NewClosing(t)
	s := &sim{Closing: c, seed: seed, intentOf: map[string]*simUser{}, customerO: map[string]*simUser{}, kinds: map[string]int{}}
	s.hook = webhook.NewServer([]string{testenv.WebhookSecret}, c.Ledger, c.Deletions, c.Services.InvoiceCredits, c.Payments)
	for i := range users {
		s.users = append(s.users, &simUser{
			id:       fmt.Sprintf("sim%d", i),
			rng:      rand.New(rand.NewPCG(seed, uint64(i))),
			disputed: map[string]string{},
			credit:   map[string]int64{},
		})
	}
	return s
}

func (u *simUser) logf(format string, args ...any) {
	u.history = append(u.history, fmt.Sprintf(format, args...))
}

// count tallies a lifecycle step, so the log shows what a run covered.
func (s *sim) count(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kinds[kind]++
}

// each runs f for every user, simWorkers at a time.
func (s *sim) each(f func(u *simUser)) {
	sem := make(chan struct{}, simWorkers)
	var wg sync.WaitGroup
	for _, u := range s.users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(u)
		}()
	}
	wg.Wait()
}

func (s *sim) run(t *testing.T) {
	ctx := context.Background()
	start := time.Now()

	// Money in and out, each user's events delivered as it goes.
	s.each(func(u *simUser) {
		steps := 4 + u.rng.IntN(5)
		for range steps {
			s.act(t, u)
			if u.rng.IntN(2) == 0 {
				s.flush(t, u, false)
			}
		}
		s.flush(t, u, !s.lateEvents())
	})
	if !s.lateEvents() {
		s.reconcile(t, ctx)
	}

	// Invoices: Stripe finalizes them (using the credit applied from the
	// balance) and the customer pays what is left.
	s.each(func(u *simUser) {
		for _, inv := range u.invoices {
			s.finishInvoice(t, u, inv)
		}
		s.flush(t, u, true)
	})

	// Deletions.
	s.each(func(u *simUser) {
		s.closeAccount(t, u)
		s.flush(t, u, true)
	})
	for range 2 {
		s.Clock = s.Clock.Add(2 * time.Hour)
		if _, _, err := s.Deletions.Sweep(ctx, 10*len(s.users)); err != nil {
			t.Errorf("seed %d: sweep: %v", s.seed, err)
		}
		s.collect()
		s.each(func(u *simUser) {
			s.payFinalInvoice(t, u)
			s.flush(t, u, true)
		})
		s.reconcile(t, ctx)
	}

	s.each(func(u *simUser) { s.disputeAfterDeletion(t, u) })
	s.reconcile(t, ctx)
	t.Logf("seed %d: %d users, %d events, %d deliveries (%d crashed, %d duplicated, %d dropped) in %v",
		s.seed, len(s.users), s.events.Load(), s.deliveries.Load(), s.crashes.Load(), s.dups.Load(), s.drops.Load(), time.Since(start).Round(time.Second))
	var kinds []string
	for k, n := range s.kinds {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(kinds)
	t.Logf("seed %d: %s", s.seed, strings.Join(kinds, " "))
	s.check(t, ctx)
}

func (s *sim) reconcile(t *testing.T, ctx context.Context) {
	if _, err := s.Services.Reconciler.Reconcile(ctx); err != nil {
		t.Errorf("seed %d: reconcile: %v", s.seed, err)
	}
}

// collect hands every event Stripe recorded since the last call to the
// user it is about: by the metadata our intents and charges carry, by the
// intent a dispute is about, by the customer of an invoice.
func (s *sim) collect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.Stripe.Events()
	for _, ev := range all[s.seen:] {
		var e struct {
			Data struct {
				Object struct {
					Metadata      map[string]string `json:"metadata"`
					PaymentIntent string            `json:"payment_intent"`
					Customer      string            `json:"customer"`
				} `json:"object"`
			} `json:"data"`
		}
		_ = json.Unmarshal(ev.Payload, &e)
		o := e.Data.Object
		var u *simUser
		if id := o.Metadata[payments.MetadataUserID]; id != "" {
			u = s.user(id)
		}
		if u == nil {
			u = s.intentOf[o.PaymentIntent]
		}
		if u == nil {
			u = s.customerO[o.Customer]
		}
		if u == nil {
			s.orphans = append(s.orphans, ev.Type+" "+ev.ID)
			continue
		}
		s.events.Add(1)
		u.mu.Lock()
		u.inbox = append(u.inbox, ev)
		u.mu.Unlock()
	}
	s.seen = len(all)
}

func (s *sim) user(id string) *simUser {
	for _, u := range s.users {
		if u.id == id {
			return u
		}
	}
	return nil
}

// flush delivers the user's inbox in a random order: some events wait for
// a later flush (unless all), some are dropped for Reconcile to find, some
// come twice, and some deliveries crash at the fault seam.
func (s *sim) flush(t *testing.T, u *simUser, all bool) {
	s.collect()
	u.mu.Lock()
	inbox := u.inbox
	u.inbox = nil
	u.mu.Unlock()
	u.rng.Shuffle(len(inbox), func(i, j int) { inbox[i], inbox[j] = inbox[j], inbox[i] })
	var later []stripetest.Event
	for _, ev := range inbox {
		switch r := u.rng.IntN(100); {
		case r < 8:
			s.drops.Add(1)
			u.logf("drop %s %s", ev.Type, ev.ID)
		case r < 30 && !all:
			later = append(later, ev)
		case r < 45:
			s.dups.Add(1)
			s.deliver(t, u, ev)
			later = append(later, ev) // again, later
		default:
			s.deliver(t, u, ev)
		}
	}
	if len(later) == 0 {
		return
	}
	if all {
		for _, ev := range later {
			s.deliver(t, u, ev)
		}
		return
	}
	u.mu.Lock()
	u.inbox = append(later, u.inbox...)
	u.mu.Unlock()
}

var simFaults = []string{fault.LedgerBeforeCommit, fault.LedgerAfterCommit, fault.InvoiceCreditRecorded, fault.InvoiceCreditApplied}

// deliver is Stripe posting ev until it gets a 2xx; the first attempt may
// crash at a fault point.
func (s *sim) deliver(t *testing.T, u *simUser, ev stripetest.Event) {
	for attempt := 1; ; attempt++ {
		req := testenv.WebhookRequest(ev.Payload, testenv.WebhookSecret)
		crash := ""
		if attempt == 1 && u.rng.IntN(100) < 20 {
			crash = simFaults[u.rng.IntN(len(simFaults))]
			req = req.WithContext(fault.With(req.Context(), fault.New().Fail(crash, 1)))
			s.crashes.Add(1)
		}
		rec := httptest.NewRecorder()
		s.hook.ServeHTTP(rec, req)
		s.deliveries.Add(1)
		var body struct {
			Result string `json:"result"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		note := ""
		if crash != "" {
			note = " crash@" + crash
		}
		u.logf("deliver %s %s%s -> %d %s", ev.Type, ev.ID, note, rec.Code, body.Result)
		switch {
		case rec.Code/100 == 2:
			return
		case rec.Code < 500 && rec.Code != http.StatusTooManyRequests:
			t.Errorf("seed %d user %s: delivery of %s %s refused for good: %d %s", s.seed, u.id, ev.Type, ev.ID, rec.Code, rec.Body)
			return
		case attempt == 10:
			t.Errorf("seed %d user %s: delivery of %s %s still failing after %d attempts: %d %s", s.seed, u.id, ev.Type, ev.ID, attempt, rec.Code, rec.Body)
			return
		}
	}
}

// act plays one random step of the user's money lifecycle in Stripe.
func (s *sim) act(t *testing.T, u *simUser) {
	ctx := context.Background()
	sc := s.Stripe.Client()
	switch r := u.rng.IntN(100); {
	case r < 40 || len(u.paid) == 0:
		amount, credit, typ, what := int64(1000+100*u.rng.IntN(40)), int64(0), ledger.TypeCardTopUp, "top-up"
		if !u.pkg && u.rng.IntN(5) == 0 {
			// A partner package: one per account, its credit above its price.
			u.pkg, amount, credit, typ, what = true, 10000, 15000, ledger.TypePackagePurchase, "package"
		}
		// The console retries a failed start with the same idempotency key.
		var started checkout.Started
		key := fmt.Sprintf("sim-%d", len(u.history))
		err := again(func() (err error) {
			started, err = s.Checkout.Start(ctx, checkout.Payment{UserID: u.id, Email: u.id + "@example.com", IdempotencyKey: key,
				Type: typ, Charge: amount, Credit: max(credit, amount), Currency: "usd", PackageID: map[bool]string{true: "partner"}[credit > 0]})
			return err
		})
		if err != nil {
			t.Errorf("seed %d user %s: start a %s: %v", s.seed, u.id, what, err)
			return
		}
		pi := started.Intent.ID
		s.own(ctx, u, pi)
		u.intents = append(u.intents, pi)
		if credit > 0 {
			u.credit[pi] = credit
		}
		switch o := u.rng.IntN(100); {
		case o < 60:
			s.count(what + " paid")
			u.logf("%s %d %s: paid", what, amount, pi)
			s.ok(t, u)(s.Stripe.SucceedPaymentIntent(pi))
			u.paid = append(u.paid, pi)
		case o < 75:
			s.count(what + " declined, paid with another card")
			u.logf("%s %d %s: declined, paid with another card", what, amount, pi)
			s.ok(t, u)(s.Stripe.FailPaymentIntent(pi, "insufficient_funds"))
			s.ok(t, u)(s.Stripe.SucceedPaymentIntent(pi))
			u.paid = append(u.paid, pi)
		case o < 90:
			s.count(what + " declined, canceled")
			u.logf("%s %d %s: declined, abandoned (canceled)", what, amount, pi)
			s.ok(t, u)(s.Stripe.FailPaymentIntent(pi, ""))
			_, err := sc.PaymentIntents.Cancel(pi, &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String("abandoned")})
			s.ok(t, u)(nil, err)
		default:
			s.count(what + " declined, left")
			u.logf("%s %d %s: declined, left", what, amount, pi)
			s.ok(t, u)(s.Stripe.FailPaymentIntent(pi, ""))
		}
	case r < 60:
		pi := u.paid[u.rng.IntN(len(u.paid))]
		full := u.rng.IntN(3) == 0
		params := &stripe.RefundParams{PaymentIntent: stripe.String(pi)}
		what := "full"
		if !full {
			left := s.refundable(pi)
			if left <= 0 {
				u.logf("refund %s: nothing left to refund", pi)
				return
			}
			amount := 1 + u.rng.Int64N(left)
			params.Amount = stripe.Int64(amount)
			what = fmt.Sprint(amount)
		}
		_, err := sc.Refunds.New(params)
		s.count("refund " + map[bool]string{true: "full", false: "partial"}[full] + ": " + errText(err))
		u.logf("refund %s of %s: %s", what, pi, errText(err))
	case r < 75:
		pi := u.paid[u.rng.IntN(len(u.paid))]
		if u.disputed[pi] != "" || s.refundable(pi) <= 0 {
			u.logf("dispute %s: already disputed or refunded", pi)
			return
		}
		inquiry := u.rng.IntN(3) == 0
		var amount int64
		if !inquiry && u.rng.IntN(3) == 0 {
			pay, _ := s.Stripe.PaymentIntent(pi)
			amount = 1 + u.rng.Int64N(pay.Amount)
		}
		id, err := s.Stripe.OpenDispute(pi, amount, inquiry)
		u.logf("open dispute %s on %s (inquiry %v, amount %d): %s", id, pi, inquiry, amount, errText(err))
		if err == nil {
			s.count(map[bool]string{true: "inquiry", false: "chargeback"}[inquiry] + " opened")
			u.disputed[pi] = id
			u.open = append(u.open, id)
		}
	case r < 87 && len(u.open) > 0:
		i := u.rng.IntN(len(u.open))
		id := u.open[i]
		u.open = slices.Delete(u.open, i, i+1)
		d, _ := s.Stripe.Dispute(id)
		if strings.HasPrefix(string(d.Status), "warning_") && u.rng.IntN(2) == 0 {
			_, err := sc.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(d.PaymentIntent.ID)})
			s.count("inquiry settled by a refund")
			u.logf("inquiry %s settled by a full refund: %s", id, errText(err))
			return
		}
		won := u.rng.IntN(2) == 0
		err := s.Stripe.CloseDispute(id, won)
		s.count(fmt.Sprintf("dispute closed won=%v", won))
		u.logf("close dispute %s won=%v: %s", id, won, errText(err))
	default:
		acct, err := s.Customers.Ensure(ctx, u.id, u.id+"@example.com")
		if err != nil {
			t.Errorf("seed %d user %s: ensure the customer: %v", s.seed, u.id, err)
			return
		}
		s.mu.Lock()
		s.customerO[acct.CustomerID] = u
		s.mu.Unlock()
		due := int64(300 + 100*u.rng.IntN(30))
		if _, err := sc.InvoiceItems.New(&stripe.InvoiceItemParams{Customer: stripe.String(acct.CustomerID), Amount: stripe.Int64(due), Currency: stripe.String("usd")}); err != nil {
			t.Errorf("seed %d user %s: invoice item: %v", s.seed, u.id, err)
			return
		}
		inv, err := sc.Invoices.New(&stripe.InvoiceParams{Customer: stripe.String(acct.CustomerID), PendingInvoiceItemsBehavior: stripe.String("include")})
		if err != nil {
			t.Errorf("seed %d user %s: invoice: %v", s.seed, u.id, err)
			return
		}
		s.count("invoice")
		u.logf("invoice %s of %d created (draft)", inv.ID, due)
		u.invoices = append(u.invoices, inv.ID)
	}
}

// own notes whose intent and customer these are.
func (s *sim) own(ctx context.Context, u *simUser, pi string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.intentOf[pi] = u
	if acct, err := s.Customers.Get(ctx, u.id); err == nil && acct.CustomerID != "" {
		s.customerO[acct.CustomerID] = u
	}
}

// ok reports a call to the double that should not fail.
func (s *sim) ok(t *testing.T, u *simUser) func(any, error) {
	return func(_ any, err error) {
		if err != nil {
			t.Errorf("seed %d user %s: %v", s.seed, u.id, err)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	var se *stripe.Error
	if errors.As(err, &se) {
		return "refused: " + string(se.Code)
	}
	return err.Error()
}

// refundable is what Stripe would still refund of the intent's charge.
func (s *sim) refundable(pi string) int64 {
	p, _ := s.Stripe.PaymentIntent(pi)
	left := p.AmountReceived
	for _, r := range s.Stripe.Refunds() {
		if r.PaymentIntent != nil && r.PaymentIntent.ID == pi {
			left -= r.Amount
		}
	}
	return left
}

// finishInvoice is Stripe finalizing a draft invoice (the balance's credit
// applied) and the customer paying what is left.
func (s *sim) finishInvoice(t *testing.T, u *simUser, id string) {
	inv, err := s.Stripe.Client().Invoices.FinalizeInvoice(id, nil)
	if err != nil {
		t.Errorf("seed %d user %s: finalize %s: %v", s.seed, u.id, id, err)
		return
	}
	u.logf("invoice %s finalized: due %d", id, inv.AmountDue)
	if inv.Status == stripe.InvoiceStatusOpen {
		_, err := s.Stripe.PayInvoice(id)
		u.logf("invoice %s paid: %s", id, errText(err))
	}
}

// disputeAfterDeletion is a cardholder disputing a payment of an account
// already deleted.
func (s *sim) disputeAfterDeletion(t *testing.T, u *simUser) {
	if d, err := s.Deletions.Get(context.Background(), nil, u.id); err != nil || d.State != closing.StateDeleted || !late("disputes") && u.rng.IntN(2) == 0 {
		return
	}
	for _, pi := range u.paid {
		if u.disputed[pi] != "" || s.refundable(pi) <= 0 {
			continue
		}
		id, err := s.Stripe.OpenDispute(pi, 0, false)
		u.logf("after deletion: chargeback %s on %s: %s", id, pi, errText(err))
		if err == nil {
			u.disputed[pi] = id
			s.count("chargeback after deletion")
		}
		break
	}
	s.flush(t, u, true)
}

// payFinalInvoice is the customer paying a final invoice the sweep sent
// (the request itself could not: it crashed before recording it).
func (s *sim) payFinalInvoice(t *testing.T, u *simUser) {
	if u.deletion != "requested" {
		return
	}
	d, err := s.Deletions.Get(context.Background(), nil, u.id)
	if err != nil || d.State != closing.StateAwaitingPayment || d.InvoiceID == "" {
		return
	}
	_, err = s.Stripe.PayInvoice(d.InvoiceID)
	s.count("deletion's final invoice, sent by the sweep, paid")
	u.logf("final invoice %s (sent by the sweep) paid: %s", d.InvoiceID, errText(err))
}

// use reports storage worth cents at the default price ($4 per TB-month:
// 1.8e12 byte-hours a cent).
func (s *sim) use(t *testing.T, u *simUser, cents int64) {
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	r := metering.Report{ReportID: fmt.Sprintf("r%d", len(u.history)), UserID: u.id, ProjectID: "p1", PeriodStart: start, PeriodEnd: start.Add(720 * time.Hour),
		StorageByteHours: new(big.Rat).SetInt64(cents * 1_800_000_000_000), EgressBytes: new(big.Rat), SegmentHours: new(big.Rat)}
	// Pub/Sub redelivers a report whose handler failed.
	if err := again(func() error { _, err := s.Services.Usage.Save(context.Background(), r); return err }); err != nil {
		t.Errorf("seed %d user %s: usage: %v", s.seed, u.id, err)
	}
	u.logf("usage of %d cents reported", cents)
}

// closeAccount plays the deletion phase: none, a deletion (refunds, or a
// final invoice for usage, paid), or a deletion canceled while its final
// invoice is unpaid (then, sometimes, the invoice paid and the account
// deleted by a second request).
func (s *sim) closeAccount(t *testing.T, u *simUser) {
	ctx := context.Background()
	r := u.rng.IntN(100)
	if r < 30 {
		u.deletion = "none"
		s.count("deletion none")
		return
	}
	usage := r >= 55
	if usage {
		s.use(t, u, 100*(1+u.rng.Int64N(150)))
	}
	inj, crash := fault.New(), "none"
	if u.rng.IntN(3) == 0 {
		crash = []string{fault.DeletionAfterRecord, fault.DeletionAfterRefund, fault.DeletionAfterInvoice, fault.DeletionAfterDetach, fault.OutboxAfterCommit}[u.rng.IntN(5)]
		inj.Fail(crash, 1)
	}
	d, err := s.Deletions.Request(fault.With(ctx, inj), u.id, u.id+"@example.com")
	if acct, gerr := s.Customers.Get(ctx, u.id); gerr == nil && acct.CustomerID != "" {
		s.mu.Lock()
		s.customerO[acct.CustomerID] = u
		s.mu.Unlock()
	}
	var blocked *closing.BlockedError
	if errors.As(err, &blocked) {
		u.deletion = "blocked"
		s.count("deletion blocked")
		u.logf("request deletion (usage %v): blocked: %v", usage, blocked.Check.Reasons)
		return
	}
	u.logf("request deletion (usage %v, crash at %s): %s %s", usage, crash, d.State, errText(err))
	if err != nil {
		// The console asks again.
		err = again(func() (err error) { d, err = s.Deletions.Request(ctx, u.id, u.id+"@example.com"); return err })
		u.logf("request deletion again: %s %s", d.State, errText(err))
		if err != nil {
			t.Errorf("seed %d user %s: request deletion: %v", s.seed, u.id, err)
			return
		}
	}
	u.deletion = "requested"
	if d.InvoiceID == "" {
		s.count("deletion without invoice")
		return
	}
	if u.rng.IntN(3) == 0 {
		d, err := s.Deletions.Cancel(ctx, u.id)
		u.logf("cancel deletion: %s %s", d.State, errText(err))
		if err != nil {
			return
		}
		s.count("deletion canceled")
		u.deletion = "canceled"
		if u.rng.IntN(2) == 0 {
			return
		}
		_, err = s.Stripe.PayInvoice(d.InvoiceID)
		u.logf("canceled deletion's invoice %s paid: %s", d.InvoiceID, errText(err))
		s.flush(t, u, true)
		if _, err := s.Deletions.Request(ctx, u.id, u.id+"@example.com"); err != nil {
			u.logf("request deletion again: %s", errText(err))
			return
		}
		d, _ = s.Deletions.Get(ctx, nil, u.id)
		u.logf("request deletion again: %s", d.State)
		s.count("deletion canceled, invoice paid, requested again")
		u.deletion = "requested"
		if d.InvoiceID != "" && d.State == closing.StateAwaitingPayment {
			_, err = s.Stripe.PayInvoice(d.InvoiceID)
			u.logf("final invoice %s paid: %s", d.InvoiceID, errText(err))
		}
		return
	}
	_, err = s.Stripe.PayInvoice(d.InvoiceID)
	s.count("deletion with its final invoice paid")
	u.logf("final invoice %s paid: %s", d.InvoiceID, errText(err))
}

// check compares the books with the oracle computed from Stripe's final
// state, user by user.
func (s *sim) check(t *testing.T, ctx context.Context) {
	for _, o := range s.orphans {
		t.Errorf("seed %d: event about none of the users: %s", s.seed, o)
	}
	refunded := map[string]int64{}
	for _, r := range s.Stripe.Refunds() {
		if r.PaymentIntent != nil {
			refunded[r.PaymentIntent.ID] += r.Amount
		}
	}
	processed := map[string]bool{}
	snaps, err := s.FS.Collection(ledger.EventsCollection).Documents(ctx).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, snap := range snaps {
		processed[snap.Ref.ID] = true
	}
	var missing []string
	for _, ev := range s.Stripe.Events() {
		if !processed[ev.ID] {
			missing = append(missing, ev.Type+" "+ev.ID)
		}
	}
	if len(missing) > 0 {
		t.Errorf("seed %d: %d events never applied (webhook nor Reconcile): %v", s.seed, len(missing), missing)
	}

	for _, u := range s.users {
		var problems []string
		fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

		// The oracle: what Stripe received from the user's cards minus what
		// it gave back (refunds, disputes' funds not reinstated), minus the
		// balance credits applied to invoices.
		var oracle int64
		for _, pi := range u.paid {
			p, _ := s.Stripe.PaymentIntent(pi)
			var disputed int64
			if id := u.disputed[pi]; id != "" {
				d, _ := s.Stripe.Dispute(id)
				for _, bt := range d.BalanceTransactions {
					disputed -= bt.Amount
				}
			}
			// A package credits more than it charged: its reversals debit
			// their share of the credit (rounded down), as settle decides.
			credit := p.AmountReceived
			if c, ok := u.credit[pi]; ok {
				credit = c
			}
			back := min(refunded[pi]+disputed, p.AmountReceived)
			oracle += credit - credit*back/p.AmountReceived
		}
		acct, err := s.Customers.Get(ctx, u.id)
		if err != nil {
			fail("read the account: %v", err)
		}
		if acct.CustomerID != "" {
			for _, bt := range s.Stripe.BalanceTransactions(acct.CustomerID) {
				if bt.Metadata[payments.MetadataLedgerEntry] != "" {
					oracle += bt.Amount // negative: a credit given
				}
			}
		}

		// The books.
		entries, err := store.UnderAccount(s.FS, u.id, ledger.TransactionsCollection).Documents(ctx).GetAll()
		if err != nil {
			t.Fatal(err)
		}
		var sum, adjustments int64
		var notes []string
		for _, snap := range entries {
			var e ledger.Transaction
			if err := snap.DataTo(&e); err != nil {
				t.Fatal(err)
			}
			switch {
			case slices.Contains(ledger.PaymentTypes, e.Type):
				if e.Credited {
					sum += e.Amount
				}
			default:
				sum += e.Amount
			}
			switch {
			case e.Type == ledger.TypeUsageCharge || e.Type == ledger.TypeBalanceForfeited || e.Type == ledger.TypeDebtInvoiced:
				adjustments += e.Amount
			case e.Type == ledger.TypeWrittenOff:
				// What moved on a deleted account, taken back: an
				// operator's to pursue or return.
				adjustments += e.Amount
				notes = append(notes, fmt.Sprintf("written off %s: %d", snap.Ref.ID, e.Amount))
			case e.Type == ledger.TypeRefund && e.Status == ledger.StatusFailed:
				// A deletion refund Stripe refused (the charge was refunded
				// or disputed meanwhile) stays off the balance: the money
				// went back to the card another way, which the oracle
				// counts. Were it still ours, the books would disagree.
				notes = append(notes, fmt.Sprintf("refund entry %s failed (%s): %d left for an operator", snap.Ref.ID, e.FailureCode, -e.Amount))
			}
		}
		bal, err := s.Ledger.Balance(ctx, u.id)
		if err != nil {
			t.Fatal(err)
		}
		if bal.Amount != sum {
			fail("balance %d != sum of its ledger entries %d", bal.Amount, sum)
		}
		if want := oracle + adjustments; bal.Amount != want {
			fail("balance %d != received minus reversed per Stripe %d (plus usage, forfeits and debts %d = %d)", bal.Amount, oracle, adjustments, want)
		}
		d, err := s.Deletions.Get(ctx, nil, u.id)
		if err != nil {
			t.Fatal(err)
		}
		if acct.Status == closing.AccountDeleted && bal.Amount != 0 {
			fail("deleted account holds %d", bal.Amount)
		}
		switch u.deletion {
		case "requested":
			if d.State != closing.StateDeleted || acct.Status != closing.AccountDeleted {
				fail("deletion requested and payable did not end: state %q, account %q", d.State, acct.Status)
			}
		case "canceled":
			if d.State != closing.StateCanceled || acct.Status != "" {
				fail("canceled deletion: state %q, account %q", d.State, acct.Status)
			}
		default:
			if acct.Status != "" {
				fail("no deletion requested but account is %q (deletion %q)", acct.Status, d.State)
			}
		}
		if len(problems) > 0 {
			t.Errorf("seed %d (replay: -run 'TestSimulation/seed=%d$' -sim.seed=%d -sim.users=%d) user %s:\n  %s\n%s\nhistory:\n  %s",
				s.seed, s.seed, s.seed, len(s.users), u.id, strings.Join(problems, "\n  "), strings.Join(notes, "\n"), strings.Join(u.history, "\n  "))
		}
	}
}
