package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/fault"
	"example.com/billing/shared/invoicecredit"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/stripetest"
	"example.com/billing/shared/testsupport/testenv"
)

// intentEvent is a payment_intent.* event about the intent piID as Stripe
// has it, with change applied to the intent's JSON.
func (s *stack) intentEvent(t *testing.T, id, typ, piID string, change func(pi map[string]any)) []byte {
	t.Helper()
	pi, ok := s.Stripe.PaymentIntent(piID)
	if !ok {
		t.Fatalf("no intent %s", piID)
	}
	raw, err := json.Marshal(pi)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	change(obj)
	return stripetest.NewEvent(id, typ, obj, time.Now())
}

// The amount, currency and late-failure rules of settle, through signed
// webhook deliveries: what is credited is what Stripe received, in the
// top-up's currency, a package only when paid in full, and a failure or
// cancellation reported after a success undoes nothing.
func TestSettlementRulesThroughTheWebhook(t *testing.T) {
	t.Parallel()
	type delivery struct {
		typ    string
		change func(pi map[string]any)
		want   string
	}
	paid := func(pi map[string]any) { pi["status"], pi["amount_received"] = "succeeded", pi["amount"] }
	cases := []struct {
		name       string
		pkg        bool
		deliveries []delivery
		want       float64
	}{
		{name: "paid in full", deliveries: []delivery{{"payment_intent.succeeded", paid, ledger.ResultApplied}}, want: 5000},
		{name: "credited what was received", want: 4000, deliveries: []delivery{{"payment_intent.succeeded", func(pi map[string]any) {
			paid(pi)
			pi["amount_received"] = 4000
		}, ledger.ResultApplied}}},
		{name: "paid in another currency", want: 0, deliveries: []delivery{{"payment_intent.succeeded", func(pi map[string]any) {
			paid(pi)
			pi["currency"] = "eur"
		}, ledger.ResultUnmatched}}},
		{name: "succeeded with nothing received", want: 0, deliveries: []delivery{{"payment_intent.succeeded", func(pi map[string]any) {
			paid(pi)
			pi["amount_received"] = 0
		}, ledger.ResultUnmatched}}},
		{name: "a package underpaid", pkg: true, want: 0, deliveries: []delivery{{"payment_intent.succeeded", func(pi map[string]any) {
			paid(pi)
			pi["amount_received"] = 9999
		}, ledger.ResultUnmatched}}},
		{name: "a package paid in full credits its credit", pkg: true, want: 15000,
			deliveries: []delivery{{"payment_intent.succeeded", paid, ledger.ResultApplied}}},
		{name: "a late failure undoes nothing", want: 5000, deliveries: []delivery{
			{"payment_intent.succeeded", paid, ledger.ResultApplied},
			{"payment_intent.payment_failed", func(pi map[string]any) {
				pi["status"] = "requires_payment_method"
				pi["last_payment_error"] = map[string]any{"type": "card_error", "code": "card_declined", "message": "declined"}
			}, ledger.ResultUnchanged},
		}},
		{name: "a late cancellation undoes nothing", want: 5000, deliveries: []delivery{
			{"payment_intent.succeeded", paid, ledger.ResultApplied},
			{"payment_intent.canceled", func(pi map[string]any) { pi["status"], pi["cancellation_reason"] = "canceled", "abandoned" }, ledger.ResultUnchanged},
		}},
		{name: "a success after a failure credits", want: 5000, deliveries: []delivery{
			{"payment_intent.payment_failed", func(pi map[string]any) { pi["status"] = "requires_payment_method" }, ledger.ResultApplied},
			{"payment_intent.succeeded", paid, ledger.ResultApplied},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			var piID string
			if tc.pkg {
				got := testenv.Do(t, s.purchase, testenv.Request(http.MethodPost, "/PurchasePackage", s.Issuer.Token(t, "u1", ""), map[string]any{"package": "partner"}))
				piID, _ = got.Body["paymentIntentId"].(string)
			} else {
				piID = s.topUp(t, "u1", 5000)
			}
			for i, d := range tc.deliveries {
				got := s.deliver(t, s.intentEvent(t, "evt_"+tc.name[:4]+string(rune('a'+i)), d.typ, piID, d.change))
				if got.Status != http.StatusOK || got.Body["result"] != d.want {
					t.Errorf("%s: %d %s, want %s", d.typ, got.Status, got.Raw, d.want)
				}
			}
			if got := s.balanceAmount(t); got != tc.want {
				t.Errorf("balance = %v, want %v", got, tc.want)
			}
		})
	}
}

// A negative balance (a debt) meeting invoice.created pays nothing: no
// credit is applied in Stripe, nothing is debited, the invoice stays due.
func TestNegativeBalanceMeetingAnInvoicePaysNothing(t *testing.T) {
	t.Parallel()
	s, _, cus := creditStack(t, 0)
	if err := s.FS.RunTransaction(context.Background(), func(ctx context.Context, tx *firestore.Transaction) error {
		return s.Ledger.Record(tx, ledger.Transaction{ID: "disputed_debt", UserID: "u1", Type: ledger.TypeDispute, Amount: -500, Status: ledger.StatusSucceeded})
	}); err != nil {
		t.Fatal(err)
	}
	invID, payload := draftInvoice(t, s, cus, 2000, nil)
	if got := s.deliver(t, payload); got.Body["result"] != ledger.ResultUnchanged {
		t.Errorf("invoice.created with a debt: %s, want unchanged", got.Raw)
	}
	if n := len(s.Stripe.BalanceTransactions(cus)); n != 0 || s.Stripe.CustomerBalance(cus) != 0 {
		t.Errorf("%d balance transactions, customer balance %d; want nothing applied in Stripe", n, s.Stripe.CustomerBalance(cus))
	}
	if got := s.balanceAmount(t); got != -500 {
		t.Errorf("balance = %v, want the debt -500 untouched", got)
	}
	if _, err := s.Ledger.Transaction(context.Background(), "u1", invoicecredit.EntryID(invID)); err == nil {
		t.Error("an invoice credit entry was recorded")
	}
	inv, err := s.Stripe.Client().Invoices.FinalizeInvoice(invID, nil)
	if err != nil || inv.AmountDue != 2000 {
		t.Errorf("finalized: due %d (%v), want 2000", inv.AmountDue, err)
	}
}

// An invoice credit applied in Stripe whose entry could not be marked, and
// finished only after Stripe forgot the credit's idempotency key (24 h):
// the finish finds the credit by its ledger entry and does not apply it
// again.
func TestInvoiceCreditFinishedAfterStripeForgotItsKey(t *testing.T) {
	t.Parallel()
	s, credits, cus := creditStack(t, 3000)
	invID, payload := draftInvoice(t, s, cus, 2000, nil)
	req := testenv.WebhookRequest(payload, testenv.WebhookSecret)
	req = req.WithContext(fault.With(req.Context(), fault.New().Fail(fault.InvoiceCreditApplied, 1)))
	if got := testenv.Do(t, s.webhook, req); got.Status != http.StatusOK {
		t.Fatalf("delivery: %d %s", got.Status, got.Raw)
	}
	s.Stripe.Advance(25 * time.Hour)
	if n, err := credits.FinishPending(context.Background(), 10); err != nil || n != 1 {
		t.Fatalf("FinishPending = %d, %v", n, err)
	}
	if got := len(s.Stripe.BalanceTransactions(cus)); got != 1 {
		t.Errorf("%d balance transactions in Stripe, want 1: the credit applied twice", got)
	}
	if got := -s.Stripe.CustomerBalance(cus); got != 2000 {
		t.Errorf("credit = %d, want 2000", got)
	}
	entry, _ := s.Ledger.Transaction(context.Background(), "u1", invoicecredit.EntryID(invID))
	if entry.Status != ledger.StatusSucceeded || entry.StripeID != s.Stripe.BalanceTransactions(cus)[0].ID {
		t.Errorf("entry = %+v, want succeeded with the one credit's id", entry)
	}
	if got := s.balanceAmount(t); got != 1000 {
		t.Errorf("balance = %v, want 1000", got)
	}
}
