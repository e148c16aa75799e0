package addfunds_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/google/go-cmp/cmp"

	"example.com/billing/functions/addfunds"
	"example.com/billing/shared/checkout"
	"example.com/billing/shared/config"
	"example.com/billing/shared/customer"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/devauth"
	"example.com/billing/shared/testsupport/testenv"
)

func newServer(b *testenv.Billing) *addfunds.Server {
	return addfunds.NewServer(b.Verifier, b.Settings, b.Checkout)
}

func post(t *testing.T, h http.Handler, token string, body any, idempotencyKey string) testenv.Response {
	t.Helper()
	req := testenv.Request(http.MethodPost, "/AddFunds", token, body)
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	return testenv.Do(t, h, req)
}

func history(t *testing.T, b *testenv.Billing, userID string) []ledger.Transaction {
	t.Helper()
	page, err := b.Ledger.History(context.Background(), userID, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	return page.Transactions
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	h := newServer(b)
	token := b.Issuer.Token(t, "u1", "u1@example.com")
	expired, err := b.Issuer.Mint(devauth.Claims{Subject: "u1", Expiry: time.Now().Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	forged := testenv.NewIssuer(t, "ES256").Token(t, "u1", "")
	cases := []struct {
		name       string
		method     string
		token      string
		body       any
		key        string
		wantStatus int
		wantCode   string
	}{
		{name: "no token", token: "", body: `{"amount":2500}`, wantStatus: 401, wantCode: "unauthenticated"},
		{name: "expired token", token: expired, body: `{"amount":2500}`, wantStatus: 401, wantCode: "unauthenticated"},
		{name: "forged token", token: forged, body: `{"amount":2500}`, wantStatus: 401, wantCode: "unauthenticated"},
		{name: "amount zero", body: `{"amount":0}`, wantStatus: 400, wantCode: "invalid_amount"},
		{name: "amount negative", body: `{"amount":-2500}`, wantStatus: 400, wantCode: "invalid_amount"},
		{name: "amount fractional", body: `{"amount":2500.5}`, wantStatus: 400, wantCode: "invalid_amount"},
		{name: "amount with exponent", body: `{"amount":2.5e3}`, wantStatus: 400, wantCode: "invalid_amount"},
		{name: "amount a string", body: `{"amount":"2500"}`, wantStatus: 400, wantCode: "invalid_amount"},
		{name: "amount a boolean", body: `{"amount":true}`, wantStatus: 400, wantCode: "invalid_amount"},
		{name: "amount missing", body: `{"currency":"usd"}`, wantStatus: 400, wantCode: "invalid_amount"},
		{name: "amount null", body: `{"amount":null}`, wantStatus: 400, wantCode: "invalid_amount"},
		{name: "amount below min", body: `{"amount":999}`, wantStatus: 400, wantCode: "amount_too_low"},
		{name: "amount above max", body: `{"amount":250001}`, wantStatus: 400, wantCode: "amount_too_high"},
		{name: "amount over int64", body: `{"amount":99999999999999999999999}`, wantStatus: 400, wantCode: "amount_too_high"},
		{name: "unknown currency", body: `{"amount":2500,"currency":"xyz"}`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "unsupported currency", body: `{"amount":2500,"currency":"eur"}`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "currency not a string", body: `{"amount":2500,"currency":5}`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "not a payment method", body: `{"amount":2500,"paymentMethodId":"card_123"}`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "malformed JSON", body: `{"amount":`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "not an object", body: `[2500]`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "two objects", body: `{"amount":2500}{"amount":2500}`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "unknown field", body: `{"amount":2500,"userId":"u2"}`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "empty body", body: ``, wantStatus: 400, wantCode: "invalid_request"},
		{name: "body over 64 KiB", body: `{"amount":2500,"currency":"` + strings.Repeat("x", 64<<10) + `"}`, wantStatus: 413, wantCode: "body_too_large"},
		{name: "control character in idempotency key", body: `{"amount":2500}`, key: "a\x01b", wantStatus: 400, wantCode: "invalid_request"},
		{name: "wrong method", method: http.MethodGet, wantStatus: 405, wantCode: "method_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := token
			if tc.token != "" || strings.HasPrefix(tc.name, "no token") {
				tok = tc.token
			}
			method := http.MethodPost
			if tc.method != "" {
				method = tc.method
			}
			req := testenv.Request(method, "/AddFunds", tok, tc.body)
			if tc.key != "" {
				req.Header.Set("Idempotency-Key", tc.key)
			}
			got := testenv.Do(t, h, req)
			if got.Status != tc.wantStatus || got.ErrorCode() != tc.wantCode {
				t.Fatalf("answer %d %q, want %d %q: %s", got.Status, got.ErrorCode(), tc.wantStatus, tc.wantCode, got.Raw)
			}
			msg, _ := got.Body["error"].(map[string]any)["message"].(string)
			if len(msg) < 10 {
				t.Errorf("message %q is not a sentence a person can act on", msg)
			}
		})
	}
	// Nothing was written and nothing was asked of Stripe.
	if got := history(t, b, "u1"); len(got) != 0 {
		t.Errorf("transactions = %+v, want none", got)
	}
	if got := b.Stripe.PaymentIntents(); len(got) != 0 {
		t.Errorf("%d payment intents created, want none", len(got))
	}
}

func TestAddFundsCreatesAPendingTopUp(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	h := newServer(b)
	got := post(t, h, b.Issuer.Token(t, "u1", "u1@example.com"), map[string]any{"amount": 2500}, "")
	if got.Status != http.StatusOK {
		t.Fatalf("status %d: %s", got.Status, got.Raw)
	}
	txID, _ := got.Body["transactionId"].(string)
	piID, _ := got.Body["paymentIntentId"].(string)
	secret, _ := got.Body["clientSecret"].(string)
	if diff := cmp.Diff(map[string]any{"transactionId": txID, "paymentIntentId": piID, "clientSecret": secret,
		"status": "requires_payment_method", "amount": 2500.0, "currency": "usd"}, got.Body); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	if txID == "" || !strings.HasPrefix(secret, piID+"_secret_") {
		t.Errorf("transaction %q, client secret %q", txID, secret)
	}

	// The intent is tied to the user, the transaction and the user's customer.
	pi, ok := b.Stripe.PaymentIntent(piID)
	if !ok {
		t.Fatalf("payment intent %s not in Stripe", piID)
	}
	custs := b.Stripe.Customers()
	if len(custs) != 1 || pi.Customer == nil || pi.Customer.ID != custs[0].ID || custs[0].Email != "u1@example.com" {
		t.Fatalf("customers %+v, intent customer %+v: want the user's one customer", custs, pi.Customer)
	}
	if diff := cmp.Diff(map[string]string{"user_id": "u1", "transaction_id": txID, "kind": "card_topup"}, pi.Metadata); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	// Every Stripe write carried a deterministic key.
	keys := map[string]string{}
	for _, r := range b.Stripe.Requests() {
		if r.Method == http.MethodPost {
			keys[r.Path] = r.IdempotencyKey
		}
	}
	if diff := cmp.Diff(map[string]string{"/v1/customers": customer.IdempotencyKey("u1"), "/v1/payment_intents": "topup:" + txID}, keys); diff != "" {
		t.Errorf("idempotency keys (-want +got):\n%s", diff)
	}

	// Pending, and without the intent recorded: nothing can be charged
	// before the browser confirms it, and its outcome records it.
	txs := history(t, b, "u1")
	if len(txs) != 1 || txs[0].ID != txID || txs[0].Status != ledger.StatusPending || txs[0].PaymentIntentID != "" || txs[0].Amount != 2500 || txs[0].Credited {
		t.Errorf("ledger = %+v, want one pending top-up of 2500, its intent not yet recorded", txs)
	}
	if bal, _ := b.Ledger.Balance(context.Background(), "u1"); bal.Amount != 0 {
		t.Errorf("balance = %d: AddFunds must never credit", bal.Amount)
	}

	// A second top-up reuses the customer.
	if got := post(t, h, b.Issuer.Token(t, "u1", "u1@example.com"), map[string]any{"amount": 1000}, ""); got.Status != http.StatusOK {
		t.Fatalf("second top-up: %d %s", got.Status, got.Raw)
	}
	if n := len(b.Stripe.Customers()); n != 1 {
		t.Errorf("%d customers after two top-ups, want 1", n)
	}
}

// A retry with the same key answers with the first intent (its client
// secret too), which the first answer did not record: the retry finds it in
// Stripe, under the same Stripe key or, once Stripe has forgotten the key
// (24 h), by listing the customer's intents; then it records it, and a
// third answer comes from the record.
func TestIdempotencyKeyReturnsTheFirstAnswer(t *testing.T) {
	t.Parallel()
	for _, wait := range []time.Duration{0, 25 * time.Hour} {
		t.Run(wait.String(), func(t *testing.T) {
			t.Parallel()
			b := testenv.NewBilling(t)
			h := newServer(b)
			token := b.Issuer.Token(t, "u1", "")
			first := post(t, h, token, map[string]any{"amount": 2500}, "order-7")
			if first.Status != 200 {
				t.Fatalf("first: %d %s", first.Status, first.Raw)
			}
			if txs := history(t, b, "u1"); len(txs) != 1 || txs[0].PaymentIntentID != "" {
				t.Fatalf("ledger = %+v, want one top-up, its intent not yet recorded", txs)
			}
			b.Stripe.Advance(wait)
			for i := range 2 {
				again := post(t, h, token, map[string]any{"amount": 2500, "currency": "USD"}, "order-7")
				if again.Status != 200 {
					t.Fatalf("retry %d: %d %s", i, again.Status, again.Raw)
				}
				if diff := cmp.Diff(first.Body, again.Body); diff != "" {
					t.Errorf("retry %d differs (-first +again):\n%s", i, diff)
				}
				if txs := history(t, b, "u1"); len(txs) != 1 || txs[0].PaymentIntentID != first.Body["paymentIntentId"] {
					t.Errorf("ledger after retry %d = %+v, want the first intent recorded", i, txs)
				}
			}
			if n := len(b.Stripe.PaymentIntents()); n != 1 {
				t.Errorf("%d payment intents, want 1", n)
			}
		})
	}
}

func TestIdempotencyKeyOfAnotherRequest(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	h := newServer(b)
	token := b.Issuer.Token(t, "u1", "")
	first := post(t, h, token, map[string]any{"amount": 2500}, "order-7")
	if first.Status != 200 {
		t.Fatalf("first: %d %s", first.Status, first.Raw)
	}
	if got := post(t, h, token, map[string]any{"amount": 3000}, "order-7"); got.Status != http.StatusConflict || got.ErrorCode() != "idempotency_key_reused" {
		t.Errorf("same key, other amount: %d %s", got.Status, got.Raw)
	}
	// The key is the user's own: another user with the same key is another top-up.
	other := post(t, h, b.Issuer.Token(t, "u2", ""), map[string]any{"amount": 2500}, "order-7")
	if other.Status != 200 || other.Body["transactionId"] == first.Body["transactionId"] {
		t.Errorf("another user's key collided: %s", other.Raw)
	}
}

func TestSavedCard(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          string
		paymentMethod string
		wantStatus    int
		wantCode      string
		wantPIStatus  string
		wantTxStatus  string
	}{
		{name: "confirmed at once", paymentMethod: "pm_card_visa", wantStatus: 200, wantPIStatus: "succeeded", wantTxStatus: ledger.StatusPending},
		{name: "3-D Secure hands back to the console", paymentMethod: "pm_card_authenticationRequired", wantStatus: 200, wantPIStatus: "requires_action", wantTxStatus: ledger.StatusPending},
		{name: "declined", paymentMethod: "pm_card_chargeDeclined", wantStatus: 402, wantCode: "card_declined", wantTxStatus: ledger.StatusFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := testenv.NewBilling(t)
			h := newServer(b)
			token := b.Issuer.Token(t, "u1", "")
			body := map[string]any{"amount": 5000, "paymentMethodId": tc.paymentMethod}
			got := post(t, h, token, body, "k1")
			if got.Status != tc.wantStatus || got.ErrorCode() != tc.wantCode {
				t.Fatalf("answer %d %s", got.Status, got.Raw)
			}
			if tc.wantPIStatus != "" && (got.Body["status"] != tc.wantPIStatus || got.Body["clientSecret"] == "") {
				t.Errorf("status %v, client secret %v; want %s with a secret", got.Body["status"], got.Body["clientSecret"], tc.wantPIStatus)
			}
			txs := history(t, b, "u1")
			if len(txs) != 1 || txs[0].Status != tc.wantTxStatus || txs[0].PaymentIntentID == "" {
				t.Fatalf("ledger = %+v, want one %s transaction with its intent", txs, tc.wantTxStatus)
			}
			// A retry with the same key gives the same answer and charges nothing more.
			again := post(t, h, token, body, "k1")
			if again.Status != got.Status || again.ErrorCode() != got.ErrorCode() || again.Body["paymentIntentId"] != got.Body["paymentIntentId"] {
				t.Errorf("retry: %d %s, first: %d %s", again.Status, again.Raw, got.Status, got.Raw)
			}
			if n := len(b.Stripe.PaymentIntents()); n != 1 {
				t.Errorf("%d payment intents, want 1", n)
			}
		})
	}
}

func TestSettingsTakeEffectWithoutRestart(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	h := newServer(b)
	token := b.Issuer.Token(t, "u1", "")
	set := func(fields map[string]any) {
		t.Helper()
		if _, err := b.FS.Doc(config.SettingsDocument).Set(context.Background(), fields, firestore.MergeAll); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name       string
		set        map[string]any
		amount     int64
		wantStatus int
		wantCode   string
	}{
		{name: "defaults allow 2500", amount: 2500, wantStatus: 200},
		{name: "turned off", set: map[string]any{"addFundsEnabled": false}, amount: 2500, wantStatus: 403, wantCode: "add_funds_disabled"},
		{name: "back on with a lower maximum", set: map[string]any{"addFundsEnabled": true, "addFundsMaxCents": 2000}, amount: 2500, wantStatus: 400, wantCode: "amount_too_high"},
		{name: "a higher minimum", set: map[string]any{"addFundsMinCents": 1500}, amount: 1200, wantStatus: 400, wantCode: "amount_too_low"},
		{name: "inside the new range", amount: 1800, wantStatus: 200},
	}
	for _, s := range steps {
		if s.set != nil {
			set(s.set)
		}
		got := post(t, h, token, map[string]any{"amount": s.amount}, "")
		if got.Status != s.wantStatus || got.ErrorCode() != s.wantCode {
			t.Errorf("%s: %d %s, want %d %q", s.name, got.Status, got.Raw, s.wantStatus, s.wantCode)
		}
	}
}

func TestStripeDownWritesNothingHalfway(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	h := newServer(b)
	token := b.Issuer.Token(t, "u1", "")

	// Down before the customer exists: nothing in the ledger.
	b.Stripe.SetDown(http.StatusInternalServerError)
	got := post(t, h, token, map[string]any{"amount": 2500}, "k1")
	if got.Status != http.StatusServiceUnavailable || got.ErrorCode() != "payment_provider_unavailable" {
		t.Fatalf("answer %d %s", got.Status, got.Raw)
	}
	if txs := history(t, b, "u1"); len(txs) != 0 {
		t.Errorf("ledger = %+v, want nothing", txs)
	}
	acct, err := b.Customers.Get(context.Background(), "u1")
	if err != nil || acct.PaymentsStatus != customer.StatusPending {
		t.Errorf("account = %+v, %v; want recorded as pending", acct, err)
	}

	// Back up: the same request goes through, with one customer.
	b.Stripe.SetDown(0)
	got = post(t, h, token, map[string]any{"amount": 2500}, "k1")
	if got.Status != http.StatusOK {
		t.Fatalf("after recovery: %d %s", got.Status, got.Raw)
	}

	// Down when the intent is created: the top-up is marked failed, not
	// left pending; a retry with the key completes it.
	b.Stripe.SetDown(http.StatusServiceUnavailable)
	got = post(t, h, token, map[string]any{"amount": 3000}, "k2")
	if got.Status != http.StatusServiceUnavailable {
		t.Fatalf("intent while down: %d %s", got.Status, got.Raw)
	}
	txs := history(t, b, "u1")
	if len(txs) != 2 || txs[0].Status != ledger.StatusFailed || txs[0].FailureCode != "payment_provider_unavailable" {
		t.Fatalf("ledger = %+v, want the new top-up failed", txs)
	}
	b.Stripe.SetDown(0)
	got = post(t, h, token, map[string]any{"amount": 3000}, "k2")
	if got.Status != http.StatusOK {
		t.Fatalf("retry: %d %s", got.Status, got.Raw)
	}
	txs = history(t, b, "u1")
	if len(txs) != 2 || txs[0].Status != ledger.StatusPending || txs[0].PaymentIntentID != got.Body["paymentIntentId"] {
		t.Errorf("ledger = %+v, want the retried top-up pending with its intent", txs)
	}
	if n := len(b.Stripe.Customers()); n != 1 {
		t.Errorf("%d customers, want 1", n)
	}
}

func TestFirestoreDownIsAClear503(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	dead := testenv.UnreachableFirestore(t)
	h := addfunds.NewServer(b.Verifier, config.NewSettingsStore(dead, testenv.DefaultSettings, 0),
		checkout.New(customer.New(dead, b.Payments), b.Payments, ledger.New(dead)))
	req := testenv.Request(http.MethodPost, "/AddFunds", b.Issuer.Token(t, "u1", ""), map[string]any{"amount": 2500})
	ctx, cancel := context.WithTimeout(req.Context(), 3*time.Second)
	defer cancel()
	got := testenv.Do(t, h, req.WithContext(ctx))
	if got.Status != http.StatusServiceUnavailable || got.ErrorCode() != "temporarily_unavailable" {
		t.Fatalf("answer %d %s", got.Status, got.Raw)
	}
	if n := len(b.Stripe.Requests()); n != 0 {
		t.Errorf("%d Stripe requests; nothing should reach Stripe when nothing can be recorded", n)
	}
}
