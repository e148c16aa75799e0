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
	"github.com/stripe/stripe-go/v76"

	fdeletion "example.com/billing/functions/deletion"
	"example.com/billing/functions/webhook"
	"example.com/billing/shared/checkout"
	"example.com/billing/shared/closing"
	"example.com/billing/shared/events"
	"example.com/billing/shared/invoicecredit"
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
	hook      http.Handler
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
	e.hook = webhook.NewServer([]string{testenv.WebhookSecret}, b.Ledger, e.deletions, invoicecredit.New(b.Ledger, b.Customers, b.Payments))
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

// fund tops the user's balance up by card, paid, as Stripe reports it.
func (e *env) fund(t *testing.T, userID string, amount int64) string {
	t.Helper()
	started, err := e.Checkout.Start(context.Background(), checkout.Payment{UserID: userID, Email: userID + "@example.com",
		Type: ledger.TypeCardTopUp, Charge: amount, Credit: amount, Currency: "usd"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Stripe.SucceedPaymentIntent(started.Intent.ID); err != nil {
		t.Fatal(err)
	}
	ev, _ := e.Stripe.LastEvent("payment_intent.succeeded", started.Intent.ID)
	if got := testenv.Do(t, e.hook, testenv.WebhookRequest(ev.Payload, testenv.WebhookSecret)); got.Status != 200 {
		t.Fatalf("credit: %d %s", got.Status, got.Raw)
	}
	return started.Intent.ID
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

func (e *env) balance(t *testing.T, userID string) int64 {
	t.Helper()
	b, err := e.Ledger.Balance(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return b.Amount
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

// payFinalInvoice is the customer paying on Stripe's hosted page, and
// Stripe delivering invoice.paid (twice, as it may).
func (e *env) payFinalInvoice(t *testing.T, invoiceID string) {
	t.Helper()
	if _, err := e.Stripe.PayInvoice(invoiceID); err != nil {
		t.Fatal(err)
	}
	ev, ok := e.Stripe.LastEvent("invoice.paid", invoiceID)
	if !ok {
		t.Fatalf("no invoice.paid for %s", invoiceID)
	}
	for range 2 {
		if got := testenv.Do(t, e.hook, testenv.WebhookRequest(ev.Payload, testenv.WebhookSecret)); got.Status != 200 {
			t.Fatalf("invoice.paid: %d %s", got.Status, got.Raw)
		}
	}
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

func TestBlockers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(t *testing.T, e *env, customerID string)
		want  func(c map[string]any) bool
	}{
		{name: "open invoice", setup: func(t *testing.T, e *env, cus string) { openInvoice(t, e, cus, 1200) },
			want: func(c map[string]any) bool { return len(c["unpaidInvoices"].([]any)) == 1 && c["amountOwed"] == 1200.0 }},
		{name: "uncollectible invoice", setup: func(t *testing.T, e *env, cus string) {
			inv := openInvoice(t, e, cus, 700)
			if _, err := e.Stripe.Client().Invoices.MarkUncollectible(inv, nil); err != nil {
				t.Fatal(err)
			}
		}, want: func(c map[string]any) bool {
			inv := c["unpaidInvoices"].([]any)
			return len(inv) == 1 && inv[0].(map[string]any)["status"] == "uncollectible"
		}},
		{name: "draft invoice", setup: func(t *testing.T, e *env, cus string) {
			if _, err := e.Stripe.Client().Invoices.New(&stripe.InvoiceParams{Customer: stripe.String(cus)}); err != nil {
				t.Fatal(err)
			}
		}, want: func(c map[string]any) bool {
			inv := c["unpaidInvoices"].([]any)
			return len(inv) == 1 && inv[0].(map[string]any)["status"] == "draft"
		}},
		{name: "pending invoice item", setup: func(t *testing.T, e *env, cus string) {
			if _, err := e.Stripe.Client().InvoiceItems.New(&stripe.InvoiceItemParams{Customer: stripe.String(cus), Amount: stripe.Int64(300), Currency: stripe.String("usd")}); err != nil {
				t.Fatal(err)
			}
		}, want: func(c map[string]any) bool { return c["pendingInvoiceItems"] == 1.0 }},
		{name: "card payment in progress", setup: func(t *testing.T, e *env, cus string) {
			if _, err := e.Checkout.Start(context.Background(), checkout.Payment{UserID: "u1", Type: ledger.TypeCardTopUp, Charge: 1000, Credit: 1000, Currency: "usd"}); err != nil {
				t.Fatal(err)
			}
		}, want: func(c map[string]any) bool { return c["pendingPayments"] == 1.0 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.fund(t, "u1", 2000)
			e.useOneMonth(t, "u1")
			acct, err := e.Customers.Get(context.Background(), "u1")
			if err != nil {
				t.Fatal(err)
			}
			tc.setup(t, e, acct.CustomerID)
			invoicesBefore := len(e.Stripe.Invoices())

			got := e.check(t, "u1")
			if got.Status != 200 || got.Body["canDelete"] != false || !tc.want(got.Body) {
				t.Fatalf("check: %d %s", got.Status, got.Raw)
			}
			got = e.request(t, "u1")
			if got.Status != http.StatusConflict || got.ErrorCode() != "deletion_blocked" || got.Body["canDelete"] != false || !tc.want(got.Body) {
				t.Fatalf("request: %d %s", got.Status, got.Raw)
			}
			// Nothing changed.
			d, status := e.state(t, "u1")
			if d.State != "" || status != "" {
				t.Errorf("deletion %q, account status %q; want none", d.State, status)
			}
			if got := e.balance(t, "u1"); got != 2000 {
				t.Errorf("balance = %d, want 2000", got)
			}
			if n := len(e.Stripe.Invoices()); n != invoicesBefore {
				t.Errorf("%d invoices, want %d", n, invoicesBefore)
			}
			if n := len(e.Stripe.Refunds()); n != 0 {
				t.Errorf("%d refunds, want none", n)
			}
		})
	}
}

func openInvoice(t *testing.T, e *env, customerID string, amount int64) string {
	t.Helper()
	c := e.Stripe.Client()
	inv, err := c.Invoices.New(&stripe.InvoiceParams{Customer: stripe.String(customerID), CollectionMethod: stripe.String("send_invoice"), DaysUntilDue: stripe.Int64(30)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.InvoiceItems.New(&stripe.InvoiceItemParams{Customer: stripe.String(customerID), Invoice: stripe.String(inv.ID), Amount: stripe.Int64(amount), Currency: stripe.String("usd")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Invoices.FinalizeInvoice(inv.ID, nil); err != nil {
		t.Fatal(err)
	}
	return inv.ID
}

// No debt, a month of usage (759 cents), a balance of 500: one final
// invoice for the 259 the balance does not cover; deletion once it is paid.
func TestFinalInvoiceThenDeletionOnPayment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fund(t, "u1", 500)
	e.useOneMonth(t, "u1")
	acct, _ := e.Customers.Get(context.Background(), "u1")
	if err := e.Stripe.AttachPaymentMethod(acct.CustomerID, "pm_card_visa"); err != nil {
		t.Fatal(err)
	}

	check := e.check(t, "u1")
	if check.Body["canDelete"] != true || check.Body["finalAmountDue"] != 259.0 || check.Body["balance"] != 500.0 ||
		check.Body["currentUsage"].(map[string]any)["amount"] != 759.0 {
		t.Fatalf("check: %s", check.Raw)
	}

	got := e.request(t, "u1")
	if got.Status != 200 || got.Body["state"] != closing.StateAwaitingPayment || got.Body["finalAmountDue"] != 259.0 || got.Body["balanceApplied"] != 500.0 {
		t.Fatalf("request: %d %s", got.Status, got.Raw)
	}
	invoices := e.Stripe.Invoices()
	if len(invoices) != 1 {
		t.Fatalf("%d invoices, want 1", len(invoices))
	}
	inv := invoices[0]
	var lines []int64
	for _, l := range inv.Lines.Data {
		lines = append(lines, l.Amount)
	}
	if inv.Status != "open" || inv.AmountDue != 259 || inv.CollectionMethod != "send_invoice" || inv.HostedInvoiceURL == "" {
		t.Errorf("invoice = status %s, due %d, %s", inv.Status, inv.AmountDue, inv.CollectionMethod)
	}
	if diff := cmp.Diff([]int64{400, 350, 9, -500}, lines); diff != "" {
		t.Errorf("invoice lines (-want +got):\n%s", diff)
	}
	if got.Body["finalInvoice"].(map[string]any)["hostedInvoiceUrl"] != inv.HostedInvoiceURL {
		t.Errorf("answer's invoice = %v", got.Body["finalInvoice"])
	}
	d, status := e.state(t, "u1")
	if status != closing.AccountPendingDeletion || e.balance(t, "u1") != 0 {
		t.Errorf("account %q, balance %d; want pending_deletion and 0", status, e.balance(t, "u1"))
	}
	if got := userIDs(t, e.received(closing.TopicDeletionRequested, 2*time.Second)); !cmp.Equal(got, []string{"u1"}) {
		t.Errorf("account-deletion-requested for %v, want [u1] once", got)
	}

	e.payFinalInvoice(t, d.InvoiceID)
	d, status = e.state(t, "u1")
	if d.State != closing.StateDeleted || status != closing.AccountDeleted {
		t.Fatalf("after payment: deletion %q, account %q", d.State, status)
	}
	if got := userIDs(t, e.received(closing.TopicDeleted, 2*time.Second)); !cmp.Equal(got, []string{"u1"}) {
		t.Errorf("account-deleted for %v, want [u1] once", got)
	}
	if pms := e.Stripe.PaymentMethods(acct.CustomerID); len(pms) != 0 {
		t.Errorf("%d cards still attached, want none", len(pms))
	}
}

// A balance larger than the usage: no invoice; the rest goes back to the
// cards, newest top-up first; the account is deleted at once.
func TestBalanceLargerThanUsageIsRefunded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	older := e.fund(t, "u1", 1200)
	e.clock = e.clock.Add(time.Second)
	newer := e.fund(t, "u1", 800)
	e.useOneMonth(t, "u1")

	check := e.check(t, "u1")
	wantRefunds := []any{
		map[string]any{"paymentIntentId": newer, "amount": 800.0},
		map[string]any{"paymentIntentId": older, "amount": 441.0},
	}
	var gotRefunds []any
	for _, r := range check.Body["refunds"].([]any) {
		m := r.(map[string]any)
		gotRefunds = append(gotRefunds, map[string]any{"paymentIntentId": m["paymentIntentId"], "amount": m["amount"]})
	}
	if diff := cmp.Diff(wantRefunds, gotRefunds); diff != "" || check.Body["remainingBalance"] != 1241.0 || check.Body["finalAmountDue"] != 0.0 {
		t.Fatalf("check refunds (-want +got):\n%s\n%s", diff, check.Raw)
	}

	got := e.request(t, "u1")
	if got.Status != 200 || got.Body["state"] != closing.StateDeleted || got.Body["finalInvoice"] != nil {
		t.Fatalf("request: %d %s", got.Status, got.Raw)
	}
	if n := len(e.Stripe.Invoices()); n != 0 {
		t.Errorf("%d invoices, want none", n)
	}
	refunded := map[string]int64{}
	for _, r := range e.Stripe.Refunds() {
		refunded[r.PaymentIntent.ID] += r.Amount
	}
	if diff := cmp.Diff(map[string]int64{newer: 800, older: 441}, refunded); diff != "" {
		t.Errorf("refunds in Stripe (-want +got):\n%s", diff)
	}
	// Stripe then reports our own refunds: they were debited already.
	for _, ev := range e.Stripe.Events() {
		if ev.Type == "charge.refunded" {
			if got := testenv.Do(t, e.hook, testenv.WebhookRequest(ev.Payload, testenv.WebhookSecret)); got.Body["result"] != ledger.ResultUnchanged {
				t.Errorf("charge.refunded for our own refund: %s, want unchanged", got.Raw)
			}
		}
	}
	if b := e.balance(t, "u1"); b != 0 {
		t.Errorf("balance = %d, want 0", b)
	}
	if _, status := e.state(t, "u1"); status != closing.AccountDeleted {
		t.Errorf("account = %q, want deleted", status)
	}
	if got := userIDs(t, e.received(closing.TopicDeleted, 2*time.Second)); !cmp.Equal(got, []string{"u1"}) {
		t.Errorf("account-deleted for %v, want [u1] once", got)
	}
	// The ledger says where the money went.
	page, _ := e.Ledger.History(context.Background(), "u1", 20, "")
	sum := map[string]int64{}
	for _, tx := range page.Transactions {
		sum[tx.Type] += tx.Amount
	}
	if diff := cmp.Diff(map[string]int64{ledger.TypeCardTopUp: 2000, ledger.TypeUsageCharge: -759, ledger.TypeRefund: -1241}, sum); diff != "" {
		t.Errorf("ledger by type (-want +got):\n%s", diff)
	}
}

// Package credit cannot go back to a card: the check says so, and the
// ledger records it as forfeited.
func TestNonRefundableCreditIsForfeitedOpenly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	started, err := e.Checkout.Start(context.Background(), checkout.Payment{UserID: "u1", Type: ledger.TypePackagePurchase,
		Charge: 1000, Credit: 1500, Currency: "usd", PackageID: "partner"})
	if err != nil {
		t.Fatal(err)
	}
	e.Stripe.SucceedPaymentIntent(started.Intent.ID)
	ev, _ := e.Stripe.LastEvent("payment_intent.succeeded", started.Intent.ID)
	testenv.Do(t, e.hook, testenv.WebhookRequest(ev.Payload, testenv.WebhookSecret))
	e.useOneMonth(t, "u1")

	check := e.check(t, "u1")
	if check.Body["forfeitedBalance"] != 741.0 || check.Body["canDelete"] != true || len(check.Body["reasons"].([]any)) != 1 {
		t.Fatalf("check: %s", check.Raw)
	}
	if got := e.request(t, "u1"); got.Body["state"] != closing.StateDeleted || got.Body["forfeitedBalance"] != 741.0 {
		t.Fatalf("request: %s", got.Raw)
	}
	if b := e.balance(t, "u1"); b != 0 {
		t.Errorf("balance = %d, want 0", b)
	}
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

	got := e.call(t, e.srv.Cancel(), http.MethodPost, "/CancelDeletion", "u1")
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
	if got := e.call(t, e.srv.Cancel(), http.MethodPost, "/CancelDeletion", "u1"); got.Status != http.StatusNotFound || got.ErrorCode() != "no_pending_deletion" {
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
