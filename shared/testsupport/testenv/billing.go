package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"github.com/go-jose/go-jose/v4"

	"example.com/billing/shared/auth"
	"example.com/billing/shared/checkout"
	"example.com/billing/shared/config"
	"example.com/billing/shared/customer"
	"example.com/billing/shared/events"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/platform"
	"example.com/billing/shared/testsupport/stripetest"
)

// WebhookSecret is the signing secret Billing's webhook trusts.
const WebhookSecret = "whsec_test_billing"

// Billing is the production graph (platform.New) built for one test: a
// Firestore emulator project of its own, the Pub/Sub emulator, the stateful
// Stripe double reached through the real stripe-go client, and a token
// issuer with its JWKS. The fields name the services tests use most.
type Billing struct {
	Project   string // the emulator project of FS
	Env       map[string]string
	Services  *platform.Services
	FS        *firestore.Client
	Stripe    *stripetest.Server
	Payments  *payments.Client
	Issuer    *Issuer
	Verifier  *auth.Verifier
	Ledger    *ledger.Ledger
	Customers *customer.Service
	Checkout  *checkout.Service
	// Settings reads config/billing on every request (no cache), so tests
	// see a change at once.
	Settings *config.SettingsStore
}

// DefaultSettings are the contract's add-funds defaults.
var DefaultSettings = config.Settings{AddFundsEnabled: true, AddFundsMinCents: 1000, AddFundsMaxCents: 250000}

// NewBilling builds the graph for t.
func NewBilling(t testing.TB) *Billing { return NewBillingEnv(t, nil) }

// NewBillingEnv builds the graph for t from the test's environment plus
// vars (e.g. PACKAGE_PLANS), which win.
func NewBillingEnv(t testing.TB, vars map[string]string) *Billing {
	t.Helper()
	Env(t, "FIRESTORE_EMULATOR_HOST")
	Env(t, "PUBSUB_EMULATOR_HOST")
	project := ProjectID(t)
	double := stripetest.New(t)
	iss := NewIssuer(t, jose.ES256)
	issuer := iss.Config()
	env := map[string]string{
		"GOOGLE_CLOUD_PROJECT":  project,
		"STRIPE_SECRET_KEY":     stripetest.Key,
		"STRIPE_API_URL":        double.URL(),
		"STRIPE_WEBHOOK_SECRET": WebhookSecret,
		"AUTH_JWKS_URL":         issuer.JWKSURL,
		"AUTH_ISSUER":           issuer.Issuer,
		"AUTH_AUDIENCE":         issuer.Audience,
	}
	maps.Copy(env, vars)
	cfg, err := platform.ConfigFrom(context.Background(), env)
	if err != nil {
		t.Fatalf("configuration: %v", err)
	}
	s, err := platform.New(context.Background(), cfg, platform.Options{
		StripeHTTP:    &http.Client{Timeout: 10 * time.Second},
		FreshSettings: true,
	})
	if err != nil {
		t.Fatalf("build the services: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return &Billing{
		Project: project, Env: env, Services: s, FS: s.Firestore, Stripe: double, Payments: s.Payments,
		Issuer: iss, Verifier: s.Verifier, Ledger: s.Ledger, Customers: s.Customers, Checkout: s.Checkout, Settings: s.Settings,
	}
}

// Console is the production handler of a console function, as functions.go
// registers it, built on b's graph.
func (b *Billing) Console(function string, build func(*platform.Services) http.Handler) http.Handler {
	return platform.ServeConsole(platform.Of(b.Services), function, build)
}

// Response is a recorded answer with its JSON body decoded.
type Response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// ErrorCode is the contract error code of the answer, if any.
func (r Response) ErrorCode() string {
	e, _ := r.Body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// Do sends req to h and decodes the answer. At a path of the OpenAPI
// document, the exchange must agree with it (CheckContract).
func Do(t testing.TB, h http.Handler, req *http.Request) Response {
	t.Helper()
	res, raw := record(t, h, req)
	out := Response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			t.Fatalf("answer is not JSON: %q", raw)
		}
	}
	return out
}

// Request builds a request with an optional bearer token and a JSON body
// (a string or []byte is sent as is).
func Request(method, path, token string, body any) *http.Request {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// WebhookRequest is Stripe delivering payload, signed with secret now.
func WebhookRequest(payload []byte, secret string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/StripeWebhook", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", stripetest.SignatureHeader(payload, secret, time.Now()))
	return req
}

// Topics creates every topic of shared/events in b's emulator project, so
// the graph's outbox can publish, and returns what a subscriber of a topic
// receives within wait.
func (b *Billing) Topics(t testing.TB) func(topic string, wait time.Duration) []*pubsub.Message {
	t.Helper()
	c, err := pubsub.NewClient(context.Background(), b.Project)
	if err != nil {
		t.Fatalf("pubsub client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	var names []string
	for _, topic := range events.Topics {
		names = append(names, topic.Name)
	}
	return Topics(t, c, b.Project, names...)
}
