package settings_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"example.com/billing/functions/settings"
	"example.com/billing/shared/config"
	"example.com/billing/shared/testsupport/testenv"
)

func TestBillingSettings(t *testing.T) {
	t.Parallel()
	plans := config.Packages{"partner-pro": {Price: 10000, Credit: 15000}, "partner-basic": {Price: 5000, Credit: 6000}}
	cases := []struct {
		name     string
		doc      map[string]any // config/billing; nil: none
		packages config.Packages
		key      string
		want     string
	}{
		{
			name: "the defaults, no plans, no key",
			want: `{"addFundsEnabled":true,"addFundsMinAmount":1000,"addFundsMaxAmount":250000,"currency":"usd","packages":[]}`,
		},
		{
			name: "config/billing overrides, plans by id, the key",
			doc:  map[string]any{"addFundsEnabled": false, "addFundsMinCents": 500}, packages: plans, key: "pk_test_123",
			want: `{"addFundsEnabled":false,"addFundsMinAmount":500,"addFundsMaxAmount":250000,"currency":"usd",` +
				`"packages":[{"id":"partner-basic","price":5000,"credit":6000},{"id":"partner-pro","price":10000,"credit":15000}],` +
				`"stripePublishableKey":"pk_test_123"}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := testenv.NewBilling(t)
			if tc.doc != nil {
				if _, err := b.FS.Doc(config.SettingsDocument).Set(context.Background(), tc.doc); err != nil {
					t.Fatal(err)
				}
			}
			h := settings.NewServer(b.Verifier, b.Settings, tc.packages, tc.key)
			got := testenv.Do(t, h, testenv.Request(http.MethodGet, "/BillingSettings", b.Issuer.Token(t, "u1", ""), nil))
			if got.Status != http.StatusOK {
				t.Fatalf("status %d: %s", got.Status, got.Raw)
			}
			if diff := cmp.Diff(tc.want+"\n", got.Raw); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if cc := got.Header.Get("Cache-Control"); cc != settings.CacheControl {
				t.Errorf("Cache-Control = %q, want %q", cc, settings.CacheControl)
			}
		})
	}
}

func TestBillingSettingsRefuses(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	h := settings.NewServer(b.Verifier, b.Settings, nil, "")
	cases := []struct {
		name       string
		method     string
		token      string
		wantStatus int
		wantCode   string
	}{
		{name: "no token", method: http.MethodGet, wantStatus: http.StatusUnauthorized, wantCode: "unauthenticated"},
		{name: "a token of another issuer", method: http.MethodGet, token: "eyJhbGciOiJub25lIn0.e30.", wantStatus: http.StatusUnauthorized, wantCode: "unauthenticated"},
		{name: "POST", method: http.MethodPost, token: b.Issuer.Token(t, "u1", ""), wantStatus: http.StatusMethodNotAllowed, wantCode: "method_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := testenv.Do(t, h, testenv.Request(tc.method, "/BillingSettings", tc.token, nil))
			if got.Status != tc.wantStatus || got.ErrorCode() != tc.wantCode {
				t.Errorf("got %d %s, want %d %s", got.Status, got.Raw, tc.wantStatus, tc.wantCode)
			}
			if cc := got.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("an error's Cache-Control = %q, want no-store", cc)
			}
		})
	}
}
