package flows_test

import (
	"context"
	"net/http"
	"slices"
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
	hook := webhook.NewServer([]string{testenv.WebhookSecret}, b.Ledger, nil, nil, b.Payments) // no invoice events here
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
			hook := webhook.NewServer([]string{testenv.WebhookSecret}, b.Ledger, nil, nil, b.Payments)
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
