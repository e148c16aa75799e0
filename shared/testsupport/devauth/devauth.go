// Package devauth is a local stand-in for the console's identity provider,
// for development and tests only: it holds a signing key, serves its JWKS,
// and mints tokens for any user id. Production never imports it; there the
// tokens come from the real issuer named by AUTH_JWKS_URL.
package devauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Defaults of the local stack.
const (
	Issuer   = "https://auth.billing.local"
	Audience = "billing-console"
)

// TokenIssuer signs tokens with one key.
type TokenIssuer struct {
	Issuer   string
	Audience string
	key      crypto.Signer
	alg      jose.SignatureAlgorithm
	kid      string
}

// New returns an issuer with a fresh key: RS256 (RSA 2048) or ES256 (P-256).
func New(issuer, audience string, alg jose.SignatureAlgorithm) (*TokenIssuer, error) {
	var key crypto.Signer
	var err error
	switch alg {
	case jose.RS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("unsupported algorithm %s", alg)
	}
	if err != nil {
		return nil, err
	}
	return fromKey(issuer, audience, key)
}

func fromKey(issuer, audience string, key crypto.Signer) (*TokenIssuer, error) {
	t := &TokenIssuer{Issuer: issuer, Audience: audience, key: key}
	switch key.(type) {
	case *rsa.PrivateKey:
		t.alg = jose.RS256
	case *ecdsa.PrivateKey:
		t.alg = jose.ES256
	default:
		return nil, fmt.Errorf("unsupported key type %T", key)
	}
	thumb, err := (&jose.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	t.kid = fmt.Sprintf("%x", thumb[:8])
	return t, nil
}

// LoadOrCreate reads the PEM key at path, creating an ES256 key there on
// first use, so the local server and the token tool agree across restarts.
func LoadOrCreate(path, issuer, audience string) (*TokenIssuer, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t, err := New(issuer, audience, jose.ES256)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(t.key)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, err
		}
		return t, nil
	}
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: not a signing key", path)
	}
	return fromKey(issuer, audience, signer)
}

// Claims are a token's contents; zero fields get defaults in Mint.
type Claims struct {
	Subject  string
	Email    string
	Issuer   string
	Audience []string
	Expiry   time.Time
}

// Mint signs a token for claims, defaulting the issuer, the audience and a
// one-hour expiry.
func (t *TokenIssuer) Mint(c Claims) (string, error) {
	if c.Issuer == "" {
		c.Issuer = t.Issuer
	}
	if c.Audience == nil {
		c.Audience = []string{t.Audience}
	}
	now := time.Now()
	if c.Expiry.IsZero() {
		c.Expiry = now.Add(time.Hour)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: t.alg, Key: t.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", t.kid))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(jwt.Claims{
		Subject:  c.Subject,
		Issuer:   c.Issuer,
		Audience: jwt.Audience(c.Audience),
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(c.Expiry),
	}).Claims(map[string]any{"email": c.Email}).Serialize()
}

// JWKS serves the public key set.
func (t *TokenIssuer) JWKS() http.Handler {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: t.key.Public(), KeyID: t.kid, Algorithm: string(t.alg), Use: "sig"}}}
	body, _ := json.Marshal(set)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
}
