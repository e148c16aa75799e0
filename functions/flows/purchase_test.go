package flows_test

import (
	"context"
	"net/http"
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
