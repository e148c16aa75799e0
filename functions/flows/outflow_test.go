package flows_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v76"

	"example.com/billing/shared/fault"
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

// refund refunds amount of the intent's charge in Stripe and returns the
// charge.refunded event.
func (s *stack) refund(t *testing.T, piID string, amount int64) []byte {
	t.Helper()
	r, err := s.Stripe.Client().Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(piID), Amount: stripe.Int64(amount)})
	if err != nil {
		t.Fatal(err)
	}
	ev, ok := s.Stripe.LastEvent("charge.refunded", r.Charge.ID)
	if !ok {
		t.Fatal("no charge.refunded event")
	}
	return ev.Payload
}

// Rule 2: the ledger ends the same whatever the order of a payment's
// success and its refunds; a refund reported first is never recorded as
// done while nothing was done.
func TestRefundsInEveryOrder(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		order []string // "paid", "r1" (1500 refunded), "r2" (5000 refunded), delivered in this order
		want  float64
	}{
		{name: "in order", order: []string{"paid", "r1", "r2"}, want: 0},
		{name: "the full refund before the success", order: []string{"r2", "paid", "r1"}, want: 0},
		{name: "the partial refund before the success", order: []string{"r1", "paid"}, want: 3500},
		{name: "both refunds before the success, newest first", order: []string{"r2", "r1", "paid"}, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			piID := s.topUp(t, "u1", 5000)
			events := map[string][]byte{"paid": s.pay(t, piID).Payload, "r1": s.refund(t, piID, 1500)}
			if slices.Contains(tc.order, "r2") {
				events["r2"] = s.refund(t, piID, 3500)
			}
			for _, name := range tc.order {
				if got := s.deliver(t, events[name]); got.Status != http.StatusOK {
					t.Fatalf("%s: %d %s", name, got.Status, got.Raw)
				}
			}
			if got := s.balanceAmount(t); got != tc.want {
				t.Errorf("balance = %v, want %v", got, tc.want)
			}
			// Whatever comes again changes nothing.
			for _, p := range events {
				if got := s.deliver(t, p); got.Body["result"] != ledger.ResultDuplicate {
					t.Errorf("redelivery: %s, want duplicate", got.Raw)
				}
			}
			if got := s.balanceAmount(t); got != tc.want {
				t.Errorf("balance after redeliveries = %v, want %v", got, tc.want)
			}
		})
	}
}

// Two partial refunds (1500, then 3500 of 5000) delivered in order each
// debit their own part: the ledger holds two refund entries and nothing
// is left.
func TestTwoPartialRefundsInOrder(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	piID := s.paid(t, 5000)
	first, second := s.refund(t, piID, 1500), s.refund(t, piID, 3500)
	for i, p := range [][]byte{first, second} {
		if got := s.deliver(t, p); got.Body["result"] != ledger.ResultApplied {
			t.Errorf("refund %d: %s, want applied", i+1, got.Raw)
		}
		if got, want := s.balanceAmount(t), []float64{3500, 0}[i]; got != want {
			t.Errorf("balance after refund %d = %v, want %v", i+1, got, want)
		}
	}
	var debits []float64
	for _, tx := range s.balanceOf(t, "u1").Body["transactions"].([]any) {
		if m := tx.(map[string]any); m["type"] == ledger.TypeRefund {
			debits = append(debits, m["amount"].(float64))
		}
	}
	slices.Sort(debits)
	if diff := cmp.Diff([]float64{-3500, -1500}, debits); diff != "" {
		t.Errorf("refund entries (-want +got):\n%s", diff)
	}
}

// bank plays the cardholder's bank (and the merchant) after a dispute opens.
type bank func(t *testing.T, s *stack, piID, disputeID string)

var (
	won = func(t *testing.T, s *stack, _, id string) {
		if err := s.Stripe.CloseDispute(id, true); err != nil {
			t.Fatal(err)
		}
	}
	lost = func(t *testing.T, s *stack, _, id string) {
		if err := s.Stripe.CloseDispute(id, false); err != nil {
			t.Fatal(err)
		}
	}
	refundedInFull = func(t *testing.T, s *stack, piID, _ string) { s.refund(t, piID, 5000) }
)

func reversedOrder(events [][]byte) [][]byte {
	out := slices.Clone(events)
	slices.Reverse(out)
	return out
}

// Rule 3: the balance moves with the dispute's funds, whatever the order
// its events come in and whether the payment was credited yet; an inquiry
// moves nothing; a charge refunded and disputed is debited once.
func TestDisputeLifecycles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		refunded int64 // before the dispute opens
		inquiry  bool
		amount   int64 // disputed; 0 for the whole charge of 5000
		then     bank
		// order arranges the payment's success and the refund and dispute
		// events (in Stripe's order); nil: the success first.
		order func(paid []byte, events [][]byte) [][]byte
		want  float64
	}{
		{name: "a chargeback won", then: won, want: 5000},
		{name: "a chargeback lost", then: lost, want: 0},
		{name: "a chargeback still open", want: 0},
		{name: "a partial chargeback lost", amount: 2000, then: lost, want: 3000},
		{name: "an inquiry still open", inquiry: true, want: 5000},
		{name: "an inquiry closed", inquiry: true, then: lost, want: 5000},
		{name: "an inquiry settled by a refund", inquiry: true, then: refundedInFull, want: 0},
		{name: "refunded in part, then charged back in full and lost", refunded: 1000, then: lost, want: 0},
		{name: "a chargeback won, every event before the success, newest first", then: won, want: 5000,
			order: func(paid []byte, e [][]byte) [][]byte { return append(reversedOrder(e), paid) }},
		{name: "a chargeback lost, every event before the success", then: lost, want: 0,
			order: func(paid []byte, e [][]byte) [][]byte { return append(e, paid) }},
		{name: "only the win, before the success", then: won, want: 5000,
			order: func(paid []byte, e [][]byte) [][]byte { return [][]byte{e[len(e)-1], paid} }},
		{name: "only the withdrawal, before the success", want: 0,
			order: func(paid []byte, e [][]byte) [][]byte { return [][]byte{e[len(e)-1], paid} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			piID := s.topUp(t, "u1", 5000)
			paid := s.pay(t, piID).Payload
			if tc.refunded > 0 {
				s.refund(t, piID, tc.refunded)
			}
			id, err := s.Stripe.OpenDispute(piID, tc.amount, tc.inquiry)
			if err != nil {
				t.Fatal(err)
			}
			if tc.then != nil {
				tc.then(t, s, piID, id)
			}
			var events [][]byte
			for _, e := range s.Stripe.Events() {
				if e.Type == "charge.refunded" || strings.HasPrefix(e.Type, "charge.dispute.") {
					events = append(events, e.Payload)
				}
			}
			all := append([][]byte{paid}, events...)
			if tc.order != nil {
				all = tc.order(paid, events)
			}
			for _, p := range all {
				if got := s.deliver(t, p); got.Status != http.StatusOK {
					t.Fatalf("delivery: %d %s", got.Status, got.Raw)
				}
			}
			if got := s.balanceAmount(t); got != tc.want {
				t.Errorf("balance = %v, want %v", got, tc.want)
			}
			// Every event again, in any order, changes nothing.
			for _, p := range reversedOrder(all) {
				s.deliver(t, p)
			}
			if got := s.balanceAmount(t); got != tc.want {
				t.Errorf("balance after redeliveries = %v, want %v", got, tc.want)
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
	s.deliver(t, stripetest.NewEvent("evt_dp", "charge.dispute.funds_withdrawn", map[string]any{
		"id": "dp_1", "object": "dispute", "amount": 5000, "currency": "usd", "status": "needs_response", "payment_intent": piID,
		"balance_transactions": []map[string]any{{"id": "txn_1", "object": "balance_transaction", "amount": -5000}},
	}, time.Now()))
	if got := s.balanceAmount(t); got != -4000 {
		t.Errorf("balance = %v, want -4000", got)
	}
}

// A dispute reported before its payment's success finds the top-up also
// when checkout did not record the intent (here a crash right after Stripe
// created it): the dispute names only the intent, so dispatch asks Stripe
// for the intent's ids. Lost in full, it leaves nothing on the balance.
func TestDisputeBeforeTheSuccessOfAnUnrecordedIntent(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	req := testenv.Request(http.MethodPost, "/AddFunds", s.Issuer.Token(t, "u1", ""), map[string]any{"amount": 5000})
	inj := fault.New().Fail(fault.CheckoutAfterIntent, 1)
	if got := testenv.Do(t, s.addFunds, req.WithContext(fault.With(req.Context(), inj))); got.Status != http.StatusServiceUnavailable {
		t.Fatalf("AddFunds with a crash after the intent: %d %s", got.Status, got.Raw)
	}
	pis := s.Stripe.PaymentIntents()
	if len(pis) != 1 {
		t.Fatalf("%d intents, want 1", len(pis))
	}
	piID := pis[0].ID
	paid := s.pay(t, piID).Payload
	id, err := s.Stripe.OpenDispute(piID, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	lost(t, s, piID, id)
	var all [][]byte
	for _, e := range s.Stripe.Events() {
		if strings.HasPrefix(e.Type, "charge.dispute.") {
			all = append(all, e.Payload)
		}
	}
	for _, p := range append(all, paid) {
		if got := s.deliver(t, p); got.Status != http.StatusOK {
			t.Fatalf("delivery: %d %s", got.Status, got.Raw)
		}
	}
	if got := s.balanceAmount(t); got != 0 {
		t.Errorf("balance = %v, want 0: the lost chargeback was dropped", got)
	}
}
