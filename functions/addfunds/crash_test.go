package addfunds_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"example.com/billing/shared/fault"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/testenv"
)

// A process dying at any point of AddFunds, followed by the client's retry
// with the same Idempotency-Key, ends as a run that never failed: one
// pending transaction with its intent, one intent and one customer in
// Stripe.
func TestCrashThenRetryEndsLikeACleanRun(t *testing.T) {
	t.Parallel()
	type end struct {
		Transactions, Intents, Customers int
		Status                           string
		Amount                           int64
		IntentRecorded                   bool
	}
	run := func(t *testing.T, point string) end {
		b := testenv.NewBilling(t)
		h := newServer(b)
		token := b.Issuer.Token(t, "u1", "u1@example.com")
		req := testenv.Request(http.MethodPost, "/AddFunds", token, map[string]any{"amount": 2500})
		req.Header.Set("Idempotency-Key", "order-1")
		if point != "" {
			inj := fault.New().Fail(point, 1)
			req = req.WithContext(fault.With(req.Context(), inj))
			if got := testenv.Do(t, h, req); got.Status < 500 {
				t.Fatalf("with a crash at %s: %d %s, want a 5xx", point, got.Status, got.Raw)
			}
			if inj.Hits(point) != 1 {
				t.Fatalf("point %s not reached", point)
			}
		}
		got := post(t, h, token, map[string]any{"amount": 2500}, "order-1")
		if got.Status != http.StatusOK {
			t.Fatalf("retry: %d %s", got.Status, got.Raw)
		}
		txs := history(t, b, "u1")
		e := end{Transactions: len(txs), Intents: len(b.Stripe.PaymentIntents()), Customers: len(b.Stripe.Customers())}
		if len(txs) == 1 {
			e.Status, e.Amount, e.IntentRecorded = txs[0].Status, txs[0].Amount, txs[0].PaymentIntentID == got.Body["paymentIntentId"]
		}
		return e
	}
	clean := run(t, "")
	if clean != (end{Transactions: 1, Intents: 1, Customers: 1, Status: ledger.StatusPending, Amount: 2500, IntentRecorded: true}) {
		t.Fatalf("clean run = %+v", clean)
	}
	for _, point := range []string{fault.CheckoutAfterBegin, fault.CheckoutAfterIntent} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(clean, run(t, point)); diff != "" {
				t.Errorf("after a crash at %s (-clean +crashed):\n%s", point, diff)
			}
		})
	}
}
