package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"example.com/billing/functions/webhook"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/stripetest"
	"example.com/billing/shared/testsupport/testenv"
)

func TestSecretRotation(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	h := webhook.NewServer([]string{"whsec_old", testenv.WebhookSecret}, b.Ledger, nil, nil, nil)
	for i, secret := range []string{"whsec_old", testenv.WebhookSecret} {
		payload := stripetest.NewEvent(fmt.Sprintf("evt_rot_%d", i), "charge.succeeded", map[string]any{"id": "ch_1", "object": "charge"}, time.Now())
		if got := testenv.Do(t, h, testenv.WebhookRequest(payload, secret)); got.Status != http.StatusOK {
			t.Errorf("signed with %s: %d %s", secret, got.Status, got.Raw)
		}
	}
}

func TestFirestoreDownIsTransient(t *testing.T) {
	t.Parallel()
	dead := ledger.New(testenv.UnreachableFirestore(t))
	h := webhook.NewServer([]string{testenv.WebhookSecret}, dead, nil, nil, nil)
	payload := stripetest.NewEvent("evt_1", "payment_intent.succeeded", map[string]any{"id": "pi_1", "object": "payment_intent",
		"metadata": map[string]string{"user_id": "u", "transaction_id": "tx"}}, time.Now())
	req := testenv.WebhookRequest(payload, testenv.WebhookSecret)
	ctx, cancel := context.WithTimeout(req.Context(), 3*time.Second)
	defer cancel()
	got := testenv.Do(t, h, req.WithContext(ctx))
	if got.Status != http.StatusServiceUnavailable || got.ErrorCode() != "temporarily_unavailable" {
		t.Errorf("answer %d %s, want 503 so that Stripe retries", got.Status, got.Raw)
	}
}
