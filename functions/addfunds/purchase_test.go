package addfunds_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"example.com/billing/functions/addfunds"
	"example.com/billing/functions/webhook"
	"example.com/billing/shared/config"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/testenv"
)

var packages = config.Packages{"partner-pro": {Price: 10000, Credit: 15000}}

func TestPurchasePackageBeforeAnySetupCreditsOnce(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	h := addfunds.NewPurchaseServer(b.Verifier, packages, b.Customers, b.Checkout)
	hook := webhook.NewServer([]string{testenv.WebhookSecret}, b.Ledger, nil, nil) // no invoice events here
	token := b.Issuer.Token(t, "newcomer", "n@example.com")

	// No AccountSetup, no activation: the purchase ensures the customer first.
	got := testenv.Do(t, h, testenv.Request(http.MethodPost, "/PurchasePackage", token, map[string]any{"package": "partner-pro"}))
	if got.Status != http.StatusOK || got.Body["package"] != "partner-pro" || got.Body["amount"] != 10000.0 {
		t.Fatalf("purchase: %d %s", got.Status, got.Raw)
	}
	piID := got.Body["paymentIntentId"].(string)
	pi, _ := b.Stripe.PaymentIntent(piID)
	custs := b.Stripe.Customers()
	if len(custs) != 1 || pi.Customer == nil || pi.Customer.ID != custs[0].ID || pi.Amount != 10000 {
		t.Fatalf("customers %d, intent %+v: want the price charged to the user's one customer", len(custs), pi)
	}
	if pi.Metadata["kind"] != ledger.TypePackagePurchase || pi.Metadata["package_id"] != "partner-pro" {
		t.Errorf("metadata = %v", pi.Metadata)
	}

	if _, err := b.Stripe.SucceedPaymentIntent(piID); err != nil {
		t.Fatal(err)
	}
	ev, _ := b.Stripe.LastEvent("payment_intent.succeeded", piID)
	for range 2 {
		if got := testenv.Do(t, hook, testenv.WebhookRequest(ev.Payload, testenv.WebhookSecret)); got.Status != http.StatusOK {
			t.Fatalf("webhook: %d %s", got.Status, got.Raw)
		}
	}
	bal, _ := b.Ledger.Balance(context.Background(), "newcomer")
	if bal.Amount != 15000 {
		t.Errorf("balance = %d, want the package credit 15000, once", bal.Amount)
	}
	acct, _ := b.Customers.Get(context.Background(), "newcomer")
	if acct.Plan != "partner-pro" || acct.PlanPurchasedAt == nil || acct.PaymentsStatus != "ready" {
		t.Errorf("account = %+v, want the plan recorded", acct)
	}
	page, _ := b.Ledger.History(context.Background(), "newcomer", 10, "")
	if tx := page.Transactions[0]; tx.Type != ledger.TypePackagePurchase || tx.Amount != 15000 || tx.ChargeAmount != 10000 || tx.Status != ledger.StatusSucceeded {
		t.Errorf("transaction = %+v", tx)
	}

	// A plan is bought once.
	if got := testenv.Do(t, h, testenv.Request(http.MethodPost, "/PurchasePackage", token, map[string]any{"package": "partner-pro"})); got.Status != http.StatusConflict || got.ErrorCode() != "package_already_purchased" {
		t.Errorf("second purchase: %d %s", got.Status, got.Raw)
	}
}

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

// Rule 4, settled: two purchases paid anyway (the first declined, then
// paid with another card after the second began) grant the package's
// credit once; the other is credited at its price, whichever Stripe
// reports first.
func TestTwoPackagesPaidAnywayCreditOnce(t *testing.T) {
	t.Parallel()
	for _, order := range []string{"first paid first", "second paid first"} {
		t.Run(order, func(t *testing.T) {
			t.Parallel()
			b := testenv.NewBilling(t)
			h := addfunds.NewPurchaseServer(b.Verifier, packages, b.Customers, b.Checkout)
			hook := webhook.NewServer([]string{testenv.WebhookSecret}, b.Ledger, nil, nil)
			token := b.Issuer.Token(t, "u1", "")
			declined := testenv.Do(t, h, testenv.Request(http.MethodPost, "/PurchasePackage", token,
				map[string]any{"package": "partner-pro", "paymentMethodId": "pm_card_chargeDeclined"}))
			if declined.Status != http.StatusPaymentRequired {
				t.Fatalf("declined purchase: %d %s", declined.Status, declined.Raw)
			}
			second := testenv.Do(t, h, testenv.Request(http.MethodPost, "/PurchasePackage", token, map[string]any{"package": "partner-pro"}))
			if second.Status != http.StatusOK {
				t.Fatalf("purchase after a declined one: %d %s", second.Status, second.Raw)
			}
			var intents []string
			for _, pi := range b.Stripe.PaymentIntents() {
				intents = append(intents, pi.ID)
			}
			if order == "second paid first" {
				slices.Reverse(intents)
			}
			for _, id := range intents {
				if _, err := b.Stripe.SucceedPaymentIntent(id); err != nil {
					t.Fatal(err)
				}
				ev, _ := b.Stripe.LastEvent("payment_intent.succeeded", id)
				if got := testenv.Do(t, hook, testenv.WebhookRequest(ev.Payload, testenv.WebhookSecret)); got.Status != http.StatusOK || got.Body["result"] != ledger.ResultApplied {
					t.Fatalf("webhook: %d %s", got.Status, got.Raw)
				}
			}
			bal, _ := b.Ledger.Balance(context.Background(), "u1")
			if bal.Amount != 15000+10000 {
				t.Errorf("balance = %d, want the package credit once (15000) and the other purchase at its price (10000)", bal.Amount)
			}
			if acct, _ := b.Customers.Get(context.Background(), "u1"); acct.Plan != "partner-pro" {
				t.Errorf("plan = %q", acct.Plan)
			}
		})
	}
}
