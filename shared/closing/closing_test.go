package closing_test

import (
	"context"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/stripe/stripe-go/v76"

	"example.com/billing/shared/checkout"
	"example.com/billing/shared/closing"
	"example.com/billing/shared/fault"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/metering"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/settlement"
	"example.com/billing/shared/testsupport/stripetest"
	"example.com/billing/shared/testsupport/testenv"
)

// tbMonth is one TB stored for a month: 400 cents at the list price.
var tbMonth = new(big.Rat).SetInt64(720_000_000_000_000)

type env struct {
	*testenv.Billing
	d *closing.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	b := testenv.NewBilling(t)
	b.Topics(t)
	return &env{Billing: b, d: b.Services.Deletions}
}

// report stores one usage report of 1 TB-month for the hour at start.
func (e *env) report(t *testing.T, id string, start time.Time) {
	t.Helper()
	if _, err := e.Services.Usage.Save(context.Background(), metering.Report{
		ReportID: id, UserID: "u1", ProjectID: "p1", PeriodStart: start, PeriodEnd: start.Add(time.Hour),
		StorageByteHours: tbMonth, EgressBytes: new(big.Rat), SegmentHours: new(big.Rat),
	}); err != nil {
		t.Fatal(err)
	}
}

// requestFailingAt records a deletion of u1 whose first advance fails at
// point, the failure recorded.
func (e *env) requestFailingAt(t *testing.T, point string) {
	t.Helper()
	ctx := fault.With(context.Background(), fault.New().Fail(point, 1))
	if _, err := e.d.Request(ctx, "u1", "u1@example.com"); err != nil && !errors.Is(err, fault.ErrInjected) {
		t.Fatal(err)
	}
}

func (e *env) deletion(t *testing.T) closing.Deletion {
	t.Helper()
	d, err := e.d.Get(context.Background(), nil, "u1")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *env) finalInvoices(t *testing.T) (n int, statuses []string) {
	t.Helper()
	for _, inv := range e.Stripe.Invoices() {
		if inv.Metadata["kind"] == "final_invoice" {
			n++
			statuses = append(statuses, string(inv.Status))
		}
	}
	return n, statuses
}

// requestStoppingAt records a deletion of u1 whose first advance dies at
// point (the process is gone: no failure is recorded).
func (e *env) requestStoppingAt(t *testing.T, point string) {
	t.Helper()
	e.requestFailingAt(t, point)
	// A crash records nothing: clear what the failed step noted.
	if _, err := e.FS.Collection("deletions").Doc("u1").Update(context.Background(), []firestore.Update{
		{Path: "attempts", Value: 0}, {Path: "lastError", Value: firestore.Delete},
	}); err != nil {
		t.Fatal(err)
	}
}

// An attempt that made the final invoice and died before recording anything
// (no recorded failure), retried after Stripe forgot the idempotency key,
// finds that invoice instead of billing the usage a second time.
func TestFinalInvoiceIsLookedUpAfterACrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.report(t, "r1", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	e.requestStoppingAt(t, fault.DeletionAfterDraft)
	if n, _ := e.finalInvoices(t); n != 1 {
		t.Fatalf("%d final invoices after the crash, want the 1 draft", n)
	}
	e.Stripe.Advance(25 * time.Hour)
	if err := e.d.Advance(context.Background(), "u1"); err != nil {
		t.Fatal(err)
	}
	if n, statuses := e.finalInvoices(t); n != 1 || statuses[0] != "open" {
		t.Errorf("final invoices = %d %v, want the one invoice, sent", n, statuses)
	}
	if d := e.deletion(t); d.State != closing.StateAwaitingPayment || d.InvoiceID == "" {
		t.Errorf("deletion = %s (invoice %q), want awaiting_payment with its invoice", d.State, d.InvoiceID)
	}
}

// A look-up that fails is a failed step to retry, never a reason to create
// the invoice blind.
func TestFinalInvoiceLookupFailureIsRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.report(t, "r1", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	e.requestFailingAt(t, fault.DeletionAfterDraft)
	e.Stripe.Advance(25 * time.Hour)
	e.Stripe.FailNext(3, http.StatusInternalServerError) // the search, and stripe-go's two retries
	if err := e.d.Advance(context.Background(), "u1"); err == nil {
		t.Fatal("Advance succeeded although the look-up failed")
	}
	if n, _ := e.finalInvoices(t); n != 1 {
		t.Errorf("%d final invoices after a failed look-up, want 1", n)
	}
	if d := e.deletion(t); d.State != closing.StateInvoicing || d.Attempts != 2 || d.NextAttemptAt == nil {
		t.Errorf("deletion = %+v, want still invoicing with the failure recorded for the sweep", d)
	}
	if err := e.d.Advance(context.Background(), "u1"); err != nil {
		t.Fatal(err)
	}
	if n, statuses := e.finalInvoices(t); n != 1 || statuses[0] != "open" {
		t.Errorf("final invoices = %d %v, want the one invoice, sent", n, statuses)
	}
}

// Canceled while its final invoice was a draft: the invoice is still made
// and sent (it bills usage that happened), recorded on the canceled
// deletion, and once paid nothing blocks a new request, which bills nothing
// twice.
func TestCancelDuringInvoicingLeavesNothingThatBlocks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.report(t, "r1", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	e.requestStoppingAt(t, fault.DeletionAfterDraft)
	d, err := e.d.Cancel(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if d.State != closing.StateCanceled || d.InvoiceID == "" || d.NextAttemptAt != nil {
		t.Fatalf("canceled deletion = %+v, want canceled with its final invoice recorded and nothing owed", d)
	}
	n, statuses := e.finalInvoices(t)
	if n != 1 || statuses[0] != "open" {
		t.Fatalf("final invoices = %d %v, want one open invoice the user can pay (never a draft)", n, statuses)
	}
	check, err := e.d.Check(ctx, "u1", "u1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(check.UnpaidInvoices) != 1 || check.UnpaidInvoices[0].HostedInvoiceURL == "" {
		t.Errorf("unpaid invoices = %+v, want the final invoice with a page to pay it", check.UnpaidInvoices)
	}
	if _, err := e.Stripe.PayInvoice(d.InvoiceID); err != nil {
		t.Fatal(err)
	}
	again, err := e.d.Request(ctx, "u1", "u1@example.com")
	if err != nil {
		t.Fatalf("a new request after paying the canceled deletion's invoice: %v", err)
	}
	if again.Request != 2 || again.UsageAmount != 0 {
		t.Errorf("second deletion = %+v, want request 2 billing no usage (it was on the first invoice)", again)
	}
	if n, _ := e.finalInvoices(t); n != 1 {
		t.Errorf("%d final invoices, want still 1", n)
	}
}

// Usage is billed by when it was received: a report for an early period
// that arrives after a deletion was requested (and canceled) is on the next
// bill, not lost.
func TestLateUsageIsBilledByTheNextBill(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	nov := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	e.report(t, "r-nov-10", nov.Add(10*24*time.Hour))
	first, err := e.d.Request(ctx, "u1", "u1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if first.UsageAmount != 400 || first.InvoiceID == "" {
		t.Fatalf("first deletion = %+v, want 400 cents invoiced", first)
	}
	if _, err := e.d.Cancel(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Stripe.PayInvoice(first.InvoiceID); err != nil {
		t.Fatal(err)
	}
	// The satellite reports an earlier day late.
	e.report(t, "r-nov-02-late", nov.Add(24*time.Hour))
	check, err := e.d.Check(ctx, "u1", "u1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if check.CurrentUsage.Amount != 400 || !check.CurrentUsage.PeriodStart.Equal(nov.Add(24*time.Hour)) {
		t.Errorf("current usage = %+v, want the late report's 400 cents and period", check.CurrentUsage)
	}
	second, err := e.d.Request(ctx, "u1", "u1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if second.UsageAmount != 400 || second.InvoiceAmount != 400 {
		t.Errorf("second deletion = %+v, want the late 400 cents billed", second)
	}
	// Nothing is billed twice: after this bill, nothing is left.
	if check, err := e.d.Check(ctx, "u1", "u1@example.com"); err != nil || check.CurrentUsage.Amount != 0 {
		t.Errorf("usage after the second bill = %+v, %v; want none", check.CurrentUsage, err)
	}
}

// A negative balance (a payment charged back after its credit was spent)
// is billed on the final invoice, and the ledger is brought to zero: closing
// never forgives it.
func TestNegativeBalanceIsBilledOnTheFinalInvoice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.report(t, "r1", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err := e.FS.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		return e.Ledger.Record(tx, ledger.Transaction{ID: "chargeback_1", UserID: "u1", Type: ledger.TypeDispute, Amount: -300, Status: ledger.StatusSucceeded})
	}); err != nil {
		t.Fatal(err)
	}
	d, err := e.d.Request(ctx, "u1", "u1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if d.UsageAmount != 400 || d.InvoiceAmount != 700 || d.State != closing.StateAwaitingPayment {
		t.Errorf("deletion = usage %d, invoice %d, %s; want 400 of usage and 700 invoiced, awaiting payment", d.UsageAmount, d.InvoiceAmount, d.State)
	}
	inv := e.Stripe.Invoices()
	if len(inv) != 1 || inv[0].Total != 700 {
		t.Fatalf("invoices = %v, want one of 700", inv)
	}
	if b, err := e.Ledger.Balance(ctx, "u1"); err != nil || b.Amount != 0 {
		t.Errorf("balance after the request = %d, %v; want 0 (the debt is on the invoice)", b.Amount, err)
	}
}

// An attempt that finalized the final invoice and died before Stripe sent
// it: the retry sends it (nothing else ever would), and records it.
func TestFinalizedButUnsentInvoiceIsSent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.report(t, "r1", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	e.requestStoppingAt(t, fault.DeletionAfterDraft)
	drafts := e.Stripe.Invoices()
	if len(drafts) != 1 {
		t.Fatalf("%d invoices, want the draft", len(drafts))
	}
	params := &stripe.InvoiceFinalizeInvoiceParams{AutoAdvance: stripe.Bool(false)}
	if _, err := e.Stripe.Client().Invoices.FinalizeInvoice(drafts[0].ID, params); err != nil {
		t.Fatal(err)
	}
	sends := func() (n int) {
		for _, r := range e.Stripe.Requests() {
			if r.Method == http.MethodPost && r.Path == "/v1/invoices/"+drafts[0].ID+"/send" {
				n++
			}
		}
		return n
	}
	if n := sends(); n != 0 {
		t.Fatalf("%d sends before the retry", n)
	}
	if err := e.d.Advance(context.Background(), "u1"); err != nil {
		t.Fatal(err)
	}
	if n := sends(); n != 1 {
		t.Errorf("the finalized invoice was sent %d times, want once", n)
	}
	if d := e.deletion(t); d.State != closing.StateAwaitingPayment || d.InvoiceID != drafts[0].ID {
		t.Errorf("deletion = %s (invoice %q), want awaiting_payment with %s", d.State, d.InvoiceID, drafts[0].ID)
	}
}

// fund credits a paid card top-up of amount to u1, as the webhook would.
func (e *env) fund(t *testing.T, amount int64) string {
	t.Helper()
	ctx := context.Background()
	started, err := e.Checkout.Start(ctx, checkout.Payment{UserID: "u1", Email: "u1@example.com", Type: ledger.TypeCardTopUp,
		Charge: amount, Credit: amount, Currency: ledger.Currency})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Stripe.SucceedPaymentIntent(started.Intent.ID); err != nil {
		t.Fatal(err)
	}
	pi, err := e.Payments.GetPaymentIntent(ctx, started.Intent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Ledger.Process(ctx, ledger.Event{ID: "evt_paid_" + pi.ID, Type: "payment_intent.succeeded"},
		e.Ledger.SettleTopUp(settlement.Payment(pi, ledger.StatusSucceeded))); err != nil {
		t.Fatal(err)
	}
	return pi.ID
}

// A refund Stripe refuses for good (here the charge was refunded in the
// dashboard and the webhook never came) cannot loop the deletion forever:
// the refund is recorded failed with Stripe's code for an operator, and the
// account is deleted.
func TestRefusedRefundEndsTheDeletionForAnOperator(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pi := e.fund(t, 2500)
	if _, err := e.Stripe.Client().Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi)}); err != nil {
		t.Fatal(err)
	}
	d, err := e.d.Request(ctx, "u1", "u1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if d.State != closing.StateDeleted || len(d.Refunds) != 1 || d.Refunds[0].FailureCode != "charge_already_refunded" || d.Refunds[0].RefundID != "" {
		t.Fatalf("deletion = %s %+v, want deleted with the refund recorded as refused (charge_already_refunded)", d.State, d.Refunds)
	}
	entry, err := e.Ledger.Transaction(ctx, "u1", d.Refunds[0].EntryID)
	if err != nil || entry.Status != ledger.StatusFailed || entry.FailureCode != "charge_already_refunded" {
		t.Errorf("refund entry = %+v, %v; want failed with Stripe's code", entry, err)
	}
	if n := len(e.Stripe.Refunds()); n != 1 {
		t.Errorf("%d refunds in Stripe, want only the dashboard's", n)
	}
}

// A deletion refund made by an attempt that died before recording it is
// found, not made again, also after Stripe forgot the idempotency key.
func TestDeletionRefundIsLookedUpAfterACrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.fund(t, 2500)
	e.report(t, "r1", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) // 400 of usage: 2100 goes back
	e.requestStoppingAt(t, fault.DeletionAfterRefund)
	if n := len(e.Stripe.Refunds()); n != 1 {
		t.Fatalf("%d refunds after the crash, want 1", n)
	}
	e.Stripe.Advance(25 * time.Hour)
	if err := e.d.Advance(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	refunds := e.Stripe.Refunds()
	d := e.deletion(t)
	if len(refunds) != 1 || d.State != closing.StateDeleted || d.Refunds[0].RefundID != refunds[0].ID || d.Refunds[0].FailureCode != "" {
		t.Errorf("refunds = %d, deletion = %s %+v; want the one refund found and recorded, the account deleted", len(refunds), d.State, d.Refunds)
	}
}

// An attempt that added some lines of the final invoice and died: the retry,
// after Stripe forgot the lines' keys, adds only the missing ones.
func TestFinalInvoiceLinesAreLookedUpAfterACrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	halfTB := new(big.Rat).SetInt64(500_000_000_000)
	if _, err := e.Services.Usage.Save(ctx, metering.Report{
		ReportID: "r1", UserID: "u1", ProjectID: "p1", PeriodStart: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		PeriodEnd: time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC), StorageByteHours: tbMonth, EgressBytes: halfTB, SegmentHours: new(big.Rat),
	}); err != nil {
		t.Fatal(err)
	}
	e.requestStoppingAt(t, fault.DeletionAfterLine) // dies after the storage line
	if inv := e.Stripe.Invoices(); len(inv) != 1 || inv[0].Total != 400 {
		t.Fatalf("after the crash: %v, want one draft with the 400 storage line", inv)
	}
	e.Stripe.Advance(25 * time.Hour)
	if err := e.d.Advance(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	inv := e.Stripe.Invoices()
	if len(inv) != 1 || inv[0].Total != 750 || len(inv[0].Lines.Data) != 2 {
		t.Errorf("final invoice = %d invoices, total %d; want one invoice of 750 (400 storage + 350 egress), two lines", len(inv), inv[0].Total)
	}
}

// A declined top-up's PaymentIntent could still be paid with another card;
// starting a deletion cancels it, so no payment lands on the closing account.
func TestDeletionCancelsEveryIntentThatCouldStillBePaid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.Checkout.Start(ctx, checkout.Payment{UserID: "u1", Email: "u1@example.com", Type: ledger.TypeCardTopUp,
		Charge: 2500, Credit: 2500, Currency: ledger.Currency, PaymentMethodID: "pm_card_chargeDeclined"})
	if !errors.Is(err, payments.ErrCardDeclined) {
		t.Fatalf("start: %v, want a declined card", err)
	}
	pis := e.Stripe.PaymentIntents()
	if len(pis) != 1 || pis[0].Status != stripe.PaymentIntentStatusRequiresPaymentMethod {
		t.Fatalf("intents = %v, want one the user could still pay", pis)
	}
	if _, err := e.d.Request(ctx, "u1", "u1@example.com"); err != nil {
		t.Fatal(err)
	}
	if pi, _ := e.Stripe.PaymentIntent(pis[0].ID); pi.Status != stripe.PaymentIntentStatusCanceled {
		t.Errorf("the declined top-up's intent is %s after the deletion request, want canceled", pi.Status)
	}
}

// Refunds at deletion go only to charges that can take them: a charged-back
// top-up refuses refunds (charge_disputed), so the balance goes back to the
// other card, in full.
func TestDeletionRefundsSkipChargedBackTopUps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	older := e.fund(t, 2500)
	newer := e.fund(t, 1000)
	if _, err := e.Stripe.OpenDispute(newer, 0, false); err != nil {
		t.Fatal(err)
	}
	for _, sev := range e.Stripe.Events() {
		if !strings.HasPrefix(sev.Type, "charge.dispute.") {
			continue
		}
		ev, err := payments.VerifyEvent(sev.Payload, stripetest.SignatureHeader(sev.Payload, testenv.WebhookSecret, time.Now()), []string{testenv.WebhookSecret})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Services.Events.Apply(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := e.Ledger.Balance(ctx, "u1"); err != nil || b.Amount != 2500 {
		t.Fatalf("balance after the chargeback = %d, %v; want 2500", b.Amount, err)
	}
	d, err := e.d.Request(ctx, "u1", "u1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if d.State != closing.StateDeleted || len(d.Refunds) != 1 || d.Refunds[0].PaymentIntentID != older || d.Refunds[0].Amount != 2500 || d.Refunds[0].RefundID == "" {
		t.Errorf("deletion = %s %+v; want deleted, 2500 refunded to the card that was not charged back", d.State, d.Refunds)
	}
}
