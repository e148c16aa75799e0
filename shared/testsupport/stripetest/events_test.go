package stripetest_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"example.com/billing/shared/testsupport/stripetest"
)

const whsec = "whsec_test_secret"

// TestRecordedEvents runs every call and transition that emits an event and
// checks that each event is what Stripe would deliver to the billing
// webhook: verifiable with stripe-go's webhook package, of a type the
// webhook handles, about the right object, carrying the object as it was
// at that moment. Calls that emit only events the webhook is not enabled
// for (customers, payment methods, invoice items, balance transactions)
// record none.
func TestRecordedEvents(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, &stripe.CustomerParams{Email: stripe.String("a@example.com")})
	paid := mustPay(t, sc, 1000, cus.ID)
	declined := cardParams(2000, cus.ID)
	declined.PaymentMethod, declined.Confirm = stripe.String("pm_card_chargeDeclined"), stripe.Bool(true)
	var pending *stripe.PaymentIntent
	if _, err := sc.PaymentIntents.New(declined); err == nil {
		t.Fatal("decline succeeded")
	} else {
		pending = srv.PaymentIntents()[1]
	}
	if _, err := srv.SucceedPaymentIntent(pending.ID); err != nil {
		t.Fatal(err)
	}
	failed, err := sc.PaymentIntents.New(cardParams(3000, ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.FailPaymentIntent(failed.ID, "insufficient_funds"); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.PaymentIntents.Cancel(failed.ID, &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String("abandoned")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(paid.ID), Amount: stripe.Int64(400)}); err != nil {
		t.Fatal(err)
	}
	inv, err := sc.Invoices.New(&stripe.InvoiceParams{Customer: stripe.String(cus.ID), CollectionMethod: stripe.String("send_invoice"), DaysUntilDue: stripe.Int64(30)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.InvoiceItems.New(&stripe.InvoiceItemParams{Customer: stripe.String(cus.ID), Invoice: stripe.String(inv.ID), Amount: stripe.Int64(700), Currency: stripe.String("usd")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Invoices.FinalizeInvoice(inv.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.PayInvoice(inv.ID); err != nil {
		t.Fatal(err)
	}
	paidPI, _ := srv.PaymentIntent(paid.ID)
	invoicePI := srv.Invoices()[0].PaymentIntent.ID

	// seen is what each event says about its object.
	type seen struct {
		Type     string
		ObjectID string
		Status   string // of data.object; amount_refunded for a charge
	}
	want := []seen{
		{"payment_intent.succeeded", paid.ID, "succeeded"},
		{"payment_intent.payment_failed", pending.ID, "requires_payment_method"},
		{"payment_intent.succeeded", pending.ID, "succeeded"},
		{"payment_intent.payment_failed", failed.ID, "requires_payment_method"},
		{"payment_intent.canceled", failed.ID, "canceled"},
		{"charge.refunded", paidPI.LatestCharge.ID, "400"},
		{"invoice.created", inv.ID, "draft"},
		{"payment_intent.succeeded", invoicePI, "succeeded"},
		{"invoice.paid", inv.ID, "paid"},
	}
	var got []seen
	for _, e := range srv.Events() {
		ev, err := webhook.ConstructEvent(e.Payload, stripetest.SignatureHeader(e.Payload, whsec, time.Now()), whsec)
		if err != nil {
			t.Fatalf("event %s does not verify: %v", e.Type, err)
		}
		if ev.ID != e.ID || string(ev.Type) != e.Type || ev.Object != "event" || ev.Livemode || ev.APIVersion != stripe.APIVersion {
			t.Errorf("event envelope = %+v", ev)
		}
		id, _ := ev.Data.Object["id"].(string)
		s := seen{Type: e.Type, ObjectID: id}
		s.Status = fmt.Sprint(ev.Data.Object["status"])
		if ev.Data.Object["object"] == "charge" {
			s.Status = fmt.Sprint(ev.Data.Object["amount_refunded"])
		}
		got = append(got, s)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestLastEvent(t *testing.T) {
	srv, sc := newDouble(t)
	a := mustPay(t, sc, 1000, "")
	b := mustPay(t, sc, 2000, "")
	for _, amount := range []int64{100, 200} {
		if _, err := sc.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(a.ID), Amount: stripe.Int64(amount)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		typ, objectID string
		wantAmount    any // amount_refunded, or amount for a PaymentIntent
		wantOK        bool
	}{
		{"charge.refunded", a.LatestCharge.ID, 300.0, true},
		{"payment_intent.succeeded", b.ID, 2000.0, true},
		{"charge.refunded", b.LatestCharge.ID, nil, false},
		{"payment_intent.canceled", a.ID, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.objectID, func(t *testing.T) {
			e, ok := srv.LastEvent(tt.typ, tt.objectID)
			if ok != tt.wantOK {
				t.Fatalf("found = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			obj := parseEvent(t, e.Payload).Data.Object
			amount := obj["amount"]
			if obj["object"] == "charge" {
				amount = obj["amount_refunded"]
			}
			if obj["id"] != tt.objectID || amount != tt.wantAmount {
				t.Errorf("got %s about %v with %v", e.Type, obj["id"], amount)
			}
		})
	}
}

func TestNewEvent(t *testing.T) {
	created := time.Unix(1700000000, 0)
	tests := []struct {
		name   string
		object any
	}{
		{"map", map[string]any{"id": "in_123", "object": "invoice", "amount_due": 1200}},
		{"stripe-go struct", &stripe.Invoice{ID: "in_123", Object: "invoice", AmountDue: 1200}},
		{"raw JSON", json.RawMessage(`{"id":"in_123","object":"invoice","amount_due":1200}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := stripetest.NewEvent("evt_123", "invoice.paid", tt.object, created)
			ev, err := webhook.ConstructEvent(payload, stripetest.SignatureHeader(payload, whsec, time.Now()), whsec)
			if err != nil {
				t.Fatalf("ConstructEvent: %v\n%s", err, payload)
			}
			if ev.ID != "evt_123" || ev.Type != "invoice.paid" || ev.Created != created.Unix() || ev.Object != "event" ||
				ev.Livemode || ev.APIVersion != "2023-10-16" {
				t.Errorf("event = %+v", ev)
			}
			var inv stripe.Invoice
			if err := json.Unmarshal(ev.Data.Raw, &inv); err != nil {
				t.Fatal(err)
			}
			if inv.ID != "in_123" || inv.AmountDue != 1200 {
				t.Errorf("data.object = %+v", inv)
			}
		})
	}
}

func TestSignatureHeader(t *testing.T) {
	payload := stripetest.NewEvent("evt_1", "invoice.created", map[string]any{"id": "in_1", "object": "invoice"}, time.Now())
	tests := []struct {
		name    string
		payload []byte
		secret  string
		signed  time.Time
		wantErr bool
	}{
		{name: "valid", payload: payload, secret: whsec, signed: time.Now()},
		{name: "wrong secret", payload: payload, secret: "whsec_other", signed: time.Now(), wantErr: true},
		{name: "tampered payload", payload: append([]byte(" "), payload...), secret: whsec, signed: time.Now(), wantErr: true},
		{name: "outside tolerance", payload: payload, secret: whsec, signed: time.Now().Add(-time.Hour), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := stripetest.SignatureHeader(payload, tt.secret, tt.signed)
			_, err := webhook.ConstructEvent(tt.payload, header, whsec)
			if (err != nil) != tt.wantErr {
				t.Errorf("ConstructEvent error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
