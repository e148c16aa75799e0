package flows_test

import (
	"context"
	"testing"

	"example.com/billing/shared/closing"
)

// A final invoice paid whose invoice.paid never arrived: Reconcile lists
// the event and applies it through the webhook's path, and the deletion
// completes.
func TestReconcileAppliesALostInvoicePaid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fund(t, "u1", 500)
	e.UseOneMonth(t, "u1")
	if got := e.request(t, "u1"); got.Status != 200 || got.Body["state"] != closing.StateAwaitingPayment {
		t.Fatalf("request: %d %s", got.Status, got.Raw)
	}
	d, _ := e.State(t, "u1")
	if _, err := e.Stripe.PayInvoice(d.InvoiceID); err != nil { // its webhook is lost
		t.Fatal(err)
	}
	if _, err := e.Services.Reconciler.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d, status := e.State(t, "u1"); d.State != closing.StateDeleted || status != closing.AccountDeleted {
		t.Errorf("after reconcile: deletion %q, account %q; want deleted", d.State, status)
	}
}
