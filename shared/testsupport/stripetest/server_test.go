package stripetest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"example.com/billing/shared/testsupport/stripetest"
)

func TestAuth(t *testing.T) {
	tests := []struct {
		name      string
		serverKey string // set with SetAPIKey when not empty
		clientKey string // the key the double accepts when empty
		want      *apiErr
	}{
		{name: "default key"},
		{name: "wrong key", clientKey: "sk_test_somethingelse",
			want: &apiErr{Status: 401, Type: stripe.ErrorTypeInvalidRequest, Msg: "Invalid API Key provided: sk_test_*********else"}},
		{name: "rotated key", serverKey: "sk_test_rotated"},
		{name: "old key after rotation", serverKey: "sk_test_rotated", clientKey: stripetest.Key,
			want: &apiErr{Status: 401, Type: stripe.ErrorTypeInvalidRequest, Msg: "Invalid API Key provided: sk_test_**uble"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := stripetest.New(t)
			if tt.serverKey != "" {
				srv.SetAPIKey(tt.serverKey)
			}
			sc := srv.Client()
			if tt.clientKey != "" {
				b := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{URL: stripe.String(srv.URL()),
					LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}})
				sc = client.New(tt.clientKey, &stripe.Backends{API: b})
			}
			_, err := sc.Customers.New(&stripe.CustomerParams{Email: stripe.String("a@example.com")})
			checkErr(t, err, tt.want)
			if got, want := len(srv.Customers()), map[bool]int{true: 0, false: 1}[tt.want != nil]; got != want {
				t.Errorf("customers = %d, want %d", got, want)
			}
		})
	}
}

// TestUnmodelled: an endpoint or a parameter the double does not model is
// refused, never silently ignored.
func TestUnmodelled(t *testing.T) {
	srv := stripetest.New(t)
	cases := []struct {
		name, method, path, body string
		wantStatus               int
		wantMessage              string
	}{
		{name: "unknown URL", method: http.MethodGet, path: "/v1/nope", wantStatus: 404,
			wantMessage: "Unrecognized request URL (GET: /v1/nope). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."},
		{name: "an endpoint the port does not call", method: http.MethodPost, path: "/v1/payment_intents/pi_1/confirm", wantStatus: 404},
		{name: "a parameter the double does not model", method: http.MethodPost, path: "/v1/payment_intents", body: "amount=1000&currency=usd&capture_method=manual",
			wantStatus: 400, wantMessage: "stripetest does not support the parameter capture_method on POST /v1/payment_intents; add it to the double if a test needs it."},
		{name: "a filter the double does not model", method: http.MethodGet, path: "/v1/payment_intents?status=succeeded", wantStatus: 400},
		{name: "a payment method type other than card", method: http.MethodPost, path: "/v1/payment_intents",
			body: "amount=1000&currency=usd&payment_method_types[0]=sepa_debit", wantStatus: 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL()+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+stripetest.Key)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct{ Type, Message string }
			}
			json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.wantStatus || body.Error.Type != "invalid_request_error" || (tc.wantMessage != "" && body.Error.Message != tc.wantMessage) {
				t.Errorf("%d %+v, want %d %q", resp.StatusCode, body.Error, tc.wantStatus, tc.wantMessage)
			}
		})
	}
	if n := len(srv.PaymentIntents()); n != 0 {
		t.Errorf("%d PaymentIntents, want none", n)
	}
}

// TestFaults drives injected failures through stripe-go's retry policy: it
// retries 503 on every method and other 5xx only on non-POST requests.
func TestFaults(t *testing.T) {
	createCustomer := func(sc *client.API) error {
		_, err := sc.Customers.New(&stripe.CustomerParams{Email: stripe.String("a@example.com")})
		return err
	}
	searchCustomers := func(sc *client.API) error {
		it := sc.Customers.Search(&stripe.CustomerSearchParams{SearchParams: stripe.SearchParams{Query: "metadata['user_id']:'u1'"}})
		for it.Next() {
		}
		return it.Err()
	}
	tests := []struct {
		name          string
		inject        func(*stripetest.Server)
		do            func(*client.API) error
		want          *apiErr
		wantStatuses  []int
		wantCustomers int
	}{
		{name: "500 on POST is not retried and changes nothing", inject: func(s *stripetest.Server) { s.FailNext(1, 500) }, do: createCustomer,
			want: &apiErr{Status: 500, Type: stripe.ErrorTypeAPI, Msg: "An unknown error occurred (injected by stripetest)."}, wantStatuses: []int{500}},
		{name: "503 on POST is retried with the same key", inject: func(s *stripetest.Server) { s.FailNext(1, 503) }, do: createCustomer,
			wantStatuses: []int{503, 200}, wantCustomers: 1},
		{name: "503 beyond the retry budget", inject: func(s *stripetest.Server) { s.FailNext(3, 503) }, do: createCustomer,
			want: &apiErr{Status: 503, Type: stripe.ErrorTypeAPI}, wantStatuses: []int{503, 503, 503}},
		{name: "500 on GET is retried", inject: func(s *stripetest.Server) { s.FailNext(1, 500) }, do: searchCustomers,
			wantStatuses: []int{500, 200}},
		{name: "down until SetDown(0)", inject: func(s *stripetest.Server) { s.SetDown(503) }, do: createCustomer,
			want: &apiErr{Status: 503, Type: stripe.ErrorTypeAPI}, wantStatuses: []int{503, 503, 503}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			tt.inject(srv)
			checkErr(t, tt.do(sc), tt.want)
			var statuses []int
			keys := map[string]bool{}
			for _, r := range srv.Requests() {
				statuses = append(statuses, r.Status)
				keys[r.IdempotencyKey] = true
			}
			if diff := cmp.Diff(tt.wantStatuses, statuses); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			if len(keys) != 1 {
				t.Errorf("retries used %d idempotency keys, want 1", len(keys))
			}
			if got := len(srv.Customers()); got != tt.wantCustomers {
				t.Errorf("customers = %d, want %d", got, tt.wantCustomers)
			}
		})
	}
	t.Run("up again after SetDown(0)", func(t *testing.T) {
		srv, sc := newDouble(t)
		srv.SetDown(503)
		srv.SetDown(0)
		if err := createCustomer(sc); err != nil {
			t.Fatalf("create after SetDown(0): %v", err)
		}
	})
}

func TestRequests(t *testing.T) {
	srv, sc := newDouble(t)
	params := &stripe.CustomerParams{Email: stripe.String("a@example.com")}
	params.SetIdempotencyKey("key-1")
	cu, err := sc.Customers.New(params)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Customers.New(params); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.PaymentIntents.Get("pi_nope", nil); err == nil {
		t.Fatal("retrieved an unknown PaymentIntent")
	}
	want := []stripetest.Request{
		{Method: "POST", Path: "/v1/customers", IdempotencyKey: "key-1", Status: 200},
		{Method: "POST", Path: "/v1/customers", IdempotencyKey: "key-1", Replayed: true, Status: 200},
		{Method: "GET", Path: "/v1/payment_intents/pi_nope", Status: 404},
	}
	if diff := cmp.Diff(want, srv.Requests()); diff != "" {
		t.Errorf("Requests() (-want +got):\n%s", diff)
	}
	if cu.ID == "" {
		t.Error("no customer id")
	}
}

func TestClockStampsCreated(t *testing.T) {
	srv, sc := newDouble(t)
	first := mustCustomer(t, sc, nil)
	srv.Advance(90 * time.Minute)
	second := mustCustomer(t, sc, nil)
	if second.Created-first.Created != 90*60 {
		t.Errorf("created %d then %d, want 90 minutes apart", first.Created, second.Created)
	}
	if d := time.Since(time.Unix(first.Created, 0)); d < 0 || d > time.Minute {
		t.Errorf("clock started %v from wall time", d)
	}
}

func TestConcurrentRequests(t *testing.T) {
	srv, sc := newDouble(t)
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := sc.Customers.New(&stripe.CustomerParams{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, cu := range srv.Customers() {
		seen[cu.ID] = true
	}
	if len(seen) != n || len(srv.Requests()) != n {
		t.Errorf("got %d distinct customers, %d requests; want %d of each", len(seen), len(srv.Requests()), n)
	}
}
