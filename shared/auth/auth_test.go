package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"example.com/billing/shared/auth"
	"example.com/billing/shared/httpx"
	"example.com/billing/shared/testsupport/devauth"
	"example.com/billing/shared/testsupport/testenv"
)

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	rsa := testenv.NewIssuer(t, jose.RS256)
	ec := testenv.NewIssuer(t, jose.ES256)
	stranger := testenv.NewIssuer(t, jose.ES256) // a key the JWKS does not hold

	mint := func(iss *testenv.Issuer, c devauth.Claims) string {
		tok, err := iss.Mint(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cases := []struct {
		name     string
		issuer   *testenv.Issuer // whose JWKS the verifier trusts
		header   string
		wantUser auth.User
	}{
		{name: "RS256", issuer: rsa, header: "Bearer " + mint(rsa, devauth.Claims{Subject: "u1", Email: "a@example.com"}), wantUser: auth.User{ID: "u1", Email: "a@example.com"}},
		{name: "ES256", issuer: ec, header: "Bearer " + mint(ec, devauth.Claims{Subject: "u2"}), wantUser: auth.User{ID: "u2"}},
		{name: "scheme is case-insensitive", issuer: ec, header: "bearer " + mint(ec, devauth.Claims{Subject: "u2"}), wantUser: auth.User{ID: "u2"}},
		{name: "audience among several", issuer: ec, header: "Bearer " + mint(ec, devauth.Claims{Subject: "u3", Audience: []string{"other", devauth.Audience}}), wantUser: auth.User{ID: "u3"}},
		{name: "missing header", issuer: ec, header: ""},
		{name: "not bearer", issuer: ec, header: "Basic dTpw"},
		{name: "empty token", issuer: ec, header: "Bearer "},
		{name: "garbage", issuer: ec, header: "Bearer not.a.jwt"},
		{name: "expired", issuer: ec, header: "Bearer " + mint(ec, devauth.Claims{Subject: "u", Expiry: time.Now().Add(-time.Minute)})},
		{name: "forged: signed by another key", issuer: ec, header: "Bearer " + mint(stranger, devauth.Claims{Subject: "u"})},
		{name: "wrong issuer", issuer: ec, header: "Bearer " + mint(ec, devauth.Claims{Subject: "u", Issuer: "https://evil.example"})},
		{name: "wrong audience", issuer: ec, header: "Bearer " + mint(ec, devauth.Claims{Subject: "u", Audience: []string{"someone-else"}})},
		{name: "subject that cannot name an account", issuer: ec, header: "Bearer " + mint(ec, devauth.Claims{Subject: "a/b"})},
		{name: "no subject", issuer: ec, header: "Bearer " + mint(ec, devauth.Claims{})},
		{name: "alg none", issuer: ec, header: "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1IiwiaXNzIjoiaHR0cHM6Ly9hdXRoLmJpbGxpbmcubG9jYWwiLCJhdWQiOiJiaWxsaW5nLWNvbnNvbGUiLCJleHAiOjQxMDI0NDQ4MDB9."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := auth.NewVerifier(context.Background(), tc.issuer.Config())
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			got, err := v.Authenticate(r)
			if tc.wantUser.ID != "" {
				if err != nil || got != tc.wantUser {
					t.Fatalf("Authenticate = %+v, %v; want %+v", got, err, tc.wantUser)
				}
				return
			}
			var he *httpx.Error
			if !errors.Is(err, auth.ErrUnauthenticated) || !errors.As(httpx.Errors{}.Map(err), &he) || he.Status != http.StatusUnauthorized {
				t.Fatalf("Authenticate = %+v, %v; want a 401 unauthenticated error", got, err)
			}
		})
	}
}

func TestNewVerifierRejectsIncompleteConfig(t *testing.T) {
	t.Parallel()
	if _, err := auth.NewVerifier(context.Background(), testenv.NewIssuer(t, jose.ES256).Config()); err != nil {
		t.Fatalf("complete config: %v", err)
	}
	cfg := testenv.NewIssuer(t, jose.ES256).Config()
	cfg.Issuer, cfg.Audience = "", ""
	if _, err := auth.NewVerifier(context.Background(), cfg); err == nil {
		t.Fatal("missing issuer and audience: no error")
	}
}
