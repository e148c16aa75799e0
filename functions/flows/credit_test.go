package flows_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v76"

	"example.com/billing/functions/webhook"
	"example.com/billing/shared/fault"
	"example.com/billing/shared/invoicecredit"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/testenv"
)

// creditStack is the webhook with invoice credits, and a funded user.
func creditStack(t *testing.T, balance int64) (*stack, *invoicecredit.Service, string) {
	t.Helper()
	s := newStack(t)
	credits := invoicecredit.New(s.Ledger, s.Customers, s.Payments)
	s.webhook = webhook.NewServer([]string{testenv.WebhookSecret}, s.Ledger, nil, credits, s.Payments)
	if balance > 0 {
		s.paid(t, balance)
	}
	acct, err := s.Customers.Ensure(context.Background(), "u1", "")
	if err != nil {
		t.Fatal(err)
	}
	return s, credits, acct.CustomerID
}

// draftInvoice is Stripe creating an invoice (say, for a subscription)
// with due lines; it returns the invoice and its invoice.created event.
func draftInvoice(t *testing.T, s *stack, customerID string, due int64, metadata map[string]string) (string, []byte) {
	t.Helper()
	c := s.Stripe.Client()
	if _, err := c.InvoiceItems.New(&stripe.InvoiceItemParams{Customer: stripe.String(customerID), Amount: stripe.Int64(due), Currency: stripe.String("usd")}); err != nil {
		t.Fatal(err)
	}
	params := &stripe.InvoiceParams{Customer: stripe.String(customerID), PendingInvoiceItemsBehavior: stripe.String("include")}
	for k, v := range metadata {
		params.AddMetadata(k, v)
	}
	inv, err := c.Invoices.New(params)
	if err != nil {
		t.Fatal(err)
	}
	ev, ok := s.Stripe.LastEvent("invoice.created", inv.ID)
	if !ok {
		t.Fatal("no invoice.created")
	}
	return inv.ID, ev.Payload
}

func TestBalancePaysInvoices(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		balance     int64
		due         int64
		metadata    map[string]string
		wantResult  string
		wantCredit  int64 // applied in Stripe
		wantBalance int64
		wantDue     int64 // after finalization
	}{
		{name: "balance covers the invoice", balance: 3000, due: 2000, wantResult: ledger.ResultApplied, wantCredit: 2000, wantBalance: 1000, wantDue: 0},
		{name: "balance covers part", balance: 1500, due: 2000, wantResult: ledger.ResultApplied, wantCredit: 1500, wantBalance: 0, wantDue: 500},
		{name: "no balance", balance: 0, due: 2000, wantResult: ledger.ResultUnchanged, wantBalance: 0, wantDue: 2000},
		{name: "our final invoice carries the balance already", balance: 3000, due: 2000, metadata: map[string]string{"kind": "final_invoice"},
			wantResult: ledger.ResultIgnored, wantBalance: 3000, wantDue: 2000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _, cus := creditStack(t, tc.balance)
			invID, payload := draftInvoice(t, s, cus, tc.due, tc.metadata)
			results := []string{s.deliver(t, payload).Body["result"].(string), s.deliver(t, payload).Body["result"].(string)}
			if diff := cmp.Diff([]string{tc.wantResult, ledger.ResultDuplicate}, results); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			if got := -s.Stripe.CustomerBalance(cus); got != tc.wantCredit {
				t.Errorf("credit in Stripe = %d, want %d", got, tc.wantCredit)
			}
			if got := s.balanceAmount(t); got != float64(tc.wantBalance) {
				t.Errorf("balance = %v, want %d", got, tc.wantBalance)
			}
			inv, err := s.Stripe.Client().Invoices.FinalizeInvoice(invID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if inv.AmountDue != tc.wantDue {
				t.Errorf("amount due after finalization = %d, want %d", inv.AmountDue, tc.wantDue)
			}
			if tc.wantCredit > 0 {
				entry, err := s.Ledger.Transaction(context.Background(), "u1", invoicecredit.EntryID(invID))
				if err != nil || entry.Status != ledger.StatusSucceeded || entry.StripeID == "" || entry.Amount != -tc.wantCredit {
					t.Errorf("ledger entry = %+v, %v", entry, err)
				}
			}
		})
	}
}

func TestInvoicesOfOthersAreNotTouched(t *testing.T) {
	t.Parallel()
	s, _, _ := creditStack(t, 3000)
	other, err := s.Stripe.Client().Customers.New(&stripe.CustomerParams{})
	if err != nil {
		t.Fatal(err)
	}
	_, payload := draftInvoice(t, s, other.ID, 2000, nil)
	if got := s.deliver(t, payload); got.Body["result"] != ledger.ResultUnmatched {
		t.Errorf("someone else's invoice: %s", got.Raw)
	}
	if got := s.balanceAmount(t); got != 3000 {
		t.Errorf("balance = %v, want 3000", got)
	}
}

// A crash after the debit is recorded, or after Stripe applied the credit,
// is finished by the sweep: exactly one credit in Stripe, one debit here.
func TestInvoiceCreditCrashes(t *testing.T) {
	t.Parallel()
	for _, point := range []string{fault.InvoiceCreditRecorded, fault.InvoiceCreditApplied} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			s, credits, cus := creditStack(t, 3000)
			invID, payload := draftInvoice(t, s, cus, 2000, nil)
			req := testenv.WebhookRequest(payload, testenv.WebhookSecret)
			req = req.WithContext(fault.With(req.Context(), fault.New().Fail(point, 1)))
			if got := testenv.Do(t, s.webhook, req); got.Status != http.StatusOK {
				t.Fatalf("delivery: %d %s (the debit is recorded; the rest is the sweep's)", got.Status, got.Raw)
			}
			entry, _ := s.Ledger.Transaction(context.Background(), "u1", invoicecredit.EntryID(invID))
			if entry.Status != ledger.StatusPending {
				t.Fatalf("entry after the crash = %+v, want pending", entry)
			}
			if n, err := credits.FinishPending(context.Background(), 10); err != nil || n != 1 {
				t.Fatalf("FinishPending = %d, %v", n, err)
			}
			s.deliver(t, payload) // and Stripe's own duplicate, for good measure
			if got := len(s.Stripe.BalanceTransactions(cus)); got != 1 {
				t.Errorf("%d balance transactions in Stripe, want 1", got)
			}
			if got := -s.Stripe.CustomerBalance(cus); got != 2000 {
				t.Errorf("credit = %d, want 2000", got)
			}
			if got := s.balanceAmount(t); got != 1000 {
				t.Errorf("balance = %v, want 1000", got)
			}
		})
	}
}
