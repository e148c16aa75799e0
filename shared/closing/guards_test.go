package closing_test

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/closing"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/payments"
)

// invoice.paid moves a deletion on only for its own final invoice: one
// naming another deletion (an earlier, canceled request) changes nothing.
func TestInvoicePaidOfAnotherDeletionChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.report(t, "r1", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	d, err := e.d.Request(ctx, "u1", "u1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if d.State != closing.StateAwaitingPayment {
		t.Fatalf("deletion = %s, want awaiting_payment", d.State)
	}
	other := payments.Invoice{ID: "in_other", Status: payments.InvoicePaid, Metadata: map[string]string{
		payments.MetadataUserID: "u1", payments.MetadataKind: payments.KindFinalInvoice, payments.MetadataDeletion: d.InvoiceKey() + "_other"}}
	out, err := e.Ledger.Process(ctx, ledger.Event{ID: "evt_other_paid", Type: "invoice.paid"}, e.d.InvoicePaid(other))
	if err != nil {
		t.Fatal(err)
	}
	if out.Result != ledger.ResultUnmatched {
		t.Errorf("result = %s (%s), want unmatched", out.Result, out.Detail)
	}
	if got := e.deletion(t); got.State != closing.StateAwaitingPayment || got.InvoiceID != d.InvoiceID {
		t.Errorf("deletion = %s (invoice %s), want still awaiting_payment on %s", got.State, got.InvoiceID, d.InvoiceID)
	}
}

// FinishReturns makes the refunds a dead process left pending for payments
// to closing accounts (returned_*), and only those: a deletion's own
// pending refund is its state machine's to make.
func TestFinishReturnsMakesOnlyPendingReturns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	returned, deletions := e.fund(t, 2500), e.fund(t, 1000)
	entries := []ledger.Transaction{
		{ID: ledger.ReturnEntryPrefix + "tx_late", UserID: "u1", Type: ledger.TypeRefund, Amount: -2500, Status: ledger.StatusPending, PaymentIntentID: returned},
		{ID: "del_1_refund_0", UserID: "u1", Type: ledger.TypeRefund, Amount: -1000, Status: ledger.StatusPending, PaymentIntentID: deletions},
	}
	if err := e.FS.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		for _, entry := range entries {
			if err := e.Ledger.Record(tx, entry); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.d.FinishReturns(ctx, 10); err != nil || n != 1 {
		t.Errorf("FinishReturns = %d, %v; want 1 finished", n, err)
	}
	for _, want := range []struct {
		id, status string
	}{{entries[0].ID, ledger.StatusSucceeded}, {entries[1].ID, ledger.StatusPending}} {
		got, err := e.Ledger.Transaction(ctx, "u1", want.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != want.status || (want.status == ledger.StatusSucceeded) != (got.RefundID != "") {
			t.Errorf("entry %s = %s (refund %q), want %s", want.id, got.Status, got.RefundID, want.status)
		}
	}
}
