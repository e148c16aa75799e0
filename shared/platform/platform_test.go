package platform_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"example.com/billing/shared/platform"
	"example.com/billing/shared/testsupport/testenv"
)

func TestConfigReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := platform.ConfigFrom(context.Background(), map[string]string{
		"STRIPE_API_URL":                         "ftp://stripe",
		"AUTH_ISSUER":                            "https://issuer.example",
		"ADD_FUNDS_MIN_CENTS":                    "5000",
		"ADD_FUNDS_MAX_CENTS":                    "100",
		"PACKAGE_PLANS":                          `{"tiny": {"price": 10, "credit": 0}}`,
		"USAGE_PRICE_EGRESS_CENTS_PER_TB":        "-1",
		"DELETION_INVOICE_DAYS":                  "0",
		"REPAIR_BATCH_SIZE":                      "0",
		"USAGE_PRICE_STORAGE_CENTS_PER_TB_MONTH": "400",
	})
	if err == nil {
		t.Fatal("ConfigFrom accepted a broken configuration")
	}
	for _, want := range []string{"STRIPE_API_URL", "AUTH_JWKS_URL is not set", "AUTH_AUDIENCE is not set",
		"package \"tiny\"", "USAGE_PRICE_EGRESS_CENTS_PER_TB", "DELETION_INVOICE_DAYS", "REPAIR_BATCH_SIZE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not mention %q:\n%v", want, err)
		}
	}
	if !strings.Contains(strings.ToLower(err.Error()), "min") {
		t.Errorf("the error does not mention the add-funds range:\n%v", err)
	}
}

func TestConfigDefaultsAreValidWithoutAnyVariable(t *testing.T) {
	t.Parallel()
	cfg, err := platform.ConfigFrom(context.Background(), map[string]string{})
	if err != nil {
		t.Fatalf("an empty environment must be a valid configuration (every function may run without the others' variables): %v", err)
	}
	if cfg.Sweeps.RepairBatch != 100 || cfg.Deletion.DaysUntilDue != 30 || !cfg.AddFunds.Enabled {
		t.Errorf("defaults = %+v", cfg)
	}
}

// A console function deployed without AUTH_* refuses every request as
// misconfigured; the webhook, which needs no console tokens, still builds.
func TestConsoleFunctionWithoutAuthIsMisconfigured(t *testing.T) {
	t.Parallel()
	b := testenv.NewBillingEnv(t, map[string]string{"AUTH_JWKS_URL": "", "AUTH_ISSUER": "", "AUTH_AUDIENCE": ""})
	h := b.Console("Balance", func(s *platform.Services) http.Handler {
		t.Error("a console function was built without a token verifier")
		return nil
	})
	res := testenv.Do(t, h, testenv.Request(http.MethodGet, "/Balance", "", nil))
	if res.Status != http.StatusInternalServerError || res.ErrorCode() != "service_misconfigured" {
		t.Errorf("answer = %d %s, want 500 service_misconfigured", res.Status, res.Raw)
	}
}

// Console functions answer the console's origins with CORS, from the same
// Config as the rest, also when the answer is an error; other origins get
// no grant.
func TestConsoleFunctionsGrantCORSToTheConfiguredOrigins(t *testing.T) {
	t.Parallel()
	const console = "https://console.example.com"
	b := testenv.NewBillingEnv(t, map[string]string{"CORS_ALLOWED_ORIGINS": console})
	h := b.Console("Balance", func(s *platform.Services) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	})
	cases := []struct {
		name, method, origin, wantAllow string
		wantStatus                      int
	}{
		{"preflight from the console", http.MethodOptions, console, console, http.StatusNoContent},
		{"call from the console", http.MethodGet, console, console, http.StatusTeapot},
		{"preflight from another origin", http.MethodOptions, "https://evil.example", "", http.StatusNoContent},
		{"call from another origin", http.MethodGet, "https://evil.example", "", http.StatusTeapot},
	}
	for _, tc := range cases {
		req := testenv.Request(tc.method, "/Balance", "", nil)
		req.Header.Set("Origin", tc.origin)
		if tc.method == http.MethodOptions {
			req.Header.Set("Access-Control-Request-Method", http.MethodGet)
			req.Header.Set("Access-Control-Request-Headers", "authorization")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tc.wantAllow || rec.Code != tc.wantStatus {
			t.Errorf("%s: %d, Access-Control-Allow-Origin %q; want %d, %q", tc.name, rec.Code, got, tc.wantStatus, tc.wantAllow)
		}
	}
}
