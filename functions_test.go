package billing

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/go-jose/go-jose/v4"

	"example.com/billing/shared/testsupport/stripetest"
	"example.com/billing/shared/testsupport/testenv"
)

// The production graph, exactly as a deployed function builds it: from the
// environment (emulators, the Stripe double, a token issuer), through the
// entry points init registered, served by the functions framework.
func TestEntryPointsServeTheProductionGraphFromTheEnvironment(t *testing.T) {
	testenv.Env(t, "FIRESTORE_EMULATOR_HOST")
	testenv.Env(t, "PUBSUB_EMULATOR_HOST")
	double := stripetest.New(t)
	iss := testenv.NewIssuer(t, jose.ES256)
	auth := iss.Config()
	for k, v := range map[string]string{
		"FUNCTION_TARGET":       "",
		"GOOGLE_CLOUD_PROJECT":  testenv.ProjectID(t),
		"STRIPE_SECRET_KEY":     stripetest.Key,
		"STRIPE_API_URL":        double.URL(),
		"STRIPE_WEBHOOK_SECRET": testenv.WebhookSecret,
		"AUTH_JWKS_URL":         auth.JWKSURL,
		"AUTH_ISSUER":           auth.Issuer,
		"AUTH_AUDIENCE":         auth.Audience,
	} {
		t.Setenv(k, v)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	host, port, _ := net.SplitHostPort(addr)
	go func() { _ = funcframework.StartHostPort(host, port) }()

	token := iss.Token(t, "graph-user", "graph@example.com")
	call := func(method, path, body string, header map[string]string) (int, map[string]any) {
		t.Helper()
		var resp *http.Response
		for i := 0; ; i++ {
			req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range header {
				req.Header.Set(k, v)
			}
			if resp, err = http.DefaultClient.Do(req); err == nil {
				break
			}
			if i == 100 {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s answered %d %q", method, path, resp.StatusCode, raw)
		}
		return resp.StatusCode, out
	}
	bearer := map[string]string{"Authorization": "Bearer " + token}

	if code, body := call(http.MethodGet, "/Balance", "", bearer); code != http.StatusOK || body["balance"].(map[string]any)["amount"] != 0.0 {
		t.Errorf("GET /Balance = %d %v, want 200 with a zero balance", code, body)
	}
	if code, body := call(http.MethodGet, "/Balance", "", nil); code != http.StatusUnauthorized {
		t.Errorf("GET /Balance without a token = %d %v, want 401", code, body)
	}
	code, setup := call(http.MethodPost, "/AccountSetup", "{}", bearer)
	if code != http.StatusOK || setup["paymentsStatus"] != "ready" {
		t.Fatalf("POST /AccountSetup = %d %v, want 200 ready", code, setup)
	}
	if got := double.Customers(); len(got) != 1 || got[0].ID != setup["customerId"] {
		t.Errorf("customers in Stripe = %v, want exactly the one AccountSetup returned (%v)", got, setup["customerId"])
	}
	if code, acct := call(http.MethodGet, "/Account", "", bearer); code != http.StatusOK || acct["customerId"] != setup["customerId"] {
		t.Errorf("GET /Account = %d %v, want the customer of AccountSetup", code, acct)
	}
	if code, body := call(http.MethodPost, "/StripeWebhook", `{"id":"evt_1"}`, map[string]string{"Stripe-Signature": "t=1,v1=00"}); code != http.StatusBadRequest {
		t.Errorf("POST /StripeWebhook with a bad signature = %d %v, want 400 (the webhook is built with the environment's secrets)", code, body)
	}
}
