package stripetest_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"example.com/billing/shared/testsupport/stripetest"
)

const whsec = "whsec_test_secret"

// TestRecordedEvents runs a flow and checks that every event it records is
// what Stripe would deliver: verifiable with stripe-go's webhook package,
// about the right object, carrying the object as it was at that moment, and
// naming the request (and idempotency key) that caused it.
func TestRecordedEvents(t *testing.T) {
	srv, sc := newDouble(t)
	cp := &stripe.CustomerParams{Email: stripe.String("a@example.com")}
	cp.SetIdempotencyKey("create-customer")
	cus, err := sc.Customers.New(cp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Customers.Update(cus.ID, &stripe.CustomerParams{Name: stripe.String("Ada")}); err != nil {
		t.Fatal(err)
	}
	pp := cardParams(1000, cus.ID)
	pp.PaymentMethod = stripe.String("pm_card_visa")
	pp.SetIdempotencyKey("create-pi")
	paid, err := sc.PaymentIntents.New(pp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.PaymentIntents.Confirm(paid.ID, nil); err != nil {
		t.Fatal(err)
	}
	pending, err := sc.PaymentIntents.New(cardParams(2000, cus.ID))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.PaymentIntents.Confirm(pending.ID, &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_chargeDeclined")}); err == nil {
		t.Fatal("decline succeeded")
	}
	if _, err := sc.PaymentIntents.Confirm(pending.ID, &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_threeDSecure2Required")}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.SucceedPaymentIntent(pending.ID); err != nil {
		t.Fatal(err)
	}
	canceled, err := sc.PaymentIntents.New(cardParams(3000, ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.PaymentIntents.Cancel(canceled.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Customers.Del(cus.ID, nil); err != nil {
		t.Fatal(err)
	}

	paidPI, _ := srv.PaymentIntent(paid.ID)
	pendingPI, _ := srv.PaymentIntent(pending.ID)
	var declinedCharge string
	for _, ch := range srv.Charges() {
		if ch.Status == "failed" {
			declinedCharge = ch.ID
		}
	}

	// seen is what each event says about its object and its cause.
	type seen struct {
		Type     string
		ObjectID string
		Status   string // PaymentIntent or charge status in data.object
		FromAPI  bool   // request.id set
		Key      string // request.idempotency_key
	}
	want := []seen{
		{"customer.created", cus.ID, "", true, "create-customer"},
		{"customer.updated", cus.ID, "", true, ""},
		{"payment_intent.created", paid.ID, "requires_confirmation", true, "create-pi"},
		{"charge.succeeded", paidPI.LatestCharge.ID, "succeeded", true, ""},
		{"payment_intent.succeeded", paid.ID, "succeeded", true, ""},
		{"payment_intent.created", pending.ID, "requires_payment_method", true, ""},
		{"charge.failed", declinedCharge, "failed", true, ""},
		{"payment_intent.payment_failed", pending.ID, "requires_payment_method", true, ""},
		{"payment_intent.requires_action", pending.ID, "requires_action", true, ""},
		{"charge.succeeded", pendingPI.LatestCharge.ID, "succeeded", false, ""},
		{"payment_intent.succeeded", pending.ID, "succeeded", false, ""},
		{"payment_intent.created", canceled.ID, "requires_payment_method", true, ""},
		{"payment_intent.canceled", canceled.ID, "canceled", true, ""},
		{"customer.deleted", cus.ID, "", true, ""},
	}

	var got []seen
	for _, e := range srv.Events() {
		ev, err := webhook.ConstructEvent(e.Payload, stripetest.SignatureHeader(e.Payload, whsec, time.Now()), whsec)
		if err != nil {
			t.Fatalf("event %s does not verify: %v", e.Type, err)
		}
		if ev.ID != e.ID || string(ev.Type) != e.Type || ev.Object != "event" || ev.Livemode || ev.APIVersion != stripe.APIVersion || ev.PendingWebhooks != 1 {
			t.Errorf("event envelope = %+v", ev)
		}
		s := seen{Type: e.Type, ObjectID: objectIDOf(t, ev), FromAPI: ev.Request.ID != "", Key: ev.Request.IdempotencyKey}
		switch ev.Data.Object["object"] {
		case "payment_intent":
			var pi stripe.PaymentIntent
			if err := json.Unmarshal(ev.Data.Raw, &pi); err != nil {
				t.Fatal(err)
			}
			s.Status = string(pi.Status)
		case "charge":
			var ch stripe.Charge
			if err := json.Unmarshal(ev.Data.Raw, &ch); err != nil {
				t.Fatal(err)
			}
			s.Status = string(ch.Status)
		}
		// stripe-go sends generated keys on every POST; only compare the
		// ones the flow chose.
		if s.Key != "create-customer" && s.Key != "create-pi" {
			s.Key = ""
		}
		got = append(got, s)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestLastEvent(t *testing.T) {
	srv, sc := newDouble(t)
	a := mustCustomer(t, sc, nil)
	b := mustCustomer(t, sc, nil)
	for _, name := range []string{"one", "two"} {
		if _, err := sc.Customers.Update(a.ID, &stripe.CustomerParams{Name: stripe.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		typ, objectID string
		wantName      any
		wantOK        bool
	}{
		{"customer.updated", a.ID, "two", true},
		{"customer.created", b.ID, nil, true},
		{"customer.updated", b.ID, nil, false},
		{"customer.deleted", a.ID, nil, false},
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
			ev := parseEvent(t, e.Payload)
			if string(ev.Type) != tt.typ || objectIDOf(t, ev) != tt.objectID || ev.Data.Object["name"] != tt.wantName {
				t.Errorf("got %s about %s named %v", ev.Type, objectIDOf(t, ev), ev.Data.Object["name"])
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
				ev.Livemode || ev.APIVersion != "2023-10-16" || ev.Request == nil || ev.Request.ID != "" {
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
	payload := stripetest.NewEvent("evt_1", "customer.created", map[string]any{"id": "cus_1", "object": "customer"}, time.Now())
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
