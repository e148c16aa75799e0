package flows_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v76"

	fdeletion "example.com/billing/functions/deletion"
	"example.com/billing/functions/webhook"
	"example.com/billing/shared/checkout"
	"example.com/billing/shared/closing"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/testenv"
)

// env is the deletion functions and the webhook on the production graph (testenv.Closing).
type env struct {
	*testenv.Closing
	srv  *fdeletion.Server
	hook http.Handler
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := testenv.NewClosing(t)
	e := &env{Closing: c, srv: fdeletion.NewServer(c.Verifier, c.Deletions)}
	e.hook = webhook.NewServer([]string{testenv.WebhookSecret}, c.Ledger, c.Deletions, c.Services.InvoiceCredits, c.Payments)
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

func (e *env) balance(t *testing.T, userID string) int64 {
	t.Helper()
	b, err := e.Ledger.Balance(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return b.Amount
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
			e.UseOneMonth(t, "u1")
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
			d, status := e.State(t, "u1")
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
	e.UseOneMonth(t, "u1")
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
	d, status := e.State(t, "u1")
	if status != closing.AccountPendingDeletion || e.balance(t, "u1") != 0 {
		t.Errorf("account %q, balance %d; want pending_deletion and 0", status, e.balance(t, "u1"))
	}
	if got := testenv.UserIDs(t, e.Received(closing.TopicDeletionRequested, 2*time.Second)); !cmp.Equal(got, []string{"u1"}) {
		t.Errorf("account-deletion-requested for %v, want [u1] once", got)
	}

	e.payFinalInvoice(t, d.InvoiceID)
	d, status = e.State(t, "u1")
	if d.State != closing.StateDeleted || status != closing.AccountDeleted {
		t.Fatalf("after payment: deletion %q, account %q", d.State, status)
	}
	if got := testenv.UserIDs(t, e.Received(closing.TopicDeleted, 2*time.Second)); !cmp.Equal(got, []string{"u1"}) {
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
	e.Clock = e.Clock.Add(time.Second)
	newer := e.fund(t, "u1", 800)
	e.UseOneMonth(t, "u1")

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
	if _, status := e.State(t, "u1"); status != closing.AccountDeleted {
		t.Errorf("account = %q, want deleted", status)
	}
	if got := testenv.UserIDs(t, e.Received(closing.TopicDeleted, 2*time.Second)); !cmp.Equal(got, []string{"u1"}) {
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
	e.UseOneMonth(t, "u1")

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
