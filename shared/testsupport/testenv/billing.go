package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/go-jose/go-jose/v4"

	"example.com/billing/shared/auth"
	"example.com/billing/shared/checkout"
	"example.com/billing/shared/config"
	"example.com/billing/shared/customer"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/testsupport/stripetest"
)

// WebhookSecret is the signing secret Billing's webhook trusts.
const WebhookSecret = "whsec_test_billing"

// Billing is the real wiring of the functions' dependencies for one test:
// a Firestore emulator project of its own, the stateful Stripe double reached
// through the real stripe-go client, and a token issuer with its JWKS.
type Billing struct {
	Project   string // the emulator project of FS
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

// NewBilling wires everything for t.
func NewBilling(t testing.TB) *Billing {
	t.Helper()
	project := ProjectID(t)
	fs := FirestoreProject(t, project)
	double := stripetest.New(t)
	pay := payments.New(config.Stripe{SecretKey: stripetest.Key, APIURL: double.URL(), WebhookSecrets: []string{WebhookSecret}},
		&http.Client{Timeout: 10 * time.Second})
	iss := NewIssuer(t, jose.ES256)
	v, err := auth.NewVerifier(context.Background(), iss.Config())
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(fs)
	customers := customer.New(fs, pay)
	return &Billing{
		Project: project, FS: fs, Stripe: double, Payments: pay, Issuer: iss, Verifier: v,
		Ledger:    l,
		Customers: customers,
		Checkout:  checkout.New(customers, pay, l),
		Settings:  config.NewSettingsStore(fs, DefaultSettings, 0),
	}
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
