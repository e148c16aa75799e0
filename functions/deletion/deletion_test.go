package deletion_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/google/go-cmp/cmp"

	fdeletion "example.com/billing/functions/deletion"
	"example.com/billing/shared/checkout"
	"example.com/billing/shared/closing"
	"example.com/billing/shared/events"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/metering"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/testsupport/testenv"
)

var allTopics = []string{closing.TopicDeletionRequested, closing.TopicDeleted, closing.TopicDeletionCanceled}

// env is the deletion functions on real peers.
type env struct {
	*testenv.Billing
	clock     time.Time
	usage     *metering.Store
	outbox    *events.Outbox
	deletions *closing.Service
	srv       *fdeletion.Server
	received  func(topic string, wait time.Duration) []*pubsub.Message
}

func newEnv(t *testing.T) *env {
	t.Helper()
	b := testenv.NewBilling(t)
	ps, project := testenv.PubSub(t)
	e := &env{Billing: b, clock: time.Now().UTC().Truncate(time.Microsecond), usage: metering.NewStore(b.FS)}
	e.received = testenv.Topics(t, ps, project, allTopics...)
	e.outbox = events.NewOutbox(b.FS, events.NewPubSub(ps))
	prices, err := metering.Config{StorageTBMonth: "400", EgressTB: "700", SegmentMonth: "0.00088"}.Prices()
	if err != nil {
		t.Fatal(err)
	}
	e.deletions = closing.New(b.FS, b.Ledger, b.Customers, b.Payments, e.usage, prices, e.outbox, closing.Config{DaysUntilDue: 30}).
		WithClock(func() time.Time { return e.clock })
	e.srv = fdeletion.NewServer(b.Verifier, e.deletions)
	return e
}

func (e *env) call(t *testing.T, h http.Handler, method, userID string) testenv.Response {
	t.Helper()
	return testenv.Do(t, h, testenv.Request(method, "/", e.Issuer.Token(t, userID, userID+"@example.com"), nil))
}

func (e *env) check(t *testing.T, userID string) testenv.Response {
	return e.call(t, e.srv.Check(), http.MethodGet, userID)
}

func (e *env) request(t *testing.T, userID string) testenv.Response {
	return e.call(t, e.srv.Request(), http.MethodPost, userID)
}

// useOneMonth stores the hand-calculated month of usage (see the usage
// package): 1 TB stored, 500 GB egress, 10,000 segments = 759 cents in
// three reports, the last one delivered twice.
func (e *env) useOneMonth(t *testing.T, userID string) {
	t.Helper()
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	parts := []struct{ storage, egress, segments string }{
		{"240000000000000", "100000000000", "2400000"},
		{"240000000000000", "300000000000", "2400000"},
		{"240000000000000", "100000000000", "2400000"},
	}
	for i, p := range append(parts, parts[2]) {
		i = min(i, 2)
		r := metering.Report{ReportID: fmt.Sprintf("r%d", i), UserID: userID, ProjectID: "p1",
			PeriodStart: start.Add(time.Duration(i*240) * time.Hour), PeriodEnd: start.Add(time.Duration((i+1)*240) * time.Hour)}
		r.StorageByteHours, _ = new(big.Rat).SetString(p.storage)
		r.EgressBytes, _ = new(big.Rat).SetString(p.egress)
		r.SegmentHours, _ = new(big.Rat).SetString(p.segments)
		if _, err := e.usage.Save(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) state(t *testing.T, userID string) (closing.Deletion, string) {
	t.Helper()
	d, err := e.deletions.Get(context.Background(), nil, userID)
	if err != nil {
		t.Fatal(err)
	}
	acct, _ := e.Customers.Get(context.Background(), userID)
	return d, acct.Status
}

func userIDs(t *testing.T, msgs []*pubsub.Message) []string {
	t.Helper()
	var out []string
	for _, m := range msgs {
		var ev closing.Event
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if m.Attributes["eventId"] != ev.EventID {
			t.Errorf("eventId attribute %q, payload %q", m.Attributes["eventId"], ev.EventID)
		}
		out = append(out, ev.UserID)
	}
	return out
}

func TestRequestTwiceOrConcurrentlyMakesOneInvoice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.useOneMonth(t, "u1")
	e.check(t, "u1") // the customer exists before the race
	var wg sync.WaitGroup
	answers := make([]testenv.Response, 3)
	for i := range answers {
		wg.Go(func() { answers[i] = e.request(t, "u1") })
	}
	wg.Wait()
	answers = append(answers, e.request(t, "u1"))
	if n := len(e.Stripe.Invoices()); n != 1 {
		t.Fatalf("%d invoices, want 1", n)
	}
	for _, a := range answers {
		if a.Status != 200 || a.Body["finalInvoice"] == nil || a.Body["finalInvoice"].(map[string]any)["id"] != e.Stripe.Invoices()[0].ID {
			t.Errorf("answer %d %s", a.Status, a.Raw)
		}
	}
	if got := userIDs(t, e.received(closing.TopicDeletionRequested, 2*time.Second)); len(got) != 1 {
		t.Errorf("account-deletion-requested published %d times, want once", len(got))
	}
}

func TestOverdueInvoiceAndCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.useOneMonth(t, "u1")
	if got := e.request(t, "u1"); got.Body["state"] != closing.StateAwaitingPayment {
		t.Fatalf("request: %s", got.Raw)
	}
	e.clock = e.clock.Add(31 * 24 * time.Hour)
	check := e.check(t, "u1")
	del := check.Body["deletion"].(map[string]any)
	if del["invoiceOverdue"] != true || del["state"] != closing.StateAwaitingPayment {
		t.Fatalf("check after 31 days: %s", check.Raw)
	}

	got := e.call(t, e.srv.Cancel(), http.MethodPost, "u1")
	if got.Status != 200 || got.Body["state"] != closing.StateCanceled {
		t.Fatalf("cancel: %d %s", got.Status, got.Raw)
	}
	if _, status := e.state(t, "u1"); status != "" {
		t.Errorf("account status %q after cancel, want open", status)
	}
	if got := userIDs(t, e.received(closing.TopicDeletionCanceled, 2*time.Second)); !cmp.Equal(got, []string{"u1"}) {
		t.Errorf("account-deletion-canceled for %v, want [u1]", got)
	}
	// The final invoice bills real usage: it stays open, and blocks the next request.
	if got := e.request(t, "u1"); got.Status != http.StatusConflict || got.ErrorCode() != "deletion_blocked" {
		t.Errorf("request after cancel: %d %s", got.Status, got.Raw)
	}
	if got := e.call(t, e.srv.Cancel(), http.MethodPost, "u1"); got.Status != http.StatusNotFound || got.ErrorCode() != "no_pending_deletion" {
		t.Errorf("second cancel: %d %s", got.Status, got.Raw)
	}
}

func TestPaymentsStopWhilePendingDeletion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.useOneMonth(t, "u1")
	e.request(t, "u1")
	_, err := e.Checkout.Start(context.Background(), checkout.Payment{UserID: "u1", Type: ledger.TypeCardTopUp, Charge: 1000, Credit: 1000, Currency: "usd"})
	if err == nil || !errors.Is(err, checkout.ErrAccountClosing) {
		t.Errorf("top-up while pending deletion: %v, want ErrAccountClosing", err)
	}
}

// flakyStripe fails the final invoice's creation the first n times, as if
// Stripe went away between the check and the invoice.
type flakyStripe struct {
	*payments.Client
	mu    sync.Mutex
	fails int
}

func (f *flakyStripe) CreateInvoice(ctx context.Context, p payments.NewInvoice, key string) (payments.Invoice, error) {
	f.mu.Lock()
	fail := f.fails > 0
	f.fails--
	f.mu.Unlock()
	if fail {
		return payments.Invoice{}, &payments.Error{Op: "create invoice", Kind: payments.ErrUnavailable, Status: 503, Message: "injected"}
	}
	return f.Client.CreateInvoice(ctx, p, key)
}

// Stripe failing after the request is recorded: the state is safe, the
// answer says where it stands, and the sweep finishes it once Stripe is back.
func TestSweepFinishesWhatStripeInterrupted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	prices, _ := metering.Config{StorageTBMonth: "400", EgressTB: "700", SegmentMonth: "0.00088"}.Prices()
	e.deletions = closing.New(e.FS, e.Ledger, e.Customers, &flakyStripe{Client: e.Payments, fails: 1}, e.usage, prices, e.outbox, closing.Config{}).
		WithClock(func() time.Time { return e.clock })
	e.srv = fdeletion.NewServer(e.Verifier, e.deletions)
	e.useOneMonth(t, "u1")

	got := e.request(t, "u1")
	if got.Status != 200 || got.Body["state"] != closing.StateInvoicing {
		t.Fatalf("request when the invoice fails: %d %s", got.Status, got.Raw)
	}
	if adv, _, err := e.deletions.Sweep(context.Background(), 10); err != nil || adv != 0 {
		t.Fatalf("sweep inside the backoff advanced %d (%v), want 0", adv, err)
	}
	e.clock = e.clock.Add(time.Minute)
	if adv, failed, err := e.deletions.Sweep(context.Background(), 10); err != nil || adv != 1 || failed != 0 {
		t.Fatalf("sweep: advanced %d, failed %d, %v", adv, failed, err)
	}
	d, _ := e.state(t, "u1")
	if d.State != closing.StateAwaitingPayment || d.InvoiceID == "" || len(e.Stripe.Invoices()) != 1 {
		t.Errorf("after the sweep: %q, invoice %q, %d invoices", d.State, d.InvoiceID, len(e.Stripe.Invoices()))
	}
}

func TestStripeDownBlocksTheRequestCleanly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.useOneMonth(t, "u1")
	e.check(t, "u1")
	e.Stripe.SetDown(http.StatusServiceUnavailable)
	got := e.request(t, "u1")
	if got.Status != http.StatusServiceUnavailable || got.ErrorCode() != "payment_provider_unavailable" {
		t.Fatalf("request while Stripe is down: %d %s", got.Status, got.Raw)
	}
	if d, status := e.state(t, "u1"); d.State != "" || status != "" {
		t.Errorf("deletion %q, account %q: nothing may change when what is owed cannot be checked", d.State, status)
	}
}

func TestDeletionBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for name, h := range map[string]http.Handler{"check": e.srv.Check(), "request": e.srv.Request(), "cancel": e.srv.Cancel()} {
		if got := testenv.Do(t, h, testenv.Request(http.MethodPost, "/", "", nil)); got.Status != http.StatusUnauthorized && got.Status != http.StatusMethodNotAllowed {
			t.Errorf("%s without a token: %d", name, got.Status)
		}
	}
	got := testenv.Do(t, e.srv.Request(), testenv.Request(http.MethodPost, "/", e.Issuer.Token(t, "u1", ""), `{"userId":"u2"}`))
	if got.Status != 400 || got.ErrorCode() != "invalid_request" {
		t.Errorf("request with fields: %d %s", got.Status, got.Raw)
	}
}
