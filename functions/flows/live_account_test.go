package flows_test

import (
	"context"
	"net/http"
	"testing"

	"cloud.google.com/go/firestore"

	"example.com/billing/functions/addfunds"
	"example.com/billing/functions/webhook"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/testenv"
)

// Money lands only on a live account. A payment that succeeds after the
// account started closing (it raced the deletion) is not credited: the
// ledger records it with a refund of the same amount, the webhook makes the
// refund in Stripe, and neither a redelivery nor Stripe's charge.refunded
// moves the balance.
func TestPaymentToAClosingAccountGoesBackToItsCard(t *testing.T) {
	t.Parallel()
	c := testenv.NewClosing(t)
	ctx := context.Background()
	hook, err := webhook.New(c.Services)
	if err != nil {
		t.Fatal(err)
	}
	add := addfunds.New(c.Services)
	got := testenv.Do(t, add, testenv.Request(http.MethodPost, "/AddFunds", c.Issuer.Token(t, "u1", "u1@example.com"), map[string]any{"amount": 2500}))
	if got.Status != http.StatusOK {
		t.Fatalf("AddFunds: %d %s", got.Status, got.Raw)
	}
	piID, txID := got.Body["paymentIntentId"].(string), got.Body["transactionId"].(string)
	// The deletion wins the race: the account is closing when the card
	// holder's payment goes through.
	if _, err := c.FS.Doc("accounts/u1").Set(ctx, map[string]any{"status": "pending_deletion"}, firestore.MergeAll); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stripe.SucceedPaymentIntent(piID); err != nil {
		t.Fatal(err)
	}
	paid, _ := c.Stripe.LastEvent("payment_intent.succeeded", piID)
	for range 2 {
		if r := testenv.Do(t, hook, testenv.WebhookRequest(paid.Payload, testenv.WebhookSecret)); r.Status != http.StatusOK {
			t.Fatalf("webhook: %d %s", r.Status, r.Raw)
		}
	}
	refunds := c.Stripe.Refunds()
	if len(refunds) != 1 || refunds[0].Amount != 2500 || refunds[0].PaymentIntent.ID != piID {
		t.Fatalf("refunds = %+v, want the whole payment back to its card once", refunds)
	}
	refunded, ok := c.Stripe.LastEvent("charge.refunded", "")
	if !ok {
		for _, ev := range c.Stripe.Events() {
			if ev.Type == "charge.refunded" {
				refunded, ok = ev, true
			}
		}
	}
	if !ok {
		t.Fatal("no charge.refunded event")
	}
	if r := testenv.Do(t, hook, testenv.WebhookRequest(refunded.Payload, testenv.WebhookSecret)); r.Status != http.StatusOK {
		t.Fatalf("charge.refunded: %d %s", r.Status, r.Raw)
	}
	if b, err := c.Ledger.Balance(ctx, "u1"); err != nil || b.Amount != 0 {
		t.Errorf("balance = %d, %v; want 0: money lands only on a live account", b.Amount, err)
	}
	back, err := c.Ledger.Transaction(ctx, "u1", ledger.ReturnEntryPrefix+txID)
	if err != nil || back.Status != ledger.StatusSucceeded || back.RefundID != refunds[0].ID || back.Amount != -2500 {
		t.Errorf("return entry = %+v, %v; want the 2500 refund, done", back, err)
	}
}
