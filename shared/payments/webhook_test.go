package payments_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"example.com/billing/shared/payments"
	"example.com/billing/shared/testsupport/stripetest"
)

func TestVerifyEvent(t *testing.T) {
	t.Parallel()
	payload := stripetest.NewEvent("evt_1", "payment_intent.succeeded", map[string]any{"id": "pi_1", "object": "payment_intent"}, time.Now())
	otherVersion := []byte(`{"id":"evt_2","object":"event","api_version":"2099-01-01","type":"charge.succeeded","data":{"object":{"id":"ch_1"}}}`)
	now := time.Now()
	cases := []struct {
		name    string
		payload []byte
		header  string
		secrets []string
		want    error // nil: accepted
	}{
		{name: "valid", payload: payload, header: stripetest.SignatureHeader(payload, "whsec_a", now), secrets: []string{"whsec_a"}},
		{name: "rotation: signed with the new secret", payload: payload, header: stripetest.SignatureHeader(payload, "whsec_new", now), secrets: []string{"whsec_old", "whsec_new"}},
		{name: "rotation: signed with the old secret", payload: payload, header: stripetest.SignatureHeader(payload, "whsec_old", now), secrets: []string{"whsec_old", "whsec_new"}},
		{name: "another API version", payload: otherVersion, header: stripetest.SignatureHeader(otherVersion, "whsec_a", now), secrets: []string{"whsec_a"}},
		{name: "within tolerance", payload: payload, header: stripetest.SignatureHeader(payload, "whsec_a", now.Add(-290*time.Second)), secrets: []string{"whsec_a"}},
		{name: "no signature", payload: payload, header: "", secrets: []string{"whsec_a"}, want: payments.ErrBadSignature},
		{name: "garbled header", payload: payload, header: "nonsense", secrets: []string{"whsec_a"}, want: payments.ErrBadSignature},
		{name: "wrong secret", payload: payload, header: stripetest.SignatureHeader(payload, "whsec_b", now), secrets: []string{"whsec_a"}, want: payments.ErrBadSignature},
		{name: "tampered body", payload: append([]byte(" "), payload...), header: stripetest.SignatureHeader(payload, "whsec_a", now), secrets: []string{"whsec_a"}, want: payments.ErrBadSignature},
		{name: "stale timestamp", payload: payload, header: stripetest.SignatureHeader(payload, "whsec_a", now.Add(-301*time.Second)), secrets: []string{"whsec_a"}, want: payments.ErrBadSignature},
		{name: "no secrets configured", payload: payload, header: stripetest.SignatureHeader(payload, "whsec_a", now), want: payments.ErrBadSignature},
		{name: "signed but not JSON", payload: []byte("not json"), header: stripetest.SignatureHeader([]byte("not json"), "whsec_a", now), secrets: []string{"whsec_a"}, want: payments.ErrMalformedEvent},
		{name: "signed but no id", payload: []byte(`{"type":"x","data":{"object":{}}}`), header: stripetest.SignatureHeader([]byte(`{"type":"x","data":{"object":{}}}`), "whsec_a", now), secrets: []string{"whsec_a"}, want: payments.ErrMalformedEvent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, err := payments.VerifyEvent(tc.payload, tc.header, tc.secrets)
			if tc.want == nil {
				if err != nil || ev.ID == "" {
					t.Fatalf("VerifyEvent = %q, %v; want accepted", ev.ID, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// VerifyEvent hands the webhook our own types: exactly the object a handled
// type calls for, an error for one it cannot read, and for any other type
// just the id, the type and the object's id.
func TestVerifyEventParses(t *testing.T) {
	t.Parallel()
	now := time.Now()
	cases := []struct {
		name   string
		typ    string
		object string
		want   payments.Event // zero: ErrMalformedEvent
	}{
		{
			name: "payment intent succeeded", typ: "payment_intent.succeeded",
			object: `{"id":"pi_1","object":"payment_intent","amount":2500,"amount_received":2500,"currency":"usd","status":"succeeded","customer":"cus_1","metadata":{"user_id":"u1","transaction_id":"tx_1","kind":"card_topup"}}`,
			want: payments.Event{ID: "evt_1", Type: payments.EventPaymentIntentSucceeded, ObjectID: "pi_1", PaymentIntent: &payments.PaymentIntent{
				ID: "pi_1", Status: "succeeded", Amount: 2500, AmountReceived: 2500, Currency: "usd", CustomerID: "cus_1",
				Metadata: map[string]string{payments.MetadataUserID: "u1", payments.MetadataTransactionID: "tx_1", payments.MetadataKind: "card_topup"}}},
		},
		{
			name: "payment failed", typ: "payment_intent.payment_failed",
			object: `{"id":"pi_1","object":"payment_intent","status":"requires_payment_method","last_payment_error":{"type":"card_error","code":"card_declined","message":"Your card was declined."}}`,
			want: payments.Event{ID: "evt_1", Type: payments.EventPaymentIntentPaymentFailed, ObjectID: "pi_1", PaymentIntent: &payments.PaymentIntent{
				ID: "pi_1", Status: "requires_payment_method", LastErrorCode: "card_declined", LastErrorMessage: "Your card was declined."}},
		},
		{
			name: "payment intent canceled", typ: "payment_intent.canceled",
			object: `{"id":"pi_1","object":"payment_intent","status":"canceled","cancellation_reason":"abandoned"}`,
			want: payments.Event{ID: "evt_1", Type: payments.EventPaymentIntentCanceled, ObjectID: "pi_1", PaymentIntent: &payments.PaymentIntent{
				ID: "pi_1", Status: "canceled", CancellationReason: "abandoned"}},
		},
		{
			name: "charge refunded", typ: "charge.refunded",
			object: `{"id":"ch_1","object":"charge","amount":2500,"amount_refunded":1000,"payment_intent":"pi_1"}`,
			want:   payments.Event{ID: "evt_1", Type: payments.EventChargeRefunded, ObjectID: "ch_1", Charge: &payments.Charge{ID: "ch_1", PaymentIntentID: "pi_1", AmountRefunded: 1000}},
		},
		{
			name: "charge refunded, with what it received and its intent's metadata", typ: "charge.refunded",
			object: `{"id":"ch_1","object":"charge","amount":2500,"amount_captured":2500,"amount_refunded":2500,"currency":"usd","status":"succeeded","payment_intent":"pi_1","metadata":{"user_id":"u1","transaction_id":"tx_1"}}`,
			want: payments.Event{ID: "evt_1", Type: payments.EventChargeRefunded, ObjectID: "ch_1", Charge: &payments.Charge{ID: "ch_1", PaymentIntentID: "pi_1",
				AmountRefunded: 2500, AmountCaptured: 2500, Currency: "usd", Metadata: map[string]string{"user_id": "u1", "transaction_id": "tx_1"}}},
		},
		{
			name: "charge refunded, captured in full without saying so", typ: "charge.refunded",
			object: `{"id":"ch_1","object":"charge","amount":2500,"amount_refunded":500,"currency":"usd","status":"succeeded","payment_intent":"pi_1"}`,
			want: payments.Event{ID: "evt_1", Type: payments.EventChargeRefunded, ObjectID: "ch_1", Charge: &payments.Charge{ID: "ch_1", PaymentIntentID: "pi_1",
				AmountRefunded: 500, AmountCaptured: 2500, Currency: "usd"}},
		},
		{
			name: "dispute funds withdrawn", typ: "charge.dispute.funds_withdrawn",
			object: `{"id":"dp_1","object":"dispute","amount":2500,"currency":"usd","status":"needs_response","payment_intent":"pi_1","balance_transactions":[{"id":"txn_1","object":"balance_transaction","amount":-2500,"fee":1500}]}`,
			want: payments.Event{ID: "evt_1", Type: payments.EventChargeDisputeFundsWithdrawn, ObjectID: "dp_1", Dispute: &payments.Dispute{ID: "dp_1", PaymentIntentID: "pi_1",
				Amount: 2500, Currency: "usd", Status: "needs_response", Withdrawals: 1}},
		},
		{
			name: "dispute funds reinstated", typ: "charge.dispute.funds_reinstated",
			object: `{"id":"dp_1","object":"dispute","amount":2500,"currency":"usd","status":"won","payment_intent":"pi_1","balance_transactions":[{"id":"txn_1","amount":-2500},{"id":"txn_2","amount":2500}]}`,
			want: payments.Event{ID: "evt_1", Type: payments.EventChargeDisputeFundsReinstated, ObjectID: "dp_1", Dispute: &payments.Dispute{ID: "dp_1", PaymentIntentID: "pi_1",
				Amount: 2500, Currency: "usd", Status: "won", Withdrawals: 1, Reinstatements: 1}},
		},
		{
			name: "an inquiry updated", typ: "charge.dispute.updated",
			object: `{"id":"dp_1","object":"dispute","amount":2500,"currency":"usd","status":"warning_under_review","payment_intent":"pi_1","balance_transactions":[]}`,
			want: payments.Event{ID: "evt_1", Type: payments.EventChargeDisputeUpdated, ObjectID: "dp_1", Dispute: &payments.Dispute{ID: "dp_1", PaymentIntentID: "pi_1",
				Amount: 2500, Currency: "usd", Status: "warning_under_review"}},
		},
		{
			name: "customer deleted", typ: "customer.deleted",
			object: `{"id":"cus_1","object":"customer","email":"u1@example.com","metadata":{"user_id":"u1"}}`,
			want:   payments.Event{ID: "evt_1", Type: payments.EventCustomerDeleted, ObjectID: "cus_1", Customer: &payments.Customer{ID: "cus_1", Email: "u1@example.com", UserID: "u1"}},
		},
		{
			name: "dispute created", typ: "charge.dispute.created",
			object: `{"id":"dp_1","object":"dispute","amount":2500,"status":"needs_response","payment_intent":"pi_1"}`,
			want:   payments.Event{ID: "evt_1", Type: payments.EventChargeDisputeCreated, ObjectID: "dp_1", Dispute: &payments.Dispute{ID: "dp_1", PaymentIntentID: "pi_1", Amount: 2500, Status: "needs_response"}},
		},
		{
			name: "dispute closed, its intent expanded", typ: "charge.dispute.closed",
			object: `{"id":"dp_1","object":"dispute","amount":2500,"status":"won","payment_intent":{"id":"pi_1"}}`,
			want:   payments.Event{ID: "evt_1", Type: payments.EventChargeDisputeClosed, ObjectID: "dp_1", Dispute: &payments.Dispute{ID: "dp_1", PaymentIntentID: "pi_1", Amount: 2500, Status: "won"}},
		},
		{
			name: "dispute without an intent", typ: "charge.dispute.created",
			object: `{"id":"dp_2","object":"dispute","amount":100,"status":"needs_response"}`,
			want:   payments.Event{ID: "evt_1", Type: payments.EventChargeDisputeCreated, ObjectID: "dp_2", Dispute: &payments.Dispute{ID: "dp_2", Amount: 100, Status: "needs_response"}},
		},
		{
			name: "invoice created", typ: "invoice.created",
			object: `{"id":"in_1","object":"invoice","status":"draft","customer":"cus_1","amount_due":2000,"total":2000,"currency":"usd"}`,
			want: payments.Event{ID: "evt_1", Type: payments.EventInvoiceCreated, ObjectID: "in_1", Invoice: &payments.Invoice{
				ID: "in_1", CustomerID: "cus_1", Status: "draft", AmountDue: 2000, Total: 2000, Currency: "usd"}},
		},
		{
			name: "invoice paid", typ: "invoice.paid",
			object: `{"id":"in_1","object":"invoice","status":"paid","customer":"cus_1","amount_paid":500,"metadata":{"user_id":"u1","kind":"final_invoice","deletion":"final-invoice-u1-1"}}`,
			want: payments.Event{ID: "evt_1", Type: payments.EventInvoicePaid, ObjectID: "in_1", Invoice: &payments.Invoice{
				ID: "in_1", CustomerID: "cus_1", Status: "paid", AmountPaid: 500,
				Metadata: map[string]string{payments.MetadataUserID: "u1", payments.MetadataKind: payments.KindFinalInvoice, payments.MetadataDeletion: "final-invoice-u1-1"}}},
		},
		{
			name: "a type we do not handle", typ: "customer.created", object: `{"id":"cus_1","object":"customer"}`,
			want: payments.Event{ID: "evt_1", Type: "customer.created", ObjectID: "cus_1"},
		},
		{
			name: "a type we do not handle, any object", typ: "customer.created", object: `{"id":7}`,
			want: payments.Event{ID: "evt_1", Type: "customer.created"},
		},
		{name: "payment intent without an id", typ: "payment_intent.succeeded", object: `{"object":"payment_intent","amount_received":2500}`},
		{name: "payment intent of the wrong shape", typ: "payment_intent.succeeded", object: `{"id":"pi_1","amount_received":"lots","metadata":[]}`},
		{name: "charge without an id", typ: "charge.refunded", object: `{"object":"charge","amount_refunded":1000}`},
		{name: "dispute of the wrong shape", typ: "charge.dispute.closed", object: `{"id":"dp_1","amount":"all"}`},
		{name: "invoice without an id", typ: "invoice.paid", object: `{"object":"invoice","status":"paid"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			payload := stripetest.NewEvent("evt_1", tc.typ, json.RawMessage(tc.object), now)
			got, err := payments.VerifyEvent(payload, stripetest.SignatureHeader(payload, "whsec_a", now), []string{"whsec_a"})
			if tc.want.ID == "" {
				if !errors.Is(err, payments.ErrMalformedEvent) {
					t.Fatalf("VerifyEvent = %+v, %v; want %v", got, err, payments.ErrMalformedEvent)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("VerifyEvent (-want +got):\n%s", diff)
			}
		})
	}
}

// Every type the port parses is one of its constants, listed once.
func TestHandledEventTypes(t *testing.T) {
	t.Parallel()
	seen := map[payments.EventType]bool{}
	for _, typ := range payments.HandledEventTypes() {
		if seen[typ] {
			t.Errorf("%s listed twice", typ)
		}
		seen[typ] = true
	}
	if len(seen) != 12 {
		t.Errorf("%d handled types, want the 12 of the README: %v", len(seen), payments.HandledEventTypes())
	}
	// Reconcile lists them all in one request: Stripe takes 20 types at most.
	if len(seen) > 20 {
		t.Errorf("%d handled types: more than the Events API filters at once", len(seen))
	}
}
