package payments

import "testing"

func TestEndpointOf(t *testing.T) {
	t.Parallel()
	cases := []struct{ method, path, want string }{
		{"POST", "/v1/customers", "POST /v1/customers"},
		{"GET", "/v1/customers/search", "GET /v1/customers/search"},
		{"GET", "/v1/customers/cus_NffrFeUfNV2Hib", "GET /v1/customers/{id}"},
		{"POST", "/v1/customers/cus_123/balance_transactions", "POST /v1/customers/{id}/balance_transactions"},
		{"POST", "/v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa/cancel", "POST /v1/payment_intents/{id}/cancel"},
		{"GET", "/v1/payment_methods", "GET /v1/payment_methods"},
	}
	for _, tc := range cases {
		if got := endpointOf(tc.method, tc.path); got != tc.want {
			t.Errorf("endpointOf(%s %s) = %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}
