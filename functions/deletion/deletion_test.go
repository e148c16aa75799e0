package deletion_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	fdeletion "example.com/billing/functions/deletion"
	"example.com/billing/shared/checkout"
	"example.com/billing/shared/closing"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/testsupport/testenv"
)

// env is the deletion functions on the production graph (testenv.Closing).
type env struct {
	*testenv.Closing
	srv *fdeletion.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := testenv.NewClosing(t)
	e := &env{Closing: c, srv: fdeletion.NewServer(c.Verifier, c.Deletions)}
	return e
}

func (e *env) call(t *testing.T, h http.Handler, method, path, userID string) testenv.Response {
	t.Helper()
	return testenv.Do(t, h, testenv.Request(method, path, e.Issuer.Token(t, userID, userID+"@example.com"), nil))
}

func (e *env) check(t *testing.T, userID string) testenv.Response {
	return e.call(t, e.srv.Check(), http.MethodGet, "/DeletionCheck", userID)
}

func (e *env) request(t *testing.T, userID string) testenv.Response {
	return e.call(t, e.srv.Request(), http.MethodPost, "/RequestDeletion", userID)
}

func TestRequestTwiceOrConcurrentlyMakesOneInvoice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.UseOneMonth(t, "u1")
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
	// Publishing is at least once (concurrent flushes may both publish);
	// what the satellite keeps after dropping repeats by eventId is one
	// event.
	msgs := e.Received(closing.TopicDeletionRequested, 2*time.Second)
	ids := map[string]bool{}
	for _, m := range msgs {
		ids[m.Attributes["eventId"]] = true
	}
	if got := testenv.UserIDs(t, msgs); len(ids) != 1 || len(got) > len(answers) {
		t.Errorf("account-deletion-requested: %d messages with %d distinct event ids, want one event (published at most once per request)", len(got), len(ids))
	}
}

func TestOverdueInvoiceAndCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.UseOneMonth(t, "u1")
	if got := e.request(t, "u1"); got.Body["state"] != closing.StateAwaitingPayment {
		t.Fatalf("request: %s", got.Raw)
	}
	e.Clock = e.Clock.Add(31 * 24 * time.Hour)
	check := e.check(t, "u1")
	del := check.Body["deletion"].(map[string]any)
	if del["invoiceOverdue"] != true || del["state"] != closing.StateAwaitingPayment {
		t.Fatalf("check after 31 days: %s", check.Raw)
	}

	got := e.call(t, e.srv.Cancel(), http.MethodPost, "/CancelDeletion", "u1")
	if got.Status != 200 || got.Body["state"] != closing.StateCanceled {
		t.Fatalf("cancel: %d %s", got.Status, got.Raw)
	}
	if _, status := e.State(t, "u1"); status != "" {
		t.Errorf("account status %q after cancel, want open", status)
	}
	if got := testenv.UserIDs(t, e.Received(closing.TopicDeletionCanceled, 2*time.Second)); !cmp.Equal(got, []string{"u1"}) {
		t.Errorf("account-deletion-canceled for %v, want [u1]", got)
	}
	// The final invoice bills real usage: it stays open, and blocks the next request.
	if got := e.request(t, "u1"); got.Status != http.StatusConflict || got.ErrorCode() != "deletion_blocked" {
		t.Errorf("request after cancel: %d %s", got.Status, got.Raw)
	}
	if got := e.call(t, e.srv.Cancel(), http.MethodPost, "/CancelDeletion", "u1"); got.Status != http.StatusNotFound || got.ErrorCode() != "no_pending_deletion" {
		t.Errorf("second cancel: %d %s", got.Status, got.Raw)
	}
}

func TestPaymentsStopWhilePendingDeletion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.UseOneMonth(t, "u1")
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
	prices, _ := e.Services.Config.Usage.Prices()
	e.Deletions = closing.New(e.FS, e.Ledger, e.Customers, &flakyStripe{Client: e.Payments, fails: 1}, e.Services.Usage, prices, e.Services.Outbox, closing.Config{}).
		WithClock(func() time.Time { return e.Clock })
	e.srv = fdeletion.NewServer(e.Verifier, e.Deletions)
	e.UseOneMonth(t, "u1")

	got := e.request(t, "u1")
	if got.Status != 200 || got.Body["state"] != closing.StateInvoicing {
		t.Fatalf("request when the invoice fails: %d %s", got.Status, got.Raw)
	}
	if adv, _, err := e.Deletions.Sweep(context.Background(), 10); err != nil || adv != 0 {
		t.Fatalf("sweep inside the backoff advanced %d (%v), want 0", adv, err)
	}
	e.Clock = e.Clock.Add(time.Minute)
	if adv, failed, err := e.Deletions.Sweep(context.Background(), 10); err != nil || adv != 1 || failed != 0 {
		t.Fatalf("sweep: advanced %d, failed %d, %v", adv, failed, err)
	}
	d, _ := e.State(t, "u1")
	if d.State != closing.StateAwaitingPayment || d.InvoiceID == "" || len(e.Stripe.Invoices()) != 1 {
		t.Errorf("after the sweep: %q, invoice %q, %d invoices", d.State, d.InvoiceID, len(e.Stripe.Invoices()))
	}
}

func TestStripeDownBlocksTheRequestCleanly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.UseOneMonth(t, "u1")
	e.check(t, "u1")
	e.Stripe.SetDown(http.StatusServiceUnavailable)
	got := e.request(t, "u1")
	if got.Status != http.StatusServiceUnavailable || got.ErrorCode() != "payment_provider_unavailable" {
		t.Fatalf("request while Stripe is down: %d %s", got.Status, got.Raw)
	}
	if d, status := e.State(t, "u1"); d.State != "" || status != "" {
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
