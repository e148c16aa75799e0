package payments_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"example.com/billing/shared/config"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/testsupport/testenv"
)

// stripeMock is a client of stripe-mock, which validates each request
// against Stripe's OpenAPI spec: an unknown parameter, a wrong type or a
// missing required field is a 400 there, so these tests check the shape of
// every request the port sends. stripe-mock ignores metadata, idempotency
// keys and filters, so behaviour is tested against the stateful double.
func stripeMock(t *testing.T) *payments.Client {
	t.Helper()
	return payments.New(config.Stripe{SecretKey: "sk_test_123", APIURL: testenv.Env(t, "STRIPE_MOCK_URL")}, nil)
}

func TestRequestShapesAgainstStripeMock(t *testing.T) {
	t.Parallel()
	c := stripeMock(t)
	ctx := context.Background()

	cust, err := c.CreateCustomer(ctx, "user-1", "user@example.com", "customer:user-1")
	if err != nil {
		t.Fatalf("create customer: %v", err)
	}
	if cust.ID == "" {
		t.Error("create customer: no id")
	}
	if _, err := c.FindCustomerByUserID(ctx, "user-'1"); err != nil && !errors.Is(err, payments.ErrNotFound) {
		t.Errorf("search customers: %v", err)
	}
	cases := []struct {
		name string
		p    payments.NewPaymentIntent
	}{
		{name: "for the console to confirm", p: payments.NewPaymentIntent{CustomerID: cust.ID, Amount: 2500, Currency: "usd", Description: "Add funds",
			Metadata: map[string]string{payments.MetadataUserID: "user-1", payments.MetadataTransactionID: "tx_1", payments.MetadataKind: "card_topup"}}},
		{name: "confirmed with a saved card", p: payments.NewPaymentIntent{CustomerID: cust.ID, Amount: 2500, Currency: "usd", PaymentMethodID: "pm_card_visa",
			Metadata: map[string]string{payments.MetadataUserID: "user-1", payments.MetadataTransactionID: "tx_2"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pi, err := c.CreatePaymentIntent(ctx, tc.p, "topup:"+tc.name)
			if err != nil {
				t.Fatalf("create payment intent: %v", err)
			}
			if pi.ID == "" || pi.ClientSecret == "" {
				t.Errorf("create payment intent: id %q, client secret %q", pi.ID, pi.ClientSecret)
			}
			if _, err := c.GetPaymentIntent(ctx, pi.ID); err != nil {
				t.Errorf("retrieve payment intent: %v", err)
			}
		})
	}
}

func TestErrorsAreClassified(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	answer := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Stripe-Should-Retry", "false")
			w.WriteHeader(status)
			w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cases := []struct {
		name   string
		key    string
		url    string
		want   error
		status int
	}{
		{name: "no key", key: "", url: "http://127.0.0.1:1", want: payments.ErrMisconfigured},
		{name: "key rejected", key: "sk_test_bad", url: answer(401, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}`), want: payments.ErrMisconfigured, status: 401},
		{name: "server error", key: "sk_test_x", url: answer(500, `{"error":{"type":"api_error","message":"boom"}}`), want: payments.ErrUnavailable, status: 500},
		{name: "rate limited", key: "sk_test_x", url: answer(429, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"slow down"}}`), want: payments.ErrUnavailable, status: 429},
		{name: "connection refused", key: "sk_test_x", url: closed.URL, want: payments.ErrUnavailable},
		{name: "bad request", key: "sk_test_x", url: answer(400, `{"error":{"type":"invalid_request_error","code":"parameter_invalid","message":"bad"}}`), want: payments.ErrRejected, status: 400},
		{name: "card declined", key: "sk_test_x", url: answer(402, `{"error":{"type":"card_error","code":"card_declined","message":"Your card was declined.","payment_intent":{"id":"pi_1"}}}`), want: payments.ErrCardDeclined, status: 402},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := payments.New(config.Stripe{SecretKey: tc.key, APIURL: tc.url}, nil)
			_, err := c.CreatePaymentIntent(ctx, payments.NewPaymentIntent{CustomerID: "cus_1", Amount: 1000, Currency: "usd"}, "k")
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var pe *payments.Error
			if !errors.As(err, &pe) || pe.Status != tc.status {
				t.Errorf("classified error = %#v, want status %d", pe, tc.status)
			}
			if tc.want == payments.ErrCardDeclined && (pe.PaymentIntentID != "pi_1" || pe.Message != "Your card was declined.") {
				t.Errorf("declined card: intent %q, message %q", pe.PaymentIntentID, pe.Message)
			}
		})
	}
}

func TestBillingRequestShapesAgainstStripeMock(t *testing.T) {
	t.Parallel()
	c := stripeMock(t)
	ctx := context.Background()
	if _, err := c.UnpaidInvoices(ctx, "cus_1"); err != nil {
		t.Errorf("list unpaid invoices: %v", err)
	}
	if _, _, err := c.PendingInvoiceItems(ctx, "cus_1"); err != nil {
		t.Errorf("list pending invoice items: %v", err)
	}
	if _, err := c.FindInvoice(ctx, "cus_1", "deletion", "final-invoice-u1-1"); err != nil && !errors.Is(err, payments.ErrNotFound) {
		t.Errorf("search invoices: %v", err)
	}
	inv, err := c.CreateInvoice(ctx, payments.NewInvoice{CustomerID: "cus_1", DaysUntilDue: 30, Description: "Final invoice",
		Metadata: map[string]string{"user_id": "u1", "kind": "final_invoice"}}, "final-invoice-u1-1")
	if err != nil {
		t.Fatalf("create invoice: %v", err)
	}
	for _, item := range []payments.NewInvoiceItem{
		{CustomerID: "cus_1", InvoiceID: inv.ID, Amount: 400, Currency: "usd", Description: "Storage", Metadata: map[string]string{"user_id": "u1"}},
		{CustomerID: "cus_1", InvoiceID: inv.ID, Amount: -500, Currency: "usd", Description: "Prepaid balance applied"},
	} {
		if err := c.AddInvoiceItem(ctx, item, "item-"+item.Description); err != nil {
			t.Errorf("create invoice item %q: %v", item.Description, err)
		}
	}
	if _, err := c.GetInvoice(ctx, inv.ID); err != nil {
		t.Errorf("retrieve invoice: %v", err)
	}
	if _, err := c.FinalizeAndSendInvoice(ctx, inv.ID); err != nil {
		t.Errorf("finalize and send invoice: %v", err)
	}
	if _, err := c.RefundPayment(ctx, "pi_1", 441, map[string]string{"user_id": "u1"}, "refund:u1:del_1_refund_0"); err != nil {
		t.Errorf("create refund: %v", err)
	}
	if _, err := c.DetachCards(ctx, "cus_1"); err != nil {
		t.Errorf("detach cards: %v", err)
	}
	if err := c.PaymentIntentsSince(ctx, time.Now().Add(-72*time.Hour), func(payments.PaymentIntent) error { return nil }); err != nil {
		t.Errorf("list payment intents: %v", err)
	}
	if _, err := c.CancelPaymentIntent(ctx, "pi_1"); err != nil {
		t.Errorf("cancel payment intent: %v", err)
	}
	if _, err := c.CreditCustomer(ctx, "cus_1", 2000, "Prepaid balance applied to invoice in_1", "invoice_credit_in_1"); err != nil {
		t.Errorf("create customer balance transaction: %v", err)
	}
	if _, _, err := c.FindCustomerCredit(ctx, "cus_1", "invoice_credit_in_1"); err != nil {
		t.Errorf("list customer balance transactions: %v", err)
	}
	if err := c.EventsSince(ctx, time.Now().Add(-72*time.Hour), payments.HandledEventTypes(), func(payments.Event) error { return nil }); err != nil {
		t.Errorf("list events: %v", err)
	}
}
