package flows_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"example.com/billing/functions/addfunds"
	"example.com/billing/functions/balance"
	"example.com/billing/functions/webhook"
	"example.com/billing/shared/config"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/stripetest"
	"example.com/billing/shared/testsupport/testenv"
)

// stack is the three functions of the add-funds flow on one set of peers.
type stack struct {
	*testenv.Billing
	addFunds, purchase, balance, webhook http.Handler
}

func newStack(t *testing.T) *stack {
	t.Helper()
	b := testenv.NewBilling(t)
	return &stack{
		Billing:  b,
		addFunds: addfunds.NewServer(b.Verifier, b.Settings, b.Checkout),
		purchase: addfunds.NewPurchaseServer(b.Verifier, config.Packages{"partner": {Price: 10000, Credit: 15000}}, b.Customers, b.Checkout),
		balance:  balance.NewServer(b.Verifier, b.Ledger),
		webhook:  webhook.NewServer([]string{testenv.WebhookSecret}, b.Ledger, nil, nil, b.Payments), // no invoice events here
	}
}

// topUp runs AddFunds for the user and returns the payment intent id.
func (s *stack) topUp(t *testing.T, userID string, amount int64) string {
	t.Helper()
	got := testenv.Do(t, s.addFunds, testenv.Request(http.MethodPost, "/AddFunds", s.Issuer.Token(t, userID, ""), map[string]any{"amount": amount}))
	if got.Status != http.StatusOK {
		t.Fatalf("AddFunds: %d %s", got.Status, got.Raw)
	}
	return got.Body["paymentIntentId"].(string)
}

// pay makes the payment succeed in Stripe and returns the event Stripe sends.
func (s *stack) pay(t *testing.T, piID string) stripetest.Event {
	t.Helper()
	if _, err := s.Stripe.SucceedPaymentIntent(piID); err != nil {
		t.Fatal(err)
	}
	ev, ok := s.Stripe.LastEvent("payment_intent.succeeded", piID)
	if !ok {
		t.Fatalf("no payment_intent.succeeded event for %s", piID)
	}
	return ev
}

// deliver is Stripe posting the event, retrying until it gets a 2xx.
func (s *stack) deliver(t *testing.T, payload []byte) testenv.Response {
	t.Helper()
	var got testenv.Response
	for range 5 {
		if got = testenv.Do(t, s.webhook, testenv.WebhookRequest(payload, testenv.WebhookSecret)); got.Status < 500 {
			return got
		}
	}
	t.Fatalf("webhook kept failing: %d %s", got.Status, got.Raw)
	return got
}

func (s *stack) balanceOf(t *testing.T, userID string) testenv.Response {
	t.Helper()
	got := testenv.Do(t, s.balance, testenv.Request(http.MethodGet, "/Balance", s.Issuer.Token(t, userID, ""), nil))
	if got.Status != http.StatusOK {
		t.Fatalf("Balance: %d %s", got.Status, got.Raw)
	}
	return got
}

func (s *stack) eventRecords(t *testing.T) int {
	t.Helper()
	snaps, err := s.FS.Collection(ledger.EventsCollection).Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	return len(snaps)
}

func TestFullFlow(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	piID := s.topUp(t, "u1", 2500)
	ev := s.pay(t, piID)
	if got := s.deliver(t, ev.Payload); got.Body["result"] != ledger.ResultApplied {
		t.Fatalf("webhook: %s", got.Raw)
	}

	got := s.balanceOf(t, "u1")
	if diff := cmp.Diff(map[string]any{"amount": 2500.0, "currency": "usd"}, got.Body["balance"]); diff != "" {
		t.Errorf("balance (-want +got):\n%s", diff)
	}
	txs := got.Body["transactions"].([]any)
	if len(txs) != 1 {
		t.Fatalf("transactions = %v, want 1", txs)
	}
	tx := txs[0].(map[string]any)
	want := map[string]any{"type": "card_topup", "amount": 2500.0, "currency": "usd", "status": "succeeded", "paymentIntentId": piID}
	for k, v := range want {
		if tx[k] != v {
			t.Errorf("transaction %s = %v, want %v", k, tx[k], v)
		}
	}
}

func TestSameEventThreeTimesConcurrentlyAndAgainCreditsOnce(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ev := s.pay(t, s.topUp(t, "u1", 2500))
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { s.deliver(t, ev.Payload) })
	}
	wg.Wait()
	if got := s.deliver(t, ev.Payload); got.Body["result"] != ledger.ResultDuplicate {
		t.Errorf("delivery after success: %s, want duplicate", got.Raw)
	}
	if got := s.balanceOf(t, "u1").Body["balance"].(map[string]any)["amount"]; got != 2500.0 {
		t.Errorf("balance = %v, want 2500", got)
	}
}

func TestTwentyTopUpsConcurrentlyCreditTheExactSum(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	var payloads [][]byte
	var want int64
	for i := range 20 {
		amount := int64(1000 + 101*i)
		want += amount
		payloads = append(payloads, s.pay(t, s.topUp(t, "u1", amount)).Payload)
	}
	var wg sync.WaitGroup
	for _, p := range payloads {
		wg.Go(func() { s.deliver(t, p) })
	}
	wg.Wait()
	got := s.balanceOf(t, "u1").Body["balance"].(map[string]any)["amount"]
	if got != float64(want) {
		t.Errorf("balance = %v, want %d", got, want)
	}
}

func TestFailureAndCancellation(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	failedPI := s.topUp(t, "u1", 2500)
	if _, err := s.Stripe.FailPaymentIntent(failedPI, "insufficient_funds"); err != nil {
		t.Fatal(err)
	}
	ev, _ := s.Stripe.LastEvent("payment_intent.payment_failed", failedPI)
	s.deliver(t, ev.Payload)

	// The console retries the same intent with another card, which succeeds;
	// then the stale failure is delivered again late.
	s.deliver(t, s.pay(t, failedPI).Payload)
	s.deliver(t, ev.Payload)

	txs := s.balanceOf(t, "u1").Body["transactions"].([]any)
	if got := txs[0].(map[string]any)["status"]; got != "succeeded" {
		t.Errorf("status = %v: a late failure must not undo a success", got)
	}
	if got := s.balanceOf(t, "u1").Body["balance"].(map[string]any)["amount"]; got != 2500.0 {
		t.Errorf("balance = %v, want 2500", got)
	}
}

// AddFunds without a saved card answers before it records the intent on
// the transaction; the intent's outcome, reported by the webhook, records
// it, with the index that later refunds and disputes of the intent look up.
func TestTheOutcomeRecordsAnIntentAddFundsLeftUnrecorded(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		settle      func(s *stack, piID string) (stripetest.Event, error)
		wantStatus  string
		wantBalance int64
	}{
		{name: "succeeded", wantStatus: ledger.StatusSucceeded, wantBalance: 2500, settle: func(s *stack, piID string) (stripetest.Event, error) {
			if _, err := s.Stripe.SucceedPaymentIntent(piID); err != nil {
				return stripetest.Event{}, err
			}
			ev, _ := s.Stripe.LastEvent("payment_intent.succeeded", piID)
			return ev, nil
		}},
		{name: "failed", wantStatus: ledger.StatusFailed, wantBalance: 0, settle: func(s *stack, piID string) (stripetest.Event, error) {
			if _, err := s.Stripe.FailPaymentIntent(piID, "insufficient_funds"); err != nil {
				return stripetest.Event{}, err
			}
			ev, _ := s.Stripe.LastEvent("payment_intent.payment_failed", piID)
			return ev, nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			ctx := context.Background()
			piID := s.topUp(t, "u1", 2500)
			pi, _ := s.Stripe.PaymentIntent(piID)
			txID := pi.Metadata["transaction_id"]
			if tx, err := s.Ledger.Transaction(ctx, "u1", txID); err != nil || tx.PaymentIntentID != "" {
				t.Fatalf("after AddFunds: %+v, %v; want the top-up without its intent recorded", tx, err)
			}
			ev, err := tc.settle(s, piID)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.deliver(t, ev.Payload); got.Body["result"] != ledger.ResultApplied {
				t.Fatalf("webhook: %s", got.Raw)
			}
			tx, err := s.Ledger.Transaction(ctx, "u1", txID)
			if err != nil || tx.Status != tc.wantStatus || tx.PaymentIntentID != piID {
				t.Errorf("transaction = %+v, %v; want %s with intent %s", tx, err, tc.wantStatus, piID)
			}
			snap, err := s.FS.Collection(ledger.IntentsCollection).Doc(piID).Get(ctx)
			if err != nil {
				t.Fatalf("index of %s: %v", piID, err)
			}
			if got := snap.Data(); got["userId"] != "u1" || got["transactionId"] != txID {
				t.Errorf("index of %s = %v, want u1/%s", piID, got, txID)
			}
			if got := s.balanceOf(t, "u1").Body["balance"].(map[string]any)["amount"]; got != float64(tc.wantBalance) {
				t.Errorf("balance = %v, want %d", got, tc.wantBalance)
			}
		})
	}
}

func TestEventsWeDoNotActOnAreRecorded(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	unknownUser := stripetest.NewEvent("evt_unknown_user", "payment_intent.succeeded", map[string]any{
		"id": "pi_x", "object": "payment_intent", "status": "succeeded", "amount": 5000, "amount_received": 5000, "currency": "usd",
		"metadata": map[string]string{"user_id": "nobody", "transaction_id": "tx_nothing"},
	}, time.Now())
	noMetadata := stripetest.NewEvent("evt_no_metadata", "payment_intent.succeeded", map[string]any{
		"id": "pi_y", "object": "payment_intent", "status": "succeeded", "amount": 5000, "amount_received": 5000, "currency": "usd",
	}, time.Now())
	otherType := stripetest.NewEvent("evt_other", "customer.subscription.created", map[string]any{"id": "sub_1", "object": "subscription"}, time.Now())
	cases := []struct {
		name       string
		payload    []byte
		wantResult string
	}{
		{name: "unknown user and transaction", payload: unknownUser, wantResult: ledger.ResultUnmatched},
		{name: "not one of our intents", payload: noMetadata, wantResult: ledger.ResultUnmatched},
		{name: "a type we do not handle", payload: otherType, wantResult: ledger.ResultIgnored},
	}
	for i, tc := range cases {
		got := s.deliver(t, tc.payload)
		if got.Status != http.StatusOK || got.Body["result"] != tc.wantResult {
			t.Errorf("%s: %d %s, want 200 %s", tc.name, got.Status, got.Raw, tc.wantResult)
		}
		if n := s.eventRecords(t); n != i+1 {
			t.Errorf("%s: %d event records, want %d", tc.name, n, i+1)
		}
		if got := s.deliver(t, tc.payload); got.Body["result"] != ledger.ResultDuplicate {
			t.Errorf("%s redelivered: %s, want duplicate", tc.name, got.Raw)
		}
	}
	if got := s.balanceOf(t, "nobody").Body["balance"].(map[string]any)["amount"]; got != 0.0 {
		t.Errorf("unknown user's balance = %v, want 0", got)
	}
}

func TestBadDeliveriesWriteNothing(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ev := s.pay(t, s.topUp(t, "u1", 2500))
	now := time.Now()
	signed := func(payload []byte, secret string, at time.Time) *http.Request {
		req := testenv.WebhookRequest(payload, secret)
		req.Header.Set("Stripe-Signature", stripetest.SignatureHeader(payload, secret, at))
		return req
	}
	tampered := []byte(strings.Replace(string(ev.Payload), `"amount_received": 2500`, `"amount_received": 999999`, 1))
	if string(tampered) == string(ev.Payload) {
		tampered = append([]byte(" "), ev.Payload...)
	}
	notJSON := []byte("this is not json")
	noSignature := testenv.WebhookRequest(ev.Payload, testenv.WebhookSecret)
	noSignature.Header.Del("Stripe-Signature")
	tamperedReq := signed(ev.Payload, testenv.WebhookSecret, now)
	tamperedReq.Body = testenv.WebhookRequest(tampered, "").Body
	huge := testenv.WebhookRequest([]byte(`{"x":"`+strings.Repeat("a", 1<<20)+`"}`), testenv.WebhookSecret)
	get := testenv.WebhookRequest(ev.Payload, testenv.WebhookSecret)
	get.Method = http.MethodGet
	cases := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantCode   string
	}{
		{name: "no signature", req: noSignature, wantStatus: 400, wantCode: "invalid_signature"},
		{name: "wrong secret", req: signed(ev.Payload, "whsec_wrong", now), wantStatus: 400, wantCode: "invalid_signature"},
		{name: "tampered body", req: tamperedReq, wantStatus: 400, wantCode: "invalid_signature"},
		{name: "stale timestamp", req: signed(ev.Payload, testenv.WebhookSecret, now.Add(-6*time.Minute)), wantStatus: 400, wantCode: "invalid_signature"},
		{name: "signed but not an event", req: signed(notJSON, testenv.WebhookSecret, now), wantStatus: 400, wantCode: "malformed_event"},
		{name: "body over 1 MiB", req: huge, wantStatus: 413, wantCode: "body_too_large"},
		{name: "wrong method", req: get, wantStatus: 405, wantCode: "method_not_allowed"},
	}
	for _, tc := range cases {
		got := testenv.Do(t, s.webhook, tc.req)
		if got.Status != tc.wantStatus || got.ErrorCode() != tc.wantCode {
			t.Errorf("%s: %d %s, want %d %s", tc.name, got.Status, got.Raw, tc.wantStatus, tc.wantCode)
		}
	}
	if n := s.eventRecords(t); n != 0 {
		t.Errorf("%d event records, want none", n)
	}
	if got := s.balanceOf(t, "u1").Body["balance"].(map[string]any)["amount"]; got != 0.0 {
		t.Errorf("balance = %v, want 0", got)
	}
}
