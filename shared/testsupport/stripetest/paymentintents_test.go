package stripetest_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

func TestPaymentIntentCreate(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)

	// summary is what each case checks of the created PaymentIntent.
	type summary struct {
		Status        stripe.PaymentIntentStatus
		Amount        int64
		Currency      stripe.Currency
		PaymentMethod string
		Customer      string
		Description   string
		Metadata      map[string]string
	}
	tests := []struct {
		name    string
		params  func() *stripe.PaymentIntentParams
		want    *summary
		wantErr *apiErr
	}{
		{name: "for the console to confirm", params: func() *stripe.PaymentIntentParams {
			p := cardParams(2000, cus.ID)
			p.Description = stripe.String("Add funds")
			p.AddMetadata("user_id", "u1")
			return p
		}, want: &summary{Status: "requires_payment_method", Amount: 2000, Currency: "usd", Customer: cus.ID, Description: "Add funds",
			Metadata: map[string]string{"user_id": "u1"}}},
		{name: "without a customer, upper-case currency", params: func() *stripe.PaymentIntentParams {
			p := cardParams(50, "")
			p.Currency = stripe.String("USD")
			return p
		}, want: &summary{Status: "requires_payment_method", Amount: 50, Currency: "usd", Metadata: map[string]string{}}},
		{name: "with a card, not confirmed", params: func() *stripe.PaymentIntentParams {
			p := cardParams(1000, cus.ID)
			p.PaymentMethod = stripe.String("pm_card_visa")
			return p
		}, want: &summary{Status: "requires_confirmation", Amount: 1000, Currency: "usd", PaymentMethod: "pm_card_visa", Customer: cus.ID, Metadata: map[string]string{}}},
		{name: "missing amount", params: func() *stripe.PaymentIntentParams { return &stripe.PaymentIntentParams{Currency: stripe.String("usd")} },
			wantErr: invalid("parameter_missing", "amount", "Missing required param: amount.")},
		{name: "amount too small", params: func() *stripe.PaymentIntentParams { return cardParams(49, "") },
			wantErr: invalid("amount_too_small", "amount", "Amount must be at least $0.50 usd")},
		{name: "missing currency", params: func() *stripe.PaymentIntentParams { return &stripe.PaymentIntentParams{Amount: stripe.Int64(100)} },
			wantErr: invalid("parameter_missing", "currency", "")},
		{name: "invalid currency", params: func() *stripe.PaymentIntentParams {
			p := cardParams(100, "")
			p.Currency = stripe.String("dollars")
			return p
		}, wantErr: invalid("", "currency", "")},
		{name: "unknown customer", params: func() *stripe.PaymentIntentParams { return cardParams(100, "cus_nope") },
			wantErr: invalid("resource_missing", "customer", "No such customer: 'cus_nope'")},
		{name: "not a payment method", params: func() *stripe.PaymentIntentParams {
			p := cardParams(100, "")
			p.PaymentMethod = stripe.String("card_123")
			return p
		}, wantErr: invalid("resource_missing", "payment_method", "No such PaymentMethod: 'card_123'")},
		{name: "confirmed without a payment method", params: func() *stripe.PaymentIntentParams {
			p := cardParams(100, "")
			p.Confirm = stripe.Bool(true)
			return p
		}, wantErr: invalid("payment_intent_unexpected_state", "", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.PaymentIntents())
			pi, err := sc.PaymentIntents.New(tt.params())
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != nil {
				if got := len(srv.PaymentIntents()); got != before {
					t.Errorf("a failed create stored a PaymentIntent")
				}
				return
			}
			if !regexp.MustCompile(`^pi_[A-Za-z0-9]{24}$`).MatchString(pi.ID) || !strings.HasPrefix(pi.ClientSecret, pi.ID+"_secret_") {
				t.Errorf("id %q, client_secret %q do not look like Stripe's", pi.ID, pi.ClientSecret)
			}
			got := &summary{Status: pi.Status, Amount: pi.Amount, Currency: pi.Currency, Description: pi.Description, Metadata: pi.Metadata}
			if pi.PaymentMethod != nil {
				got.PaymentMethod = pi.PaymentMethod.ID
			}
			if pi.Customer != nil {
				got.Customer = pi.Customer.ID
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PaymentIntent (-want +got):\n%s", diff)
			}
			if stored, ok := srv.PaymentIntent(pi.ID); !ok || stored.ClientSecret != pi.ClientSecret {
				t.Errorf("stored %+v", stored)
			}
			if got, err := sc.PaymentIntents.Get(pi.ID, nil); err != nil || got.ClientSecret != pi.ClientSecret || got.Status != pi.Status {
				t.Errorf("retrieved %+v, %v", got, err)
			}
			if events := eventTypes(t, srv, pi.ID); len(events) != 0 {
				t.Errorf("events %v, want none for an intent not paid", events)
			}
		})
	}
	_, err := sc.PaymentIntents.Get("pi_nope", nil)
	checkErr(t, err, &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "intent", Msg: "No such PaymentIntent: 'pi_nope'"})
}

// TestConfirmOutcomes confirms on create (confirm=true, as the port does
// with a saved card) with each kind of Stripe test payment method.
func TestConfirmOutcomes(t *testing.T) {
	type outcome struct {
		Status         stripe.PaymentIntentStatus
		AmountReceived int64
		HasCharge      bool
		PaymentMethod  string
		LastError      *apiErr
		Events         []string
	}
	tests := []struct {
		pm      string
		wantErr *apiErr
		want    outcome
	}{
		{pm: "pm_card_visa", want: outcome{Status: "succeeded", AmountReceived: 1500, HasCharge: true, PaymentMethod: "pm_card_visa",
			Events: []string{"payment_intent.succeeded"}}},
		{pm: "pm_anything_else", want: outcome{Status: "succeeded", AmountReceived: 1500, HasCharge: true, PaymentMethod: "pm_anything_else",
			Events: []string{"payment_intent.succeeded"}}},
		{pm: "pm_card_authenticationRequired", want: outcome{Status: "requires_action", PaymentMethod: "pm_card_authenticationRequired"}},
		{pm: "pm_card_chargeDeclined",
			wantErr: &apiErr{Status: 402, Type: stripe.ErrorTypeCard, Code: "card_declined", DeclineCode: "generic_decline", Msg: "Your card was declined."},
			want: outcome{Status: "requires_payment_method", HasCharge: true, Events: []string{"payment_intent.payment_failed"},
				LastError: &apiErr{Type: stripe.ErrorTypeCard, Code: "card_declined", DeclineCode: "generic_decline", Msg: "Your card was declined."}}},
	}
	for _, tt := range tests {
		t.Run(tt.pm, func(t *testing.T) {
			srv, sc := newDouble(t)
			p := cardParams(1500, mustCustomer(t, sc, nil).ID)
			p.PaymentMethod, p.Confirm = stripe.String(tt.pm), stripe.Bool(true)
			pi, err := sc.PaymentIntents.New(p)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				// A decline is a CardError that carries the PaymentIntent.
				var cardErr *stripe.CardError
				var se *stripe.Error
				if !errors.As(err, &cardErr) || !errors.As(err, &se) || se.PaymentIntent == nil {
					t.Fatalf("decline %v is not a card error carrying the PaymentIntent", err)
				}
				pi = se.PaymentIntent
				if !strings.HasPrefix(se.ChargeID, "ch_") {
					t.Errorf("decline charge = %q, want a ch_ id", se.ChargeID)
				}
			}
			stored, ok := srv.PaymentIntent(pi.ID)
			if !ok {
				t.Fatalf("PaymentIntent %s not stored", pi.ID)
			}
			for _, p := range []*stripe.PaymentIntent{pi, stored} {
				got := outcome{Status: p.Status, AmountReceived: p.AmountReceived, HasCharge: p.LatestCharge != nil && strings.HasPrefix(p.LatestCharge.ID, "ch_")}
				if p.PaymentMethod != nil {
					got.PaymentMethod = p.PaymentMethod.ID
				}
				if p.LastPaymentError != nil {
					got.LastError = toAPIErr(t, p.LastPaymentError)
				}
				got.Events = eventTypes(t, srv, p.ID)
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("outcome (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestCancel(t *testing.T) {
	abandoned := &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String("abandoned")}
	tests := []struct {
		name    string
		setup   func(t *testing.T, sc *client.API) string
		params  *stripe.PaymentIntentCancelParams
		wantErr *apiErr
	}{
		{name: "waiting for the console", setup: func(t *testing.T, sc *client.API) string { return mustPIWith(t, sc, "") }, params: abandoned},
		{name: "waiting for 3-D Secure", setup: func(t *testing.T, sc *client.API) string { return mustPIWith(t, sc, "pm_card_authenticationRequired") }, params: abandoned},
		{name: "without a reason", setup: func(t *testing.T, sc *client.API) string { return mustPIWith(t, sc, "") }},
		{name: "succeeded", setup: func(t *testing.T, sc *client.API) string { return mustPIWith(t, sc, "pm_card_visa") }, params: abandoned,
			wantErr: invalid("payment_intent_unexpected_state", "",
				"You cannot cancel this PaymentIntent because it has a status of succeeded. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.")},
		{name: "canceled already", setup: func(t *testing.T, sc *client.API) string {
			id := mustPIWith(t, sc, "")
			if _, err := sc.PaymentIntents.Cancel(id, nil); err != nil {
				t.Fatal(err)
			}
			return id
		}, params: abandoned, wantErr: invalid("payment_intent_unexpected_state", "", "")},
		{name: "invalid reason", setup: func(t *testing.T, sc *client.API) string { return mustPIWith(t, sc, "") },
			params: &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String("bored")}, wantErr: invalid("", "cancellation_reason", "")},
		{name: "unknown", setup: func(*testing.T, *client.API) string { return "pi_nope" }, params: abandoned,
			wantErr: &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "intent", Msg: "No such PaymentIntent: 'pi_nope'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			id := tt.setup(t, sc)
			before, _ := srv.PaymentIntent(id)
			eventsBefore := len(srv.Events())
			got, err := sc.PaymentIntents.Cancel(id, tt.params)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				var se *stripe.Error
				if errors.As(err, &se) && se.Code == "payment_intent_unexpected_state" && (se.PaymentIntent == nil || se.PaymentIntent.Status != before.Status) {
					t.Errorf("the refusal carries %+v, want the intent as it is", se.PaymentIntent)
				}
				if len(srv.Events()) != eventsBefore {
					t.Error("a refused cancel recorded an event")
				}
				return
			}
			wantReason := stripe.PaymentIntentCancellationReason("")
			if tt.params != nil {
				wantReason = stripe.PaymentIntentCancellationReason(*tt.params.CancellationReason)
			}
			if got.Status != "canceled" || got.CanceledAt == 0 || got.CancellationReason != wantReason {
				t.Errorf("canceled = %s at %d for %q", got.Status, got.CanceledAt, got.CancellationReason)
			}
			ev, ok := srv.LastEvent("payment_intent.canceled", id)
			if !ok || parseEvent(t, ev.Payload).Data.Object["cancellation_reason"] != map[bool]any{true: nil, false: string(wantReason)}[wantReason == ""] {
				t.Errorf("payment_intent.canceled: %v %s", ok, ev.Payload)
			}
		})
	}
}

// TestPaymentIntentList lists by creation time, newest first, across
// pages, as Reconcile does.
func TestPaymentIntentList(t *testing.T) {
	srv, sc := newDouble(t)
	start := time.Now().Truncate(time.Second)
	var recent []string // newest first
	for i := range 7 {
		pi, err := sc.PaymentIntents.New(cardParams(1000, ""))
		if err != nil {
			t.Fatal(err)
		}
		if i >= 2 {
			recent = append([]string{pi.ID}, recent...)
		}
		if i == 1 {
			srv.Advance(time.Hour)
		}
	}
	list := func(since int64) []string {
		p := &stripe.PaymentIntentListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: since}}
		p.Limit = stripe.Int64(2)
		it := sc.PaymentIntents.List(p)
		var ids []string
		for it.Next() {
			ids = append(ids, it.PaymentIntent().ID)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if diff := cmp.Diff(recent, list(start.Add(30*time.Minute).Unix())); diff != "" {
		t.Errorf("created in the last half hour (-want +got):\n%s", diff)
	}
	if n := len(list(start.Add(-time.Minute).Unix())); n != 7 {
		t.Errorf("all: %d, want 7", n)
	}
}

// TestPaymentIntentListByCustomer: the look-up checkout makes before
// re-creating an intent lists one customer's intents.
func TestPaymentIntentListByCustomer(t *testing.T) {
	_, sc := newDouble(t)
	me, other := mustCustomer(t, sc, &stripe.CustomerParams{}).ID, mustCustomer(t, sc, &stripe.CustomerParams{}).ID
	var mine []string // newest first
	for i := range 4 {
		customer := other
		if i%2 == 0 {
			customer = me
		}
		pi, err := sc.PaymentIntents.New(cardParams(1000, customer))
		if err != nil {
			t.Fatal(err)
		}
		if customer == me {
			mine = append([]string{pi.ID}, mine...)
		}
	}
	p := &stripe.PaymentIntentListParams{Customer: stripe.String(me)}
	it := sc.PaymentIntents.List(p)
	var got []string
	for it.Next() {
		got = append(got, it.PaymentIntent().ID)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(mine, got); diff != "" {
		t.Errorf("the customer's intents (-want +got):\n%s", diff)
	}
}

// TestConfirmByTheCardHolder: a declined card leaves the intent payable
// with another card; a paid intent cannot be confirmed again.
func TestConfirmByTheCardHolder(t *testing.T) {
	_, sc := newDouble(t)
	pi, err := sc.PaymentIntents.New(cardParams(2500, ""))
	if err != nil {
		t.Fatal(err)
	}
	confirm := func(pm string) (*stripe.PaymentIntent, error) {
		return sc.PaymentIntents.Confirm(pi.ID, &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String(pm)})
	}
	if _, err := confirm("pm_card_chargeDeclined"); err == nil {
		t.Fatal("a declined card confirmed")
	}
	got, err := confirm("pm_card_visa")
	if err != nil || got.Status != stripe.PaymentIntentStatusSucceeded || got.AmountReceived != 2500 {
		t.Fatalf("another card after the decline: %+v, %v; want succeeded", got, err)
	}
	var se *stripe.Error
	if _, err := confirm("pm_card_visa"); !errors.As(err, &se) || se.Code != stripe.ErrorCodePaymentIntentUnexpectedState {
		t.Errorf("confirming a paid intent again: %v, want payment_intent_unexpected_state", err)
	}
}

// TestTestSideTransitions covers what the tests do in Stripe's place: the
// customer completing or failing a payment.
func TestTestSideTransitions(t *testing.T) {
	srv, sc := newDouble(t)
	open := mustPIWith(t, sc, "")
	needsAction := mustPIWith(t, sc, "pm_card_authenticationRequired")
	paid := mustPIWith(t, sc, "pm_card_visa")

	pi, err := srv.SucceedPaymentIntent(open)
	if err != nil || pi.Status != "succeeded" || pi.AmountReceived != 1000 || pi.PaymentMethod == nil || pi.LatestCharge == nil {
		t.Errorf("succeed an open intent = %+v, %v", pi, err)
	}
	pi, err = srv.FailPaymentIntent(needsAction, "insufficient_funds")
	if err != nil || pi.Status != "requires_payment_method" || pi.PaymentMethod != nil ||
		pi.LastPaymentError == nil || pi.LastPaymentError.Code != "card_declined" || pi.LastPaymentError.Msg != "Your card has insufficient funds." {
		t.Errorf("fail 3-D Secure = %+v, %v", pi, err)
	}
	if pi, err = srv.SucceedPaymentIntent(needsAction); err != nil || pi.Status != "succeeded" || pi.LastPaymentError != nil {
		t.Errorf("succeed after a failure = %+v, %v", pi, err)
	}
	if pi, err = srv.FailPaymentIntent(mustPIWith(t, sc, ""), ""); err != nil || pi.LastPaymentError.DeclineCode != "generic_decline" {
		t.Errorf("fail with no code = %+v, %v", pi, err)
	}
	for _, id := range []string{paid, "pi_nope"} {
		if _, err := srv.SucceedPaymentIntent(id); err == nil {
			t.Errorf("succeeded %s again", id)
		}
		if _, err := srv.FailPaymentIntent(id, ""); err == nil {
			t.Errorf("failed %s", id)
		}
	}
	want := []string{"payment_intent.payment_failed", "payment_intent.succeeded"}
	if diff := cmp.Diff(want, eventTypes(t, srv, needsAction)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// mustPIWith creates a PaymentIntent of $10.00, confirmed with pm unless
// pm is empty.
func mustPIWith(t *testing.T, sc *client.API, pm string) string {
	t.Helper()
	p := cardParams(1000, "")
	if pm != "" {
		p.PaymentMethod, p.Confirm = stripe.String(pm), stripe.Bool(true)
	}
	pi, err := sc.PaymentIntents.New(p)
	if err != nil {
		t.Fatal(err)
	}
	return pi.ID
}
