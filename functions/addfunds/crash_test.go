package addfunds_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"example.com/billing/shared/fault"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/testenv"
)

// A process dying at any point of AddFunds, followed by the client's retry
// with the same Idempotency-Key, ends as a run that never failed: one
// pending transaction, one intent naming it (the one answered, and the one
// recorded if any: a clean run does not record it, the retry does) and one
// customer in Stripe.
func TestCrashThenRetryEndsLikeACleanRun(t *testing.T) {
	t.Parallel()
	type end struct {
		Transactions, Intents, Customers int
		Status                           string
		Amount                           int64
		// IntentOfTransaction: the answer's intent is Stripe's one intent,
		// it names the transaction, and the transaction records no other.
		IntentOfTransaction bool
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
		if len(txs) == 1 && e.Intents == 1 {
			pi := b.Stripe.PaymentIntents()[0]
			e.Status, e.Amount = txs[0].Status, txs[0].Amount
			e.IntentOfTransaction = pi.ID == got.Body["paymentIntentId"] && pi.Metadata["transaction_id"] == txs[0].ID &&
				(txs[0].PaymentIntentID == "" || txs[0].PaymentIntentID == pi.ID)
		}
		return e
	}
	clean := run(t, "")
	if clean != (end{Transactions: 1, Intents: 1, Customers: 1, Status: ledger.StatusPending, Amount: 2500, IntentOfTransaction: true}) {
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

// A saved card is charged when the intent is created. If recording the
// intent then fails, the answer must not claim nothing was charged, and a
// retry with the same Idempotency-Key answers with the real outcome: the
// same intent, never a second charge, also after Stripe has forgotten the
// idempotency key (24 h).
func TestChargedButNotRecordedTellsTheTruthAndRetriesFindTheCharge(t *testing.T) {
	t.Parallel()
	for _, wait := range []time.Duration{0, 25 * time.Hour} {
		t.Run(wait.String(), func(t *testing.T) {
			t.Parallel()
			b := testenv.NewBilling(t)
			h := newServer(b)
			token := b.Issuer.Token(t, "u1", "u1@example.com")
			body := map[string]any{"amount": 2500, "paymentMethodId": "pm_card_visa"}
			req := testenv.Request(http.MethodPost, "/AddFunds", token, body)
			req.Header.Set("Idempotency-Key", "order-1")
			inj := fault.New().Fail(fault.CheckoutAfterIntent, 1)
			first := testenv.Do(t, h, req.WithContext(fault.With(req.Context(), inj)))
			if first.Status != http.StatusServiceUnavailable || first.ErrorCode() != "temporarily_unavailable" {
				t.Fatalf("first answer = %d %s, want 503 temporarily_unavailable", first.Status, first.Raw)
			}
			msg := first.Body["error"].(map[string]any)["message"].(string)
			if strings.Contains(msg, "nothing was charged") || !strings.Contains(msg, "may have been charged") {
				t.Errorf("message %q must say the card may have been charged", msg)
			}
			if pis := b.Stripe.PaymentIntents(); len(pis) != 1 || pis[0].Status != "succeeded" {
				t.Fatalf("intents after the first attempt = %v, want one succeeded", pis)
			}
			b.Stripe.Advance(wait)
			retry := post(t, h, token, body, "order-1")
			if retry.Status != http.StatusOK || retry.Body["status"] != "succeeded" || retry.Body["paymentIntentId"] != b.Stripe.PaymentIntents()[0].ID {
				t.Errorf("retry = %d %s, want 200 with the first intent, succeeded", retry.Status, retry.Raw)
			}
			if n := len(b.Stripe.PaymentIntents()); n != 1 {
				t.Errorf("%d intents after the retry, want 1: the card would be charged twice", n)
			}
			if txs := history(t, b, "u1"); len(txs) != 1 || txs[0].PaymentIntentID != retry.Body["paymentIntentId"] {
				t.Errorf("transactions = %+v, want one with the intent recorded", txs)
			}
		})
	}
}

// Stripe's "idempotency key in use" (409: another request with the key is
// still being processed) means in progress, never failed: the transaction
// stays pending and the retry answers with the payment.
func TestIdempotencyKeyInUseIsInProgressNotFailed(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	h := newServer(b)
	if _, err := b.Customers.Ensure(context.Background(), "u1", "u1@example.com"); err != nil {
		t.Fatal(err)
	}
	token := b.Issuer.Token(t, "u1", "u1@example.com")
	b.Stripe.FailNext(3, http.StatusConflict) // the create, and stripe-go's two retries
	first := post(t, h, token, map[string]any{"amount": 2500}, "order-409")
	if first.Status != http.StatusServiceUnavailable || !strings.Contains(first.Body["error"].(map[string]any)["message"].(string), "still being processed") {
		t.Fatalf("first answer = %d %s, want 503 saying the payment is in progress", first.Status, first.Raw)
	}
	if txs := history(t, b, "u1"); len(txs) != 1 || txs[0].Status != ledger.StatusPending {
		t.Fatalf("transactions = %+v, want one still pending (not failed)", txs)
	}
	retry := post(t, h, token, map[string]any{"amount": 2500}, "order-409")
	if retry.Status != http.StatusOK {
		t.Fatalf("retry = %d %s", retry.Status, retry.Raw)
	}
	if txs := history(t, b, "u1"); len(txs) != 1 || txs[0].Status != ledger.StatusPending || txs[0].PaymentIntentID != retry.Body["paymentIntentId"] {
		t.Errorf("transactions = %+v, want the one pending transaction with its intent", txs)
	}
}
