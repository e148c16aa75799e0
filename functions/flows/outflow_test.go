package flows_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/stripe/stripe-go/v76"

	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/stripetest"
	"example.com/billing/shared/testsupport/testenv"
)

// paid tops u1 up by amount and delivers the success.
func (s *stack) paid(t *testing.T, amount int64) string {
	t.Helper()
	piID := s.topUp(t, "u1", amount)
	s.deliver(t, s.pay(t, piID).Payload)
	return piID
}

func (s *stack) balanceAmount(t *testing.T) float64 {
	t.Helper()
	return s.balanceOf(t, "u1").Body["balance"].(map[string]any)["amount"].(float64)
}

func TestRefundsDebitOnceInAnyOrder(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	piID := s.paid(t, 5000)
	refund := func(amount int64) []byte {
		t.Helper()
		if _, err := s.Stripe.Client().Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(piID), Amount: stripe.Int64(amount)}); err != nil {
			t.Fatal(err)
		}
		var last []byte
		for _, ev := range s.Stripe.Events() {
			if ev.Type == "charge.refunded" {
				last = ev.Payload
			}
		}
		return last
	}
	partial := refund(1500) // amount_refunded 1500
	full := refund(3500)    // amount_refunded 5000

	// The later event first, then the earlier one, then both again.
	for i, p := range [][]byte{full, partial, full, partial} {
		got := s.deliver(t, p)
		want := []string{ledger.ResultApplied, ledger.ResultUnchanged, ledger.ResultDuplicate, ledger.ResultDuplicate}[i]
		if got.Body["result"] != want {
			t.Errorf("delivery %d: %s, want %s", i, got.Raw, want)
		}
	}
	if got := s.balanceAmount(t); got != 0 {
		t.Errorf("balance = %v, want 0 after a full refund", got)
	}
	txs := s.balanceOf(t, "u1").Body["transactions"].([]any)
	var topUpStatus string
	for _, tx := range txs {
		if m := tx.(map[string]any); m["type"] == ledger.TypeCardTopUp {
			topUpStatus = m["status"].(string)
		}
	}
	if topUpStatus != ledger.StatusRefunded {
		t.Errorf("top-up status = %q, want refunded", topUpStatus)
	}
}

func TestPartialRefundOfAPackageDebitsItsShareOfTheCredit(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	purchase := testenv.Do(t, s.purchase, testenv.Request(http.MethodPost, "/PurchasePackage", s.Issuer.Token(t, "u1", ""), map[string]any{"package": "partner"}))
	piID := purchase.Body["paymentIntentId"].(string)
	s.deliver(t, s.pay(t, piID).Payload) // credit 15000 for a price of 10000
	if _, err := s.Stripe.Client().Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(piID), Amount: stripe.Int64(5000)}); err != nil {
		t.Fatal(err)
	}
	ev, _ := s.Stripe.LastEvent("charge.refunded", "")
	for _, e := range s.Stripe.Events() {
		if e.Type == "charge.refunded" {
			ev = e
		}
	}
	s.deliver(t, ev.Payload)
	if got := s.balanceAmount(t); got != 7500 {
		t.Errorf("balance = %v, want 15000 - 7500 (half the price refunded: half the credit)", got)
	}
}

func TestDisputes(t *testing.T) {
	t.Parallel()
	dispute := func(id, typ, piID, status string, amount int64) []byte {
		return stripetest.NewEvent("evt_"+id+"_"+status, typ, map[string]any{
			"id": id, "object": "dispute", "amount": amount, "currency": "usd", "status": status,
			"payment_intent": piID, "charge": "ch_x", "reason": "fraudulent", "created": time.Now().Unix(),
		}, time.Now())
	}
	cases := []struct {
		name   string
		events func(piID string) [][]byte
		want   float64
	}{
		{name: "opened: debited, once", want: 3000, events: func(pi string) [][]byte {
			opened := dispute("dp_1", "charge.dispute.created", pi, "needs_response", 2000)
			return [][]byte{opened, opened, dispute("dp_1", "charge.dispute.created", pi, "under_review", 2000)}
		}},
		{name: "won: credited back, once", want: 5000, events: func(pi string) [][]byte {
			won := dispute("dp_1", "charge.dispute.closed", pi, "won", 2000)
			return [][]byte{dispute("dp_1", "charge.dispute.created", pi, "needs_response", 2000), won, won, dispute("dp_1", "charge.dispute.closed", pi, "won", 2000)}
		}},
		{name: "lost: the debit stands", want: 3000, events: func(pi string) [][]byte {
			return [][]byte{dispute("dp_1", "charge.dispute.created", pi, "needs_response", 2000), dispute("dp_1", "charge.dispute.closed", pi, "lost", 2000)}
		}},
		{name: "a payment that is not ours", want: 5000, events: func(string) [][]byte {
			return [][]byte{dispute("dp_9", "charge.dispute.created", "pi_someone_else", "needs_response", 2000)}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			piID := s.paid(t, 5000)
			for _, p := range tc.events(piID) {
				if got := s.deliver(t, p); got.Status != http.StatusOK {
					t.Fatalf("delivery: %d %s", got.Status, got.Raw)
				}
			}
			if got := s.balanceAmount(t); got != tc.want {
				t.Errorf("balance = %v, want %v", got, tc.want)
			}
		})
	}
}

// A dispute can take the balance below zero: the user spent the credit.
func TestBalanceMayGoNegative(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	piID := s.paid(t, 5000)
	spend, err := s.Ledger.Balance(t.Context(), "u1")
	if err != nil || spend.Amount != 5000 {
		t.Fatal(spend, err)
	}
	if err := s.FS.RunTransaction(t.Context(), func(ctx context.Context, tx *firestore.Transaction) error {
		return s.Ledger.Record(tx, ledger.Transaction{ID: "spent", UserID: "u1", Type: ledger.TypeUsageCharge, Amount: -4000, Status: ledger.StatusSucceeded})
	}); err != nil {
		t.Fatal(err)
	}
	s.deliver(t, stripetest.NewEvent("evt_dp", "charge.dispute.created", map[string]any{
		"id": "dp_1", "object": "dispute", "amount": 5000, "currency": "usd", "status": "needs_response", "payment_intent": piID,
	}, time.Now()))
	if got := s.balanceAmount(t); got != -4000 {
		t.Errorf("balance = %v, want -4000", got)
	}
}
