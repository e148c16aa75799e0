package flows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/billing/functions/addfunds"
	"example.com/billing/functions/webhook"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/testenv"
)

// A burst of 60 top-ups (6 users) while Stripe answers 503 for a few
// seconds part-way; each console retries its request with its
// Idempotency-Key until it gets an answer. Every request ends as exactly
// one transaction with exactly one PaymentIntent, and once Stripe reports
// the payments every balance is the hand-computed sum.
func TestBurstWhileStripeIsDown(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	srv := httptest.NewServer(addfunds.NewServer(b.Verifier, b.Settings, b.Checkout))
	defer srv.Close()

	type topUp struct {
		user   string
		amount int64
		key    string
		piID   string
	}
	var topUps []*topUp
	want := map[string]int64{}
	for i := range 60 {
		u := fmt.Sprintf("user%d", i%6)
		tu := &topUp{user: u, amount: int64(1000 + 37*i), key: fmt.Sprintf("order-%d", i)}
		want[u] += tu.amount
		topUps = append(topUps, tu)
	}
	tokens := map[string]string{}
	for u := range want {
		tokens[u] = b.Issuer.Token(t, u, u+"@example.com")
	}

	var done, retried atomic.Int64
	outage := make(chan struct{})
	go func() {
		defer close(outage)
		for done.Load() < 15 {
			time.Sleep(5 * time.Millisecond)
		}
		b.Stripe.SetDown(http.StatusServiceUnavailable)
		time.Sleep(3 * time.Second)
		b.Stripe.SetDown(0)
	}()
	var wg sync.WaitGroup
	queue := make(chan *topUp)
	for range 6 {
		wg.Go(func() {
			for tu := range queue {
				backoff := 100 * time.Millisecond
				for attempt := 0; ; attempt++ {
					body, _ := json.Marshal(map[string]any{"amount": tu.amount})
					req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+tokens[tu.user])
					req.Header.Set("Idempotency-Key", tu.key)
					resp, err := http.DefaultClient.Do(req)
					if err == nil && resp.StatusCode == http.StatusOK {
						var out map[string]any
						json.NewDecoder(resp.Body).Decode(&out)
						resp.Body.Close()
						tu.piID = out["paymentIntentId"].(string)
						break
					}
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode < 500 {
							t.Errorf("%s: %d, not retryable", tu.key, resp.StatusCode)
							break
						}
					}
					if attempt == 30 {
						t.Errorf("%s: still failing", tu.key)
						break
					}
					retried.Add(1)
					time.Sleep(backoff)
					backoff = min(2*backoff, time.Second)
				}
				done.Add(1)
			}
		})
	}
	for _, tu := range topUps {
		queue <- tu
	}
	close(queue)
	wg.Wait()
	<-outage
	if retried.Load() == 0 {
		t.Error("no request failed: the outage did not bite")
	}

	ctx := context.Background()
	if n := len(b.Stripe.PaymentIntents()); n != len(topUps) {
		t.Errorf("%d payment intents for %d top-ups", n, len(topUps))
	}
	if n := len(b.Stripe.Customers()); n != len(want) {
		t.Errorf("%d customers for %d users", n, len(want))
	}
	hook := webhook.NewServer([]string{testenv.WebhookSecret}, b.Ledger, nil, nil, b.Payments)
	for _, tu := range topUps {
		txs := history(t, b, tu.user)
		if len(txs) != len(topUps)/len(want) {
			t.Fatalf("%s has %d transactions, want %d", tu.user, len(txs), len(topUps)/len(want))
		}
		if _, err := b.Stripe.SucceedPaymentIntent(tu.piID); err != nil {
			t.Fatal(err)
		}
		ev, _ := b.Stripe.LastEvent("payment_intent.succeeded", tu.piID)
		if got := testenv.Do(t, hook, testenv.WebhookRequest(ev.Payload, testenv.WebhookSecret)); got.Body["result"] != ledger.ResultApplied {
			t.Fatalf("credit of %s: %s", tu.key, got.Raw)
		}
	}
	for u, amount := range want {
		if bal, _ := b.Ledger.Balance(ctx, u); bal.Amount != amount {
			t.Errorf("%s: balance %d, want %d", u, bal.Amount, amount)
		}
	}
}

func history(t *testing.T, b *testenv.Billing, userID string) []ledger.Transaction {
	t.Helper()
	page, err := b.Ledger.History(context.Background(), userID, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	return page.Transactions
}
