package config_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"example.com/billing/shared/config"
)

func TestCORSOrigins(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		origins []string
		want    []string
		wantErr bool
	}{
		{name: "none", want: nil},
		{name: "exact origins, trimmed", origins: []string{" https://console.example.com", "http://127.0.0.1:8081 ", ""},
			want: []string{"https://console.example.com", "http://127.0.0.1:8081"}},
		{name: "wildcard", origins: []string{"*"}, wantErr: true},
		{name: "wildcard subdomain", origins: []string{"https://*.example.com"}, wantErr: true},
		{name: "a path", origins: []string{"https://console.example.com/billing"}, wantErr: true},
		{name: "a trailing slash", origins: []string{"https://console.example.com/"}, wantErr: true},
		{name: "no scheme", origins: []string{"console.example.com"}, wantErr: true},
		{name: "another scheme", origins: []string{"ftp://console.example.com"}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := config.CORS{AllowedOrigins: tc.origins}
			if err := c.Validate(); (err != nil) != tc.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if diff := cmp.Diff(tc.want, c.Origins()); diff != "" {
				t.Errorf("Origins() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStripePublishableRefusesSecretKeys(t *testing.T) {
	t.Parallel()
	cases := []struct {
		key     string
		wantErr bool
	}{
		{key: ""},
		{key: "pk_test_123"},
		{key: "pk_live_123"},
		{key: "sk_test_123", wantErr: true},
		{key: "rk_live_123", wantErr: true},
	}
	for _, tc := range cases {
		err := config.StripePublishable{Key: tc.key}.Validate()
		if (err != nil) != tc.wantErr {
			t.Errorf("Validate(%q) = %v, want error %v", tc.key, err, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), tc.key) {
			t.Errorf("the error repeats the key: %v", err)
		}
	}
}
