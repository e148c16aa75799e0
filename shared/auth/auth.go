// Package auth verifies the console's bearer tokens: JWTs signed with RS256
// or ES256 by a key from AUTH_JWKS_URL, issued by AUTH_ISSUER for
// AUTH_AUDIENCE. The user is the token's subject; nothing in a request body
// can name another user.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"

	"example.com/billing/shared/config"
	"example.com/billing/shared/store"
)

// User is the authenticated caller.
type User struct {
	ID    string
	Email string
}

// ErrUnauthenticated: no token, or one that fails verification. Every error
// of Authenticate wraps it; the HTTP edge answers it with the contract's 401.
var ErrUnauthenticated = errors.New("unauthenticated")

func unauthenticated(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnauthenticated}, args...)...)
}

// Verifier checks bearer tokens. Keys are fetched from the JWKS URL on first
// use and again when a token names an unknown key id, so a key rotation at
// the issuer needs no restart.
type Verifier struct {
	verifier *oidc.IDTokenVerifier
}

// NewVerifier returns a verifier for cfg. It does no network I/O. ctx bounds
// the background key fetches and should live as long as the process.
func NewVerifier(ctx context.Context, cfg config.Auth) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	keys := oidc.NewRemoteKeySet(ctx, cfg.JWKSURL)
	return &Verifier{verifier: oidc.NewVerifier(cfg.Issuer, keys, &oidc.Config{
		ClientID:             cfg.Audience,
		SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256},
	})}, nil
}

// Authenticate returns the user of r's bearer token.
func (v *Verifier) Authenticate(r *http.Request) (User, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return User{}, unauthenticated("no bearer token")
	}
	idToken, err := v.verifier.Verify(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return User{}, unauthenticated("%v", err)
	}
	var claims struct {
		Email string `json:"email"`
	}
	if err := idToken.Claims(&claims); err != nil {
		return User{}, unauthenticated("claims: %v", err)
	}
	if err := store.CheckID(idToken.Subject); err != nil {
		return User{}, unauthenticated("subject: %v", err)
	}
	return User{ID: idToken.Subject, Email: claims.Email}, nil
}
