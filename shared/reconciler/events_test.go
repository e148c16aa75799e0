package reconciler_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"example.com/billing/functions/webhook"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/testenv"
)

// Rule 8: Reconcile applies every handled event whose webhook never came
// (here: a payment, a partial refund, a chargeback), through the
// webhook's own path and with the event's own id, so the webhook arriving
// late is a duplicate and running again changes nothing.
func TestReconcileAppliesEventsTheWebhookMissed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	refunded := e.start(t, "u1", 5000)
	disputed := e.start(t, "u2", 3000)
	for _, id := range []string{refunded.Intent.ID, disputed.Intent.ID} {
		if _, err := e.Stripe.SucceedPaymentIntent(id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Stripe.Client().Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(refunded.Intent.ID), Amount: stripe.Int64(1500)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Stripe.OpenDispute(disputed.Intent.ID, 0, false); err != nil {
		t.Fatal(err)
	}

	r, err := e.svc.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Events.Failed != 0 || r.Events.Applied == 0 {
		t.Errorf("events report = %+v, want some applied and none failed", r.Events)
	}
	if got := e.balance(t, "u1"); got != 3500 {
		t.Errorf("u1 balance = %d, want 5000 - 1500 refunded", got)
	}
	if got := e.balance(t, "u2"); got != 0 {
		t.Errorf("u2 balance = %d, want 3000 - 3000 withdrawn", got)
	}

	// The webhooks arriving late, and reconciling again, change nothing.
	hook, err := webhook.New(e.Services)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range e.Stripe.Events() {
		got := testenv.Do(t, hook, testenv.WebhookRequest(ev.Payload, testenv.WebhookSecret))
		if got.Status != http.StatusOK {
			t.Fatalf("late %s: %d %s", ev.Type, got.Status, got.Raw)
		}
		if typ := ev.Type; typ == "charge.refunded" || typ == "charge.dispute.funds_withdrawn" {
			if got.Body["result"] != ledger.ResultDuplicate {
				t.Errorf("late %s: %s, want duplicate", typ, got.Raw)
			}
		}
	}
	if r, err := e.svc.Reconcile(ctx); err != nil || r.Fixed != 0 || r.Events.Applied != 0 {
		t.Errorf("second run: %+v, %v; want nothing applied", r, err)
	}
	if e.balance(t, "u1") != 3500 || e.balance(t, "u2") != 0 {
		t.Errorf("balances %d, %d after the late webhooks, want 3500, 0", e.balance(t, "u1"), e.balance(t, "u2"))
	}
}
