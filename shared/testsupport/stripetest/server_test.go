package stripetest_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"example.com/billing/shared/testsupport/stripetest"
)

func TestAuth(t *testing.T) {
	tests := []struct {
		name      string
		serverKey string // set with SetAPIKey when not empty
		clientKey string
		want      *apiErr
	}{
		{name: "default key", clientKey: stripetest.Key},
		{
			name:      "wrong key",
			clientKey: "sk_test_somethingelse",
			want: &apiErr{Status: 401, Type: stripe.ErrorTypeInvalidRequest,
				Msg: "Invalid API Key provided: sk_test_*********else"},
		},
		{name: "rotated key", serverKey: "sk_test_rotated", clientKey: "sk_test_rotated"},
		{
			name:      "old key after rotation",
			serverKey: "sk_test_rotated",
			clientKey: stripetest.Key,
			want: &apiErr{Status: 401, Type: stripe.ErrorTypeInvalidRequest,
				Msg: "Invalid API Key provided: sk_test_**uble"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := stripetest.New(t)
			if tt.serverKey != "" {
				srv.SetAPIKey(tt.serverKey)
			}
			sc := client.New(tt.clientKey, srv.Backends())
			_, err := sc.Customers.New(&stripe.CustomerParams{Email: stripe.String("a@example.com")})
			checkErr(t, err, tt.want)
			wantCustomers := 1
			if tt.want != nil {
				wantCustomers = 0
			}
			if got := len(srv.Customers()); got != wantCustomers {
				t.Errorf("customers = %d, want %d", got, wantCustomers)
			}
		})
	}
}

func TestUnknownRoute(t *testing.T) {
	tests := []struct {
		method, path string
	}{
		{http.MethodGet, "/v1/nope"},
		{http.MethodPut, "/v1/customers"},
		{http.MethodDelete, "/v1/payment_intents/pi_123"},
		{http.MethodGet, "/v1/customers/cus_123/unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			srv := stripetest.New(t)
			err := srv.Backends().API.Call(tt.method, tt.path, stripetest.Key, &stripe.Params{}, &stripe.Customer{})
			checkErr(t, err, &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest,
				Msg: "Unrecognized request URL (" + tt.method + ": " + tt.path + "). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."})
		})
	}
}

// TestFaults drives injected failures through stripe-go's retry policy: it
// retries 503 on every method and other 5xx only on non-POST requests.
func TestFaults(t *testing.T) {
	createCustomer := func(sc *client.API) error {
		_, err := sc.Customers.New(&stripe.CustomerParams{Email: stripe.String("a@example.com")})
		return err
	}
	listCustomers := func(sc *client.API) error {
		it := sc.Customers.List(&stripe.CustomerListParams{})
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
		{
			name:         "500 on POST is not retried and changes nothing",
			inject:       func(s *stripetest.Server) { s.FailNext(1, 500) },
			do:           createCustomer,
			want:         &apiErr{Status: 500, Type: stripe.ErrorTypeAPI, Msg: "An unknown error occurred (injected by stripetest)."},
			wantStatuses: []int{500},
		},
		{
			name:          "503 on POST is retried with the same key",
			inject:        func(s *stripetest.Server) { s.FailNext(1, 503) },
			do:            createCustomer,
			wantStatuses:  []int{503, 200},
			wantCustomers: 1,
		},
		{
			name:         "503 beyond the retry budget",
			inject:       func(s *stripetest.Server) { s.FailNext(3, 503) },
			do:           createCustomer,
			want:         &apiErr{Status: 503, Type: stripe.ErrorTypeAPI},
			wantStatuses: []int{503, 503, 503},
		},
		{
			name:         "500 on GET is retried",
			inject:       func(s *stripetest.Server) { s.FailNext(1, 500) },
			do:           listCustomers,
			wantStatuses: []int{500, 200},
		},
		{
			name:         "429 rate limit is not retried",
			inject:       func(s *stripetest.Server) { s.FailNext(1, 429) },
			do:           createCustomer,
			want:         &apiErr{Status: 429, Type: stripe.ErrorTypeInvalidRequest, Code: "rate_limit"},
			wantStatuses: []int{429},
		},
		{
			name:         "down until SetDown(0)",
			inject:       func(s *stripetest.Server) { s.SetDown(503) },
			do:           createCustomer,
			want:         &apiErr{Status: 503, Type: stripe.ErrorTypeAPI},
			wantStatuses: []int{503, 503, 503},
		},
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
			if got := len(srv.Events()); got != tt.wantCustomers {
				t.Errorf("events = %d, want %d", got, tt.wantCustomers)
			}
		})
	}
}

func TestSetDownRecovers(t *testing.T) {
	srv, sc := newDouble(t)
	srv.SetDown(503)
	if _, err := sc.Customers.New(&stripe.CustomerParams{}); err == nil {
		t.Fatal("create succeeded while down")
	}
	srv.SetDown(0)
	if _, err := sc.Customers.New(&stripe.CustomerParams{}); err != nil {
		t.Fatalf("create after SetDown(0): %v", err)
	}
}

func TestRequests(t *testing.T) {
	srv, sc := newDouble(t)
	params := &stripe.CustomerParams{Email: stripe.String("a@example.com")}
	params.AddMetadata("org", "acme")
	params.SetIdempotencyKey("key-1")
	cu, err := sc.Customers.New(params)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Customers.Get(cu.ID, nil); err != nil {
		t.Fatal(err)
	}
	it := sc.Customers.List(&stripe.CustomerListParams{Email: stripe.String("a@example.com")})
	for it.Next() {
	}
	if _, err := sc.PaymentIntents.New(&stripe.PaymentIntentParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"})}); err != nil {
		t.Fatal(err)
	}

	want := []stripetest.Request{
		{Method: "POST", Path: "/v1/customers", Form: url.Values{"email": {"a@example.com"}, "metadata[org]": {"acme"}},
			IdempotencyKey: "key-1", Status: 200},
		{Method: "GET", Path: "/v1/customers/" + cu.ID, Form: url.Values{}, Status: 200},
		{Method: "GET", Path: "/v1/customers", Form: url.Values{"email": {"a@example.com"}}, Status: 200},
		{Method: "POST", Path: "/v1/payment_intents", Form: url.Values{"amount": {"1000"}, "currency": {"usd"},
			"payment_method_types[0]": {"card"}}, Status: 200},
	}
	got := srv.Requests()
	// stripe-go generates a key for every POST that does not set one.
	if got[3].IdempotencyKey == "" {
		t.Error("stripe-go sent no idempotency key on a POST")
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(stripetest.Request{}, "IdempotencyKey"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Requests() (-want +got):\n%s", diff)
	}
	if got[0].IdempotencyKey != "key-1" {
		t.Errorf("first request key = %q, want key-1", got[0].IdempotencyKey)
	}
}

func TestClockStampsCreated(t *testing.T) {
	srv, sc := newDouble(t)
	first := mustCustomer(t, sc, nil)
	srv.Advance(90 * time.Minute)
	second := mustCustomer(t, sc, nil)
	if want := srv.Now().Add(-90 * time.Minute).Unix(); first.Created != want {
		t.Errorf("first created = %d, want %d", first.Created, want)
	}
	if want := srv.Now().Unix(); second.Created != want {
		t.Errorf("second created = %d, want %d", second.Created, want)
	}
	if d := time.Until(srv.Now()); d < 89*time.Minute || d > 91*time.Minute {
		t.Errorf("clock is %v ahead of wall time, want about 90m", d)
	}
}

func TestConcurrentRequests(t *testing.T) {
	srv, sc := newDouble(t)
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := sc.Customers.New(&stripe.CustomerParams{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, cu := range srv.Customers() {
		seen[cu.ID] = true
	}
	if len(seen) != n || len(srv.Events()) != n || len(srv.Requests()) != n {
		t.Errorf("got %d distinct customers, %d events, %d requests; want %d of each", len(seen), len(srv.Events()), len(srv.Requests()), n)
	}
}
