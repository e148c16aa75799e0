package closing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/billing/shared/closing"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/store"
	"example.com/billing/shared/testsupport/stripetest"
	"example.com/billing/shared/testsupport/testenv"
)

// Reports arriving late, after a deletion was planned or done: the books
// of a deleted account end at zero whatever comes.

// deliver applies, through the webhook's dispatch, every event Stripe
// recorded from the from-th on whose type starts with prefix, and returns
// how many events Stripe has recorded.
func (e *env) deliver(t *testing.T, from int, prefix string) int {
	t.Helper()
	all := e.Stripe.Events()
	for _, sev := range all[from:] {
		if !strings.HasPrefix(sev.Type, prefix) {
			continue
		}
		ev, err := payments.VerifyEvent(sev.Payload, stripetest.SignatureHeader(sev.Payload, testenv.WebhookSecret, time.Now()), []string{testenv.WebhookSecret})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Services.Events.Apply(context.Background(), ev); err != nil {
			t.Fatalf("apply %s: %v", sev.Type, err)
		}
	}
	return len(all)
}

func (e *env) balance(t *testing.T) int64 {
	t.Helper()
	b, err := e.Ledger.Balance(context.Background(), "u1")
	if err != nil {
		t.Fatal(err)
	}
	return b.Amount
}

// entries sums the user's ledger entries of type typ.
func (e *env) entries(t *testing.T, typ string) (n int, sum int64) {
	t.Helper()
	snaps, err := store.UnderAccount(e.FS, "u1", ledger.TransactionsCollection).Where("type", "==", typ).Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps {
		sum += s.Data()["amount"].(int64)
	}
	return len(snaps), sum
}

// A refund made in the Dashboard whose charge.refunded had not arrived when
// the deletion was planned: Stripe refuses the planned refund as larger
// than what the charge has left; the deletion refunds what is left, ends,
// and the late event changes nothing. The card got the whole balance back.
func TestDeletionRefundsWhatIsLeftAfterAnUnreportedRefund(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pi := e.fund(t, 2500)
	seen := len(e.Stripe.Events())
	if _, err := e.Stripe.Client().Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi), Amount: stripe.Int64(1000)}); err != nil {
		t.Fatal(err)
	}
	d, err := e.d.Request(ctx, "u1", "u1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if d.State != closing.StateDeleted || len(d.Refunds) != 1 || d.Refunds[0].RefundID == "" || d.Refunds[0].FailureCode != "" ||
		d.Refunds[0].Amount != 2500 || d.Refunds[0].Refunded != 1500 {
		t.Fatalf("deletion = %s %+v; want deleted, 2500 planned, the 1500 left refunded", d.State, d.Refunds)
	}
	var refunded int64
	for _, r := range e.Stripe.Refunds() {
		refunded += r.Amount
	}
	if refunded != 2500 {
		t.Errorf("Stripe refunded %d in all, want the whole 2500", refunded)
	}
	e.deliver(t, seen, "charge.refunded")
	if got := e.balance(t); got != 0 {
		t.Errorf("balance after the late events = %d, want 0", got)
	}
	if n, _ := e.entries(t, ledger.TypeWrittenOff); n != 0 {
		t.Errorf("%d written_off entries, want none: nothing was lost", n)
	}
}

// A refund reported while the account is closing (after the deletion was
// planned, before it ends) takes the balance below zero; the final invoice
// is already out, so the deletion writes the debt off as it deletes the
// account, in the same commit.
func TestReversalDuringClosingIsWrittenOffAtTheEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pi := e.fund(t, 1000)
	for i, day := range []int{1, 2, 3} {
		e.report(t, "r"+string(rune('1'+i)), time.Date(2026, 11, day, 0, 0, 0, 0, time.UTC))
	}
	d, err := e.d.Request(ctx, "u1", "u1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if d.State != closing.StateAwaitingPayment || d.InvoiceAmount != 200 {
		t.Fatalf("deletion = %s, invoice %d; want awaiting payment of 200 (1200 of usage, 1000 from the balance)", d.State, d.InvoiceAmount)
	}
	seen := len(e.Stripe.Events())
	if _, err := e.Stripe.Client().Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi), Amount: stripe.Int64(300)}); err != nil {
		t.Fatal(err)
	}
	seen = e.deliver(t, seen, "charge.refunded")
	if got := e.balance(t); got != -300 {
		t.Fatalf("balance of the closing account after the refund = %d, want -300", got)
	}
	if _, err := e.Stripe.PayInvoice(d.InvoiceID); err != nil {
		t.Fatal(err)
	}
	e.deliver(t, seen, "invoice.paid")
	if d := e.deletion(t); d.State != closing.StateDeleted {
		t.Fatalf("deletion = %s, want deleted", d.State)
	}
	if got := e.balance(t); got != 0 {
		t.Errorf("deleted account's balance = %d, want 0", got)
	}
	off, err := e.Ledger.Transaction(ctx, "u1", "del_1_written_off")
	if err != nil || off.Amount != 300 || off.Type != ledger.TypeWrittenOff {
		t.Errorf("write-off = %+v, %v; want +300 written_off", off, err)
	}
}

// A chargeback of an account already deleted withdraws money it no longer
// holds: the debt is written off in the withdrawal's own commit, and a won
// dispute takes the write-off back the same way. The balance never leaves
// zero.
func TestChargebackAfterDeletionIsWrittenOffInItsCommit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pi := e.fund(t, 2500)
	for i := range 6 { // 2400 of usage: 100 goes back to the card
		e.report(t, "r"+string(rune('a'+i)), time.Date(2026, 11, 1+i, 0, 0, 0, 0, time.UTC))
	}
	if d, err := e.d.Request(ctx, "u1", "u1@example.com"); err != nil || d.State != closing.StateDeleted {
		t.Fatalf("deletion = %+v, %v; want deleted at once", d, err)
	}
	seen := len(e.Stripe.Events())
	id, err := e.Stripe.OpenDispute(pi, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	seen = e.deliver(t, seen, "charge.dispute.")
	if got := e.balance(t); got != 0 {
		t.Errorf("balance after the chargeback = %d, want 0", got)
	}
	withdrawal, err := e.Ledger.Transaction(ctx, "u1", "dispute_"+id)
	if err != nil || withdrawal.Amount != -2400 {
		t.Fatalf("withdrawal = %+v, %v; want -2400 (the 100 refunded at deletion is not taken twice)", withdrawal, err)
	}
	off, err := e.Ledger.Transaction(ctx, "u1", "written_off_dispute_"+id)
	if err != nil || off.Amount != 2400 {
		t.Fatalf("write-off = %+v, %v; want +2400", off, err)
	}
	// One commit: the write-off and the withdrawal were written together.
	updated := func(path string) time.Time {
		snap, err := store.UnderAccount(e.FS, "u1", ledger.TransactionsCollection).Doc(path).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return snap.UpdateTime
	}
	if a, b := updated("dispute_"+id), updated("written_off_dispute_"+id); !a.Equal(b) {
		t.Errorf("withdrawal written at %v, its write-off at %v: not one commit", a, b)
	}

	if err := e.Stripe.CloseDispute(id, true); err != nil {
		t.Fatal(err)
	}
	e.deliver(t, seen, "charge.dispute.")
	if got := e.balance(t); got != 0 {
		t.Errorf("balance after the dispute was won = %d, want 0", got)
	}
	if n, sum := e.entries(t, ledger.TypeWrittenOff); n != 2 || sum != 0 {
		t.Errorf("written_off entries = %d summing to %d, want 2 summing to 0 (the debt and its recovery)", n, sum)
	}
}
