package onboarding_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"example.com/billing/functions/onboarding"
	"example.com/billing/shared/config"
	"example.com/billing/shared/customer"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/testsupport/stripetest"
	"example.com/billing/shared/testsupport/testenv"
)

// env is the account functions on real peers, with a steppable clock.
type env struct {
	*testenv.Billing
	clock     time.Time
	customers *customer.Service
	srv       *onboarding.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{Billing: testenv.NewBilling(t), clock: time.Now().UTC()}
	e.customers = customer.New(e.FS, e.Payments).WithClock(func() time.Time { return e.clock })
	e.srv = onboarding.NewServer(e.Verifier, e.customers)
	return e
}

func (e *env) get(t *testing.T, userID string) testenv.Response {
	t.Helper()
	return testenv.Do(t, e.srv.Account(), testenv.Request(http.MethodGet, "/Account", e.Issuer.Token(t, userID, userID+"@example.com"), nil))
}

func (e *env) setup(t *testing.T, userID string, body any) testenv.Response {
	t.Helper()
	return testenv.Do(t, e.srv.Setup(), testenv.Request(http.MethodPost, "/AccountSetup", e.Issuer.Token(t, userID, userID+"@example.com"), body))
}

func TestAccountNeverFailsBecauseStripeIsDown(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cases := []struct {
		name    string
		outage  func(e *env)
		recover func(e *env)
	}{
		{name: "Stripe answers 500", outage: func(e *env) { e.Stripe.SetDown(500) }, recover: func(e *env) { e.Stripe.SetDown(0) }},
		{name: "connection refused", outage: func(e *env) {
			e.customers = customer.New(e.FS, payments.New(config.Stripe{SecretKey: stripetest.Key, APIURL: closed.URL}, nil)).WithClock(func() time.Time { return e.clock })
			e.srv = onboarding.NewServer(e.Verifier, e.customers)
		}, recover: func(e *env) {
			e.customers = customer.New(e.FS, e.Payments).WithClock(func() time.Time { return e.clock })
			e.srv = onboarding.NewServer(e.Verifier, e.customers)
		}},
		{name: "invalid key (401)", outage: func(e *env) { e.Stripe.SetAPIKey("sk_test_rotated") }, recover: func(e *env) { e.Stripe.SetAPIKey(stripetest.Key) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tc.outage(e)
			got := e.get(t, "u1")
			want := map[string]any{"userId": "u1", "email": "u1@example.com", "paymentsStatus": "pending", "customerId": ""}
			if got.Status != http.StatusOK {
				t.Fatalf("while broken: %d %s", got.Status, got.Raw)
			}
			if diff := cmp.Diff(want, got.Body); diff != "" {
				t.Errorf("while broken (-want +got):\n%s", diff)
			}
			// A burst of page loads stays fast: no Stripe call.
			before := len(e.Stripe.Requests())
			if got := e.get(t, "u1"); got.Status != http.StatusOK || got.Body["paymentsStatus"] != "pending" {
				t.Errorf("again while broken: %d %s", got.Status, got.Raw)
			}
			if n := len(e.Stripe.Requests()) - before; n != 0 {
				t.Errorf("%d Stripe calls in a burst, want 0", n)
			}

			tc.recover(e)
			e.clock = e.clock.Add(time.Minute)
			got = e.get(t, "u1")
			if got.Status != http.StatusOK || got.Body["paymentsStatus"] != "ready" || got.Body["customerId"] == "" {
				t.Fatalf("after recovery: %d %s", got.Status, got.Raw)
			}
			if n := len(e.Stripe.Customers()); n != 1 {
				t.Errorf("%d customers, want 1", n)
			}
		})
	}
}

// Rule 7: a page load repairs a missing customer as soon as Stripe is
// back, whatever the sweep's backoff has grown to; only a burst within
// customer.RetryGuard of the last attempt is answered from the record.
func TestAccountRepairsAtOnceWhenStripeIsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Stripe.SetDown(http.StatusInternalServerError)
	for range 5 { // the backoff grows to 80 s
		if got := e.get(t, "u1"); got.Status != http.StatusOK || got.Body["paymentsStatus"] != "pending" {
			t.Fatalf("while Stripe is down: %d %s", got.Status, got.Raw)
		}
		e.clock = e.clock.Add(customer.RetryGuard)
	}
	e.Stripe.SetDown(0)
	got := e.get(t, "u1")
	if got.Status != http.StatusOK || got.Body["paymentsStatus"] != "ready" || got.Body["customerId"] == "" {
		t.Fatalf("the first page load after Stripe is back: %d %s, want ready", got.Status, got.Raw)
	}
	if acct, _ := e.customers.Get(context.Background(), "u1"); acct.RepairAt != nil {
		t.Errorf("repairAt = %v, want none once ready", acct.RepairAt)
	}
}

func TestInvalidKeyIsLoggedAsAConfigurationError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Stripe.SetAPIKey("sk_test_rotated")
	var logs testenv.Logs
	req := testenv.Request(http.MethodGet, "/Account", e.Issuer.Token(t, "u1", ""), nil)
	got := testenv.Do(t, e.srv.Account(), req.WithContext(logs.Context(req.Context())))
	if got.Status != http.StatusOK {
		t.Fatalf("%d %s", got.Status, got.Raw)
	}
	lines := logs.Find(t, "stripe call failed: configuration error (check STRIPE_SECRET_KEY)")
	if len(lines) != 1 {
		t.Fatalf("configuration-error lines = %v, want one", logs.Lines(t))
	}
	want := map[string]any{"severity": "ERROR", "user_id": "u1", "operation": "create customer", "stripe_status": 401.0, "kind": "stripe is misconfigured"}
	for k, v := range want {
		if lines[0][k] != v {
			t.Errorf("log %s = %v, want %v", k, lines[0][k], v)
		}
	}
	for k, v := range lines[0] {
		if s, ok := v.(string); ok && (len(s) > 7 && (s[:7] == "sk_test" || s[:7] == "sk_live")) {
			t.Errorf("log field %s holds a key: %q", k, s)
		}
	}
}

func TestAccountSetup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.setup(t, "u1", nil)
	again := e.setup(t, "u1", map[string]any{})
	if first.Status != 200 || first.Body["paymentsStatus"] != "ready" || first.Body["customerId"] == "" {
		t.Fatalf("setup: %d %s", first.Status, first.Raw)
	}
	if diff := cmp.Diff(first.Body, again.Body); diff != "" {
		t.Errorf("setup is not idempotent (-first +again):\n%s", diff)
	}
	if got := e.setup(t, "u1", map[string]any{"userId": "u2"}); got.Status != 400 || got.ErrorCode() != "invalid_request" {
		t.Errorf("fields in the body: %d %s", got.Status, got.Raw)
	}

	e.Stripe.SetDown(503)
	got := e.setup(t, "u2", nil)
	if got.Status != http.StatusServiceUnavailable || got.ErrorCode() != "payment_provider_unavailable" {
		t.Fatalf("Stripe down: %d %s", got.Status, got.Raw)
	}
	acct, err := e.customers.Get(context.Background(), "u2")
	if err != nil || acct.PaymentsStatus != customer.StatusPending {
		t.Errorf("account = %+v, %v; want recorded as pending", acct, err)
	}
	if n := len(e.Stripe.Customers()); n != 1 {
		t.Errorf("%d customers, want 1", n)
	}
}

func TestFirestoreDownIsA503(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := onboarding.NewServer(e.Verifier, customer.New(testenv.UnreachableFirestore(t), e.Payments))
	for name, h := range map[string]http.Handler{"Account": srv.Account(), "AccountSetup": srv.Setup()} {
		method := http.MethodGet
		if name == "AccountSetup" {
			method = http.MethodPost
		}
		req := testenv.Request(method, "/"+name, e.Issuer.Token(t, "u1", ""), nil)
		ctx, cancel := context.WithTimeout(req.Context(), 3*time.Second)
		got := testenv.Do(t, h, req.WithContext(ctx))
		cancel()
		if got.Status != http.StatusServiceUnavailable || got.ErrorCode() != "temporarily_unavailable" {
			t.Errorf("%s: %d %s", name, got.Status, got.Raw)
		}
	}
}

func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		method string
		h      http.Handler
	}{{http.MethodGet, e.srv.Account()}, {http.MethodPost, e.srv.Setup()}} {
		name := tc.method
		got := testenv.Do(t, tc.h, testenv.Request(tc.method, "/", "", nil))
		if got.Status != http.StatusUnauthorized {
			t.Errorf("%s: %d %s", name, got.Status, got.Raw)
		}
	}
}

// Every way a customer gets ensured, ten at once for one user: one customer.
func TestTenConcurrentEnsuresOfEveryKindCreateOneCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	token := e.Issuer.Token(t, "u1", "u1@example.com")
	calls := []func() error{}
	for i := range 3 {
		calls = append(calls, func() error {
			return e.srv.UserActivated(context.Background(), testenv.PubSubEvent(t, "m"+string(rune('0'+i)), map[string]string{"userId": "u1", "email": "u1@example.com"}))
		})
	}
	for range 3 {
		calls = append(calls, func() error {
			testenv.Do(t, e.srv.Account(), testenv.Request(http.MethodGet, "/Account", token, nil))
			return nil
		})
	}
	for range 2 {
		calls = append(calls, func() error {
			testenv.Do(t, e.srv.Setup(), testenv.Request(http.MethodPost, "/AccountSetup", token, nil))
			return nil
		})
	}
	for range 2 {
		calls = append(calls, func() error {
			_, err := e.customers.Repair(context.Background(), 10)
			return err
		})
	}
	var wg sync.WaitGroup
	for _, call := range calls {
		wg.Go(func() {
			if err := call(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// Whatever lost a race is repaired by the next call.
	if got := e.setup(t, "u1", nil); got.Status != 200 {
		t.Fatalf("setup after the race: %d %s", got.Status, got.Raw)
	}
	if n := len(e.Stripe.Customers()); n != 1 {
		t.Errorf("%d Stripe customers, want exactly 1", n)
	}
}
