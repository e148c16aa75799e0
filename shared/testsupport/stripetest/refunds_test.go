package stripetest_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"example.com/billing/shared/testsupport/stripetest"
)

// mustPay creates and confirms a card PaymentIntent that succeeds.
func mustPay(t *testing.T, sc *client.API, amount int64, customerID string) *stripe.PaymentIntent {
	t.Helper()
	p := cardParams(amount, customerID)
	p.PaymentMethod = stripe.String("pm_card_visa")
	p.Confirm = stripe.Bool(true)
	p.AddMetadata("order", "o-1")
	pi, err := sc.PaymentIntents.New(p)
	if err != nil {
		t.Fatalf("paying %d: %v", amount, err)
	}
	return pi
}

func TestChargeOfASucceededPayment(t *testing.T) {
	tests := []struct {
		name string
		pay  func(t *testing.T, srv *stripetest.Server, sc *client.API, cusID string) *stripe.PaymentIntent
	}{
		{"confirmed through the API", func(t *testing.T, _ *stripetest.Server, sc *client.API, cusID string) *stripe.PaymentIntent {
			return mustPay(t, sc, 1500, cusID)
		}},
		{"completed outside the API", func(t *testing.T, srv *stripetest.Server, sc *client.API, cusID string) *stripe.PaymentIntent {
			p := cardParams(1500, cusID)
			p.AddMetadata("order", "o-1")
			pi, err := sc.PaymentIntents.New(p)
			if err != nil {
				t.Fatal(err)
			}
			pi, err = srv.SucceedPaymentIntent(pi.ID)
			if err != nil {
				t.Fatal(err)
			}
			return pi
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			cus := mustCustomer(t, sc, nil)
			pi := tt.pay(t, srv, sc, cus.ID)
			if pi.LatestCharge == nil || !regexp.MustCompile(`^ch_[A-Za-z0-9]{24}$`).MatchString(pi.LatestCharge.ID) {
				t.Fatalf("latest_charge = %+v", pi.LatestCharge)
			}
			id := pi.LatestCharge.ID
			got, err := sc.Charges.Get(id, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := &stripe.Charge{
				ID:             id,
				Object:         "charge",
				Amount:         1500,
				AmountCaptured: 1500,
				Captured:       true,
				Created:        srv.Now().Unix(),
				Currency:       "usd",
				Customer:       &stripe.Customer{ID: cus.ID},
				Metadata:       map[string]string{"order": "o-1"},
				Paid:           true,
				PaymentIntent:  &stripe.PaymentIntent{ID: pi.ID},
				PaymentMethod:  pi.PaymentMethod.ID,
				Refunds:        &stripe.RefundList{ListMeta: stripe.ListMeta{URL: "/v1/charges/" + id + "/refunds"}},
				Status:         "succeeded",
			}
			opts := cmp.Options{ignoreResponse, cmpopts.EquateEmpty(),
				cmpopts.IgnoreFields(stripe.Charge{}, "BalanceTransaction", "BillingDetails", "Outcome", "PaymentMethodDetails", "ReceiptURL")}
			if diff := cmp.Diff(want, got, opts); diff != "" {
				t.Errorf("charge (-want +got):\n%s", diff)
			}
			if got.PaymentMethodDetails.Card.Last4 != "4242" || got.Outcome.Type != "authorized" || !strings.HasPrefix(got.BalanceTransaction.ID, "txn_") {
				t.Errorf("card %+v outcome %+v balance transaction %v", got.PaymentMethodDetails.Card, got.Outcome, got.BalanceTransaction)
			}
			stored, ok := srv.Charge(id)
			if !ok {
				t.Fatal("Charge() does not find it")
			}
			if diff := cmp.Diff(want, stored, opts); diff != "" {
				t.Errorf("Charge() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"charge.succeeded"}, eventTypes(t, srv, id)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChargeOfADecline(t *testing.T) {
	srv, sc := newDouble(t)
	p := cardParams(1000, "")
	p.PaymentMethod = stripe.String("pm_card_chargeDeclinedInsufficientFunds")
	p.Confirm = stripe.Bool(true)
	_, err := sc.PaymentIntents.New(p)
	se, ok := err.(*stripe.Error)
	if !ok {
		t.Fatalf("err = %v, want a decline", err)
	}
	ch, err := sc.Charges.Get(se.ChargeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		Status         stripe.ChargeStatus
		Paid           bool
		AmountCaptured int64
		FailureCode    string
		FailureMessage string
		OutcomeReason  string
	}
	want := summary{Status: "failed", FailureCode: "card_declined", FailureMessage: "Your card has insufficient funds.", OutcomeReason: "insufficient_funds"}
	got := summary{ch.Status, ch.Paid, ch.AmountCaptured, ch.FailureCode, ch.FailureMessage, ch.Outcome.Reason}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failed charge (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"charge.failed"}, eventTypes(t, srv, ch.ID)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	_, err = sc.Refunds.New(&stripe.RefundParams{Charge: stripe.String(ch.ID)})
	checkErr(t, err, &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "charge"})
}

func TestChargeList(t *testing.T) {
	srv, sc := newDouble(t)
	alice := mustCustomer(t, sc, nil)
	bob := mustCustomer(t, sc, nil)
	var all, alices []string // newest first
	var pis []string
	for i := range 5 {
		cus := []string{alice.ID, bob.ID}[i%2]
		pi := mustPay(t, sc, int64(1000+i), cus)
		all = append([]string{pi.LatestCharge.ID}, all...)
		pis = append(pis, pi.ID)
		if cus == alice.ID {
			alices = append([]string{pi.LatestCharge.ID}, alices...)
		}
		srv.Advance(time.Minute)
	}
	tests := []struct {
		name   string
		params *stripe.ChargeListParams
		want   []string
	}{
		{"all, two per page", &stripe.ChargeListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(2)}}, all},
		{"customer", &stripe.ChargeListParams{Customer: stripe.String(alice.ID)}, alices},
		{"payment_intent", &stripe.ChargeListParams{PaymentIntent: stripe.String(pis[3])}, all[1:2]},
		{"starting_after", &stripe.ChargeListParams{ListParams: stripe.ListParams{StartingAfter: stripe.String(all[2])}}, all[3:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := sc.Charges.List(tt.params)
			var got []string
			for it.Next() {
				got = append(got, it.Charge().ID)
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
	_, err := sc.Charges.Get("ch_nope", nil)
	checkErr(t, err, &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "charge", Msg: "No such charge: 'ch_nope'"})
	if n := len(srv.Charges()); n != 5 {
		t.Errorf("Charges() has %d, want 5", n)
	}
}

func TestRefundCreate(t *testing.T) {
	// Each case refunds a $20.00 payment (in JPY ¥2000 where noted) after
	// the refunds in before.
	byPI := func(amount int64) func(pi *stripe.PaymentIntent) *stripe.RefundParams {
		return func(pi *stripe.PaymentIntent) *stripe.RefundParams {
			p := &stripe.RefundParams{PaymentIntent: stripe.String(pi.ID)}
			if amount != 0 {
				p.Amount = stripe.Int64(amount)
			}
			return p
		}
	}
	tests := []struct {
		name               string
		currency           string
		succeeded          *bool // default true
		before             []int64
		params             func(pi *stripe.PaymentIntent) *stripe.RefundParams
		wantAmount         int64
		wantChargeRefunded int64
		wantErr            *apiErr
	}{
		{name: "whole payment by default", params: byPI(0), wantAmount: 2000, wantChargeRefunded: 2000},
		{name: "partial", params: byPI(500), wantAmount: 500, wantChargeRefunded: 500},
		{name: "the rest after a partial refund", before: []int64{500}, params: byPI(0), wantAmount: 1500, wantChargeRefunded: 2000},
		{
			name: "by charge, with reason and metadata",
			params: func(pi *stripe.PaymentIntent) *stripe.RefundParams {
				p := &stripe.RefundParams{Charge: stripe.String(pi.LatestCharge.ID), Amount: stripe.Int64(700), Reason: stripe.String("requested_by_customer")}
				p.AddMetadata("ticket", "T-9")
				return p
			},
			wantAmount: 700, wantChargeRefunded: 700,
		},
		{
			name: "more than remains", before: []int64{1500}, params: byPI(600),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "amount",
				Msg: "Refund amount ($6.00) is greater than unrefunded amount on charge ($5.00)"},
		},
		{
			name: "more than remains, zero-decimal currency", currency: "jpy", params: byPI(2001),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "amount",
				Msg: "Refund amount (¥2001) is greater than unrefunded amount on charge (¥2000)"},
		},
		{
			name: "already refunded", before: []int64{2000}, params: byPI(0),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "charge_already_refunded"},
		},
		{
			name: "payment not succeeded", succeeded: stripe.Bool(false), params: byPI(0),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "payment_intent_unexpected_state", Param: "payment_intent"},
		},
		{
			name: "neither payment_intent nor charge",
			params: func(*stripe.PaymentIntent) *stripe.RefundParams {
				return &stripe.RefundParams{Amount: stripe.Int64(100)}
			},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest,
				Msg: "One of the following params should be provided for this request: payment_intent or charge."},
		},
		{
			name: "both payment_intent and charge",
			params: func(pi *stripe.PaymentIntent) *stripe.RefundParams {
				return &stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Charge: stripe.String(pi.LatestCharge.ID)}
			},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest},
		},
		{
			name: "invalid reason",
			params: func(pi *stripe.PaymentIntent) *stripe.RefundParams {
				return &stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Reason: stripe.String("changed_mind")}
			},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "reason"},
		},
		{
			name: "zero amount", params: func(pi *stripe.PaymentIntent) *stripe.RefundParams {
				return &stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(0)}
			},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "amount"},
		},
		{
			name: "unknown payment_intent",
			params: func(*stripe.PaymentIntent) *stripe.RefundParams {
				return &stripe.RefundParams{PaymentIntent: stripe.String("pi_nope")}
			},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "payment_intent", Msg: "No such PaymentIntent: 'pi_nope'"},
		},
		{
			name: "unknown charge",
			params: func(*stripe.PaymentIntent) *stripe.RefundParams {
				return &stripe.RefundParams{Charge: stripe.String("ch_nope")}
			},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "charge", Msg: "No such charge: 'ch_nope'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			p := cardParams(2000, "")
			if tt.currency != "" {
				p.Currency = stripe.String(tt.currency)
			}
			if tt.succeeded == nil || *tt.succeeded {
				p.PaymentMethod = stripe.String("pm_card_visa")
				p.Confirm = stripe.Bool(true)
			}
			pi, err := sc.PaymentIntents.New(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, amount := range tt.before {
				if _, err := sc.Refunds.New(byPI(amount)(pi)); err != nil {
					t.Fatal(err)
				}
			}
			eventsBefore := len(srv.Events())
			got, err := sc.Refunds.New(tt.params(pi))
			checkErr(t, err, tt.wantErr)
			if err != nil {
				if len(srv.Events()) != eventsBefore || len(srv.Refunds()) != len(tt.before) {
					t.Error("a refused refund changed something")
				}
				return
			}
			chargeID := pi.LatestCharge.ID
			want := &stripe.Refund{ID: got.ID, Object: "refund", Amount: tt.wantAmount, Charge: &stripe.Charge{ID: chargeID},
				Created: srv.Now().Unix(), Currency: "usd", Metadata: tt.params(pi).Metadata,
				PaymentIntent: &stripe.PaymentIntent{ID: pi.ID}, Reason: stripe.RefundReason(stringValue(tt.params(pi).Reason)), Status: "succeeded"}
			opts := cmp.Options{ignoreResponse, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(stripe.Refund{}, "BalanceTransaction")}
			if diff := cmp.Diff(want, got, opts); diff != "" {
				t.Errorf("refund (-want +got):\n%s", diff)
			}
			if !regexp.MustCompile(`^re_[A-Za-z0-9]{24}$`).MatchString(got.ID) {
				t.Errorf("id %q does not look like Stripe's", got.ID)
			}

			ch, _ := srv.Charge(chargeID)
			if ch.AmountRefunded != tt.wantChargeRefunded || ch.Refunded != (tt.wantChargeRefunded == 2000) ||
				ch.Refunds.TotalCount != uint32(len(tt.before)+1) || ch.Refunds.Data[0].ID != got.ID {
				t.Errorf("charge refunded %d (%v), %d refunds, newest %s; want %d and %s first",
					ch.AmountRefunded, ch.Refunded, ch.Refunds.TotalCount, ch.Refunds.Data[0].ID, tt.wantChargeRefunded, got.ID)
			}
			if diff := cmp.Diff([]string{"refund.created"}, eventTypes(t, srv, got.ID)); diff != "" {
				t.Errorf("refund events (-want +got):\n%s", diff)
			}
			ev, ok := srv.LastEvent("charge.refunded", chargeID)
			if !ok {
				t.Fatal("no charge.refunded")
			}
			data := parseEvent(t, ev.Payload).Data
			if data.Object["amount_refunded"] != float64(tt.wantChargeRefunded) ||
				data.PreviousAttributes["amount_refunded"] != float64(tt.wantChargeRefunded-tt.wantAmount) {
				t.Errorf("charge.refunded object amount_refunded %v, previous %v", data.Object["amount_refunded"], data.PreviousAttributes["amount_refunded"])
			}
		})
	}
}

func stringValue(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestRefundList(t *testing.T) {
	srv, sc := newDouble(t)
	a := mustPay(t, sc, 5000, "")
	b := mustPay(t, sc, 5000, "")
	var all, ofA []string // newest first
	for i := range 12 {
		pi := []*stripe.PaymentIntent{a, b}[i%2]
		r, err := sc.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(100)})
		if err != nil {
			t.Fatal(err)
		}
		all = append([]string{r.ID}, all...)
		if pi == a {
			ofA = append([]string{r.ID}, ofA...)
		}
	}
	tests := []struct {
		name      string
		params    *stripe.RefundListParams
		viaCharge bool // GET /v1/charges/{charge}/refunds of a's charge
		want      []string
	}{
		{name: "all", params: &stripe.RefundListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(5)}}, want: all},
		{name: "payment_intent", params: &stripe.RefundListParams{PaymentIntent: stripe.String(a.ID), ListParams: stripe.ListParams{Limit: stripe.Int64(4)}}, want: ofA},
		{name: "charge", params: &stripe.RefundListParams{Charge: stripe.String(a.LatestCharge.ID)}, want: ofA},
		{name: "charge's refunds endpoint", viaCharge: true, want: ofA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			if tt.viaCharge {
				var list stripe.RefundList
				if err := srv.Backends().API.Call("GET", "/v1/charges/"+a.LatestCharge.ID+"/refunds", stripetest.Key, &stripe.Params{}, &list); err != nil {
					t.Fatal(err)
				}
				for _, r := range list.Data {
					got = append(got, r.ID)
				}
			} else {
				it := sc.Refunds.List(tt.params)
				for it.Next() {
					got = append(got, it.Refund().ID)
				}
				if err := it.Err(); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("embedded refunds stop at ten", func(t *testing.T) {
		_, sc := newDouble(t)
		pi := mustPay(t, sc, 5000, "")
		var ids []string
		for range 11 {
			r, err := sc.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(1)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append([]string{r.ID}, ids...)
		}
		ch, err := sc.Charges.Get(pi.LatestCharge.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range ch.Refunds.Data {
			got = append(got, r.ID)
		}
		if diff := cmp.Diff(ids[:10], got); diff != "" || !ch.Refunds.HasMore || ch.Refunds.TotalCount != 11 {
			t.Errorf("embedded refunds has_more %v total %d (-want +got):\n%s", ch.Refunds.HasMore, ch.Refunds.TotalCount, diff)
		}
	})
	t.Run("get, expand and the Refunds helper", func(t *testing.T) {
		p := &stripe.RefundParams{}
		p.AddExpand("charge")
		p.AddExpand("payment_intent")
		r, err := sc.Refunds.Get(all[0], p)
		if err != nil {
			t.Fatal(err)
		}
		if r.Charge.Amount != 5000 || r.PaymentIntent.Status != "succeeded" {
			t.Errorf("expanded charge %+v payment intent %+v", r.Charge, r.PaymentIntent)
		}
		_, err = sc.Refunds.Get("re_nope", nil)
		checkErr(t, err, &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "refund", Msg: "No such refund: 're_nope'"})
		helper := srv.Refunds()
		if len(helper) != 12 || helper[11].ID != all[0] {
			t.Errorf("Refunds() = %d refunds, last %s; want 12, last %s", len(helper), helper[len(helper)-1].ID, all[0])
		}
	})
}

func TestChargeExpand(t *testing.T) {
	_, sc := newDouble(t)
	cus := mustCustomer(t, sc, &stripe.CustomerParams{Email: stripe.String("a@example.com")})
	pi := mustPay(t, sc, 1000, cus.ID)
	tests := []struct {
		expand  []string
		check   func(*stripe.Charge) bool
		wantErr *apiErr
	}{
		{expand: []string{"customer"}, check: func(ch *stripe.Charge) bool { return ch.Customer.Email == "a@example.com" }},
		{expand: []string{"payment_intent"}, check: func(ch *stripe.Charge) bool { return ch.PaymentIntent.Amount == 1000 }},
		// Stripe only embeds refunds when asked to; the double always
		// does, so asking is harmless.
		{expand: []string{"refunds"}, check: func(ch *stripe.Charge) bool { return ch.Refunds != nil }},
		{expand: []string{"review"}, wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "expand"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.expand), func(t *testing.T) {
			p := &stripe.ChargeParams{}
			for _, e := range tt.expand {
				p.AddExpand(e)
			}
			ch, err := sc.Charges.Get(pi.LatestCharge.ID, p)
			checkErr(t, err, tt.wantErr)
			if err == nil && !tt.check(ch) {
				t.Errorf("charge = %+v", ch)
			}
		})
	}
	t.Run("latest_charge on the PaymentIntent", func(t *testing.T) {
		p := &stripe.PaymentIntentParams{}
		p.AddExpand("latest_charge")
		got, err := sc.PaymentIntents.Get(pi.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		if got.LatestCharge.Status != "succeeded" || got.LatestCharge.ReceiptURL == "" {
			t.Errorf("expanded latest_charge = %+v", got.LatestCharge)
		}
	})
}
