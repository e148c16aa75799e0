package addfunds_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"example.com/billing/functions/addfunds"
	"example.com/billing/shared/config"
	"example.com/billing/shared/testsupport/testenv"
)

var packages = config.Packages{"partner-pro": {Price: 10000, Credit: 15000}}

func TestPurchasePackageBadInput(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	h := addfunds.NewPurchaseServer(b.Verifier, packages, b.Customers, b.Checkout)
	token := b.Issuer.Token(t, "u1", "")
	cases := []struct {
		name       string
		token      string
		body       any
		wantStatus int
		wantCode   string
	}{
		{name: "no token", body: `{"package":"partner-pro"}`, wantStatus: 401, wantCode: "unauthenticated"},
		{name: "unknown package", token: token, body: `{"package":"gold"}`, wantStatus: 400, wantCode: "unknown_package"},
		{name: "no package", token: token, body: `{}`, wantStatus: 400, wantCode: "unknown_package"},
		{name: "price in the body", token: token, body: `{"package":"partner-pro","price":1}`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "malformed", token: token, body: `{"package":`, wantStatus: 400, wantCode: "invalid_request"},
	}
	for _, tc := range cases {
		got := testenv.Do(t, h, testenv.Request(http.MethodPost, "/PurchasePackage", tc.token, tc.body))
		if got.Status != tc.wantStatus || got.ErrorCode() != tc.wantCode {
			t.Errorf("%s: %d %s, want %d %s", tc.name, got.Status, got.Raw, tc.wantStatus, tc.wantCode)
		}
	}
	if n := len(b.Stripe.PaymentIntents()); n != 0 {
		t.Errorf("%d payment intents, want none", n)
	}
}

func TestPackagesConfig(t *testing.T) {
	cases := []struct {
		name    string
		env     string
		want    config.Packages
		wantErr bool
	}{
		{name: "none", env: "", want: nil},
		{name: "two", env: `{"a":{"price":1000,"credit":1500},"b":{"price":5000,"credit":5000}}`, want: config.Packages{"a": {Price: 1000, Credit: 1500}, "b": {Price: 5000, Credit: 5000}}},
		{name: "not JSON", env: `a:1000,1500`, wantErr: true},
		{name: "unknown field", env: `{"a":{"price":1000,"credit":1500,"bonus":1}}`, wantErr: true},
		{name: "price below Stripe's minimum", env: `{"a":{"price":10,"credit":1500}}`, wantErr: true},
		{name: "no credit", env: `{"a":{"price":1000}}`, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PACKAGE_PLANS", tc.env)
			var cfg config.Purchase
			err := config.Load(context.Background(), &cfg)
			if err == nil {
				err = cfg.Packages.Validate()
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && len(cfg.Packages) != len(tc.want) {
				t.Errorf("packages = %v, want %v", cfg.Packages, tc.want)
			}
			for id, p := range tc.want {
				if cfg.Packages[id] != p {
					t.Errorf("package %s = %+v, want %+v", id, cfg.Packages[id], p)
				}
			}
		})
	}
}

// Rule 4: a package's credit is granted once. A second purchase is refused
// while one is pending (or once a plan is held), also when the two start
// at the same moment; a retry of the same purchase is not a second one.
func TestOnePackagePurchaseAtATime(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	h := addfunds.NewPurchaseServer(b.Verifier, packages, b.Customers, b.Checkout)
	buy := func(userID, key string) testenv.Response {
		req := testenv.Request(http.MethodPost, "/PurchasePackage", b.Issuer.Token(t, userID, ""), map[string]any{"package": "partner-pro"})
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		return testenv.Do(t, h, req)
	}
	first := buy("u1", "k1")
	if first.Status != http.StatusOK {
		t.Fatalf("first purchase: %d %s", first.Status, first.Raw)
	}
	if got := buy("u1", ""); got.Status != http.StatusConflict || got.ErrorCode() != "package_purchase_pending" {
		t.Errorf("a second purchase while the first is pending: %d %s", got.Status, got.Raw)
	}
	if got := buy("u1", "k1"); got.Status != http.StatusOK || got.Body["transactionId"] != first.Body["transactionId"] {
		t.Errorf("a retry of the first: %d %s", got.Status, got.Raw)
	}

	results := make([]testenv.Response, 6)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = buy("u2", fmt.Sprintf("k%d", i)) })
	}
	wg.Wait()
	started := 0
	for _, r := range results {
		switch {
		case r.Status == http.StatusOK:
			started++
		case r.Status != http.StatusConflict || r.ErrorCode() != "package_purchase_pending":
			t.Errorf("concurrent purchase: %d %s", r.Status, r.Raw)
		}
	}
	if started != 1 {
		t.Errorf("%d concurrent purchases started, want 1", started)
	}
}
