package webhook

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"example.com/billing/shared/closing"
	"example.com/billing/shared/customer"
	"example.com/billing/shared/dispatch"
	"example.com/billing/shared/invoicecredit"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/metering"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/store"
	"example.com/billing/shared/testsupport/stripetest"
	"example.com/billing/shared/testsupport/testenv"
)

// FuzzDispatch: whatever Stripe (or an attacker holding no secret) sends,
// parsing and choosing the effect never panic; a body signed with a wrong
// secret is always refused; an event we accept carries exactly the object
// its type calls for (none for a type we do not handle); and an event with
// an id that can name its record gets an effect. Effects are chosen, not
// run (they need Firestore).
func FuzzDispatch(f *testing.F) {
	now := time.Now()
	seeds := []struct{ typ, object string }{
		{"payment_intent.succeeded", `{"id":"pi_1","object":"payment_intent","amount":2500,"amount_received":2500,"currency":"usd","status":"succeeded","metadata":{"user_id":"u1","transaction_id":"tx_1","kind":"card_topup"}}`},
		{"payment_intent.payment_failed", `{"id":"pi_1","object":"payment_intent","status":"requires_payment_method","last_payment_error":{"code":"card_declined","message":"declined"}}`},
		{"payment_intent.canceled", `{"id":"pi_1","object":"payment_intent","status":"canceled","cancellation_reason":"abandoned"}`},
		{"invoice.paid", `{"id":"in_1","object":"invoice","status":"paid","customer":"cus_1","metadata":{"user_id":"u1","kind":"final_invoice","deletion":"final-invoice-u1-1"}}`},
		{"invoice.created", `{"id":"in_2","object":"invoice","status":"draft","customer":"cus_1","amount_due":2000,"currency":"usd"}`},
		{"charge.refunded", `{"id":"ch_1","object":"charge","amount":2500,"amount_refunded":1000,"payment_intent":"pi_1"}`},
		{"charge.dispute.created", `{"id":"dp_1","object":"dispute","amount":2500,"status":"needs_response","payment_intent":"pi_1"}`},
		{"charge.dispute.closed", `{"id":"dp_1","object":"dispute","amount":2500,"status":"won","payment_intent":{"id":"pi_1"}}`},
		{"charge.dispute.funds_withdrawn", `{"id":"dp_1","object":"dispute","amount":2500,"currency":"usd","status":"needs_response","payment_intent":"pi_1","balance_transactions":[{"id":"txn_1","object":"balance_transaction","amount":-2500}]}`},
		{"charge.dispute.funds_reinstated", `{"id":"dp_1","object":"dispute","amount":2500,"status":"won","payment_intent":"pi_1","balance_transactions":[{"amount":-2500},{"amount":2500}]}`},
		{"customer.deleted", `{"id":"cus_1","object":"customer","deleted":true}`},
		{"customer.created", `{"id":"cus_1","object":"customer"}`},
		{"payment_intent.succeeded", `{"id":"pi_1","object":"payment_intent","amount_received":"lots","metadata":[]}`},
	}
	for _, s := range seeds {
		f.Add(stripetest.NewEvent("evt_seed", s.typ, json.RawMessage(s.object), now))
	}
	f.Add([]byte(`{"id":"evt/1","type":"x","data":{"object":{}}}`))
	f.Add([]byte(`not json`))

	for _, typ := range payments.HandledEventTypes() {
		if objectFor[typ] == "" {
			f.Fatalf("objectFor lacks %s, a type the port handles", typ)
		}
	}
	if len(objectFor) != len(payments.HandledEventTypes()) {
		f.Fatalf("objectFor has types the port does not handle")
	}
	// Effects name the documents they read: the client is never called.
	events := dispatch.New(ledger.New(testenv.Firestore(f)),
		closing.New(nil, ledger.New(nil), nil, nil, nil, metering.Prices{}, nil, closing.Config{}),
		invoicecredit.New(ledger.New(nil), nil, nil), customer.New(nil, nil), nil)
	f.Fuzz(func(t *testing.T, payload []byte) {
		if _, err := payments.VerifyEvent(payload, stripetest.SignatureHeader(payload, "whsec_other", now), []string{"whsec_fuzz"}); !errors.Is(err, payments.ErrBadSignature) {
			t.Fatalf("accepted a body signed with another secret: %v", err)
		}
		ev, err := payments.VerifyEvent(payload, stripetest.SignatureHeader(payload, "whsec_fuzz", now), []string{"whsec_fuzz"})
		if err != nil {
			if !errors.Is(err, payments.ErrMalformedEvent) {
				t.Fatalf("a correctly signed body refused for its signature: %v", err)
			}
			return
		}
		if got, want := objects(ev), objectFor[ev.Type]; got != want {
			t.Fatalf("%s event carries %q, want %q", ev.Type, got, want)
		}
		if store.CheckID(ev.ID) != nil {
			return // the handler answers 400 malformed_event
		}
		if events.Effect(ev).Apply == nil {
			t.Fatal("no effect")
		}
	})
}

// objectFor is the object the port parses for each type the webhook
// handles.
var objectFor = map[payments.EventType]string{
	payments.EventPaymentIntentSucceeded:       "payment intent",
	payments.EventPaymentIntentPaymentFailed:   "payment intent",
	payments.EventPaymentIntentCanceled:        "payment intent",
	payments.EventChargeRefunded:               "charge",
	payments.EventChargeDisputeCreated:         "dispute",
	payments.EventChargeDisputeUpdated:         "dispute",
	payments.EventChargeDisputeFundsWithdrawn:  "dispute",
	payments.EventChargeDisputeFundsReinstated: "dispute",
	payments.EventChargeDisputeClosed:          "dispute",
	payments.EventCustomerDeleted:              "customer",
	payments.EventInvoiceCreated:               "invoice",
	payments.EventInvoicePaid:                  "invoice",
}

// objects names the objects ev carries, "" for none.
func objects(ev payments.Event) string {
	var names []string
	for _, o := range []struct {
		name string
		set  bool
	}{{"payment intent", ev.PaymentIntent != nil}, {"charge", ev.Charge != nil}, {"dispute", ev.Dispute != nil}, {"invoice", ev.Invoice != nil}, {"customer", ev.Customer != nil}} {
		if o.set {
			names = append(names, o.name)
		}
	}
	return strings.Join(names, ", ")
}
