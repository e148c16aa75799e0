package ledger_test

import (
	"context"
	"testing"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/ledger"
	"example.com/billing/shared/store"
	"example.com/billing/shared/testsupport/testenv"
)

// The processed-event record is written in the same commit as the
// event's effect: the record, the top-up and the balance (and, for a
// reversal, its entry) share one update time, which a record written in a
// commit of its own could not.
func TestEventRecordCommitsWithItsEffect(t *testing.T) {
	t.Parallel()
	fs := testenv.Firestore(t)
	l := ledger.New(fs)
	ctx := context.Background()
	topUp(t, l, "u1", "tx1", 5000)
	updated := func(ref *firestore.DocumentRef) string {
		t.Helper()
		snap, err := ref.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return snap.UpdateTime.String()
	}
	cases := []struct {
		event  ledger.Event
		effect ledger.Effect
		docs   []*firestore.DocumentRef // written by the effect
	}{
		{event: ledger.Event{ID: "evt_paid", Type: "payment_intent.succeeded"}, effect: l.SettleTopUp(succeeded("u1", "tx1", 5000)),
			docs: []*firestore.DocumentRef{store.UnderAccount(fs, "u1", ledger.TransactionsCollection).Doc("tx1"), fs.Collection(ledger.BalancesCollection).Doc("u1")}},
		{event: ledger.Event{ID: "evt_refund", Type: "charge.refunded"},
			effect: l.RefundCharge(ledger.ChargeRefund{PaymentIntentID: "pi_tx1", AmountRefunded: 1500, AmountCaptured: 5000, Currency: ledger.Currency}),
			docs: []*firestore.DocumentRef{store.UnderAccount(fs, "u1", ledger.TransactionsCollection).Doc("tx1"),
				store.UnderAccount(fs, "u1", ledger.TransactionsCollection).Doc("refund_tx1_1500"), fs.Collection(ledger.BalancesCollection).Doc("u1")}},
	}
	for _, tc := range cases {
		if out, err := l.Process(ctx, tc.event, tc.effect); err != nil || out.Result != ledger.ResultApplied {
			t.Fatalf("%s: %+v, %v", tc.event.ID, out, err)
		}
		record := updated(fs.Collection(ledger.EventsCollection).Doc(tc.event.ID))
		for _, ref := range tc.docs {
			if got := updated(ref); got != record {
				t.Errorf("%s: %s updated at %s, its event record at %s: not one commit", tc.event.ID, ref.Path, got, record)
			}
		}
	}
	if got := balance(t, l, "u1"); got != 3500 {
		t.Errorf("balance = %d, want 3500", got)
	}
}
