package deletion_test

import (
	"context"
	"testing"
	"time"

	"example.com/billing/shared/closing"
	"example.com/billing/shared/dispatch"
	"example.com/billing/shared/invoicecredit"
	"example.com/billing/shared/reconciler"
)

// A final invoice paid whose invoice.paid never arrived: Reconcile lists
// the event and applies it through the webhook's path, and the deletion
// completes.
func TestReconcileAppliesALostInvoicePaid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fund(t, "u1", 500)
	e.useOneMonth(t, "u1")
	if got := e.request(t, "u1"); got.Status != 200 || got.Body["state"] != closing.StateAwaitingPayment {
		t.Fatalf("request: %d %s", got.Status, got.Raw)
	}
	d, _ := e.state(t, "u1")
	if _, err := e.Stripe.PayInvoice(d.InvoiceID); err != nil { // its webhook is lost
		t.Fatal(err)
	}
	events := dispatch.New(e.Ledger, e.deletions, invoicecredit.New(e.Ledger, e.Customers, e.Payments), e.Customers)
	svc := reconciler.New(e.FS, e.Payments, e.Ledger, events, reconciler.Config{Window: 72 * time.Hour, StaleAfter: 24 * time.Hour, BatchSize: 10})
	if _, err := svc.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d, status := e.state(t, "u1"); d.State != closing.StateDeleted || status != closing.AccountDeleted {
		t.Errorf("after reconcile: deletion %q, account %q; want deleted", d.State, status)
	}
}
