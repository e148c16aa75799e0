package stripetest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"example.com/billing/shared/testsupport/stripetest"
)

// paidIntent is a card PaymentIntent of amount that succeeded.
func paidIntent(t *testing.T, sc *client.API, amount int64) *stripe.PaymentIntent {
	t.Helper()
	pi, err := sc.PaymentIntents.New(&stripe.PaymentIntentParams{Amount: stripe.Int64(amount), Currency: stripe.String("usd"),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}), PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return pi
}

// disputeEvents are the types and statuses of the events about dispute id,
// with the balance transactions each carried.
func disputeEvents(t *testing.T, srv *stripetest.Server, id string) []string {
	t.Helper()
	var out []string
	for _, e := range srv.Events() {
		ev := parseEvent(t, e.Payload)
		if objectIDOf(t, ev) != id {
			continue
		}
		var d stripe.Dispute
		if err := d.UnmarshalJSON(ev.Data.Raw); err != nil {
			t.Fatal(err)
		}
		line := string(ev.Type) + " " + string(d.Status)
		for _, bt := range d.BalanceTransactions {
			if bt.Amount < 0 {
				line += " -"
			} else {
				line += " +"
			}
		}
		out = append(out, line)
	}
	return out
}

func refundCode(err error) stripe.ErrorCode {
	var se *stripe.Error
	if errors.As(err, &se) {
		return se.Code
	}
	return ""
}

func TestDisputeLifecycle(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		inquiry    bool
		won        bool
		refundCode stripe.ErrorCode // of a refund while the dispute is open
		want       []string
	}{
		{name: "a chargeback won", won: true, refundCode: "charge_disputed", want: []string{
			"charge.dispute.created needs_response -", "charge.dispute.funds_withdrawn needs_response -",
			"charge.dispute.funds_reinstated won - +", "charge.dispute.closed won - +"}},
		{name: "a chargeback lost", refundCode: "charge_disputed", want: []string{
			"charge.dispute.created needs_response -", "charge.dispute.funds_withdrawn needs_response -", "charge.dispute.closed lost -"}},
		{name: "an inquiry settled by a refund", inquiry: true, want: []string{
			"charge.dispute.created warning_needs_response", "charge.dispute.closed warning_closed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := stripetest.New(t)
			sc := srv.Client()
			pi := paidIntent(t, sc, 5000)
			id, err := srv.OpenDispute(pi.ID, 0, tc.inquiry)
			if err != nil {
				t.Fatal(err)
			}
			_, err = sc.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID)})
			if got := refundCode(err); got != tc.refundCode {
				t.Errorf("refund while disputed: %v, want code %q", err, tc.refundCode)
			}
			if !tc.inquiry {
				if err := srv.CloseDispute(id, tc.won); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(tc.want, disputeEvents(t, srv, id)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if err := srv.CloseDispute(id, true); err == nil {
				t.Error("closed a dispute twice")
			}
		})
	}
}

func TestListEvents(t *testing.T) {
	t.Parallel()
	srv := stripetest.New(t)
	sc := srv.Client()
	paidIntent(t, sc, 1000)
	srv.Advance(31 * 24 * time.Hour) // Stripe lists 30 days of events
	recent := paidIntent(t, sc, 2000)
	if _, err := sc.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(recent.ID), Amount: stripe.Int64(500)}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.OpenDispute(recent.ID, 1500, false); err != nil {
		t.Fatal(err)
	}
	list := func(p *stripe.EventListParams) []string {
		t.Helper()
		p.Limit = stripe.Int64(2) // several pages
		var out []string
		iter := sc.Events.List(p)
		for iter.Next() {
			ev := iter.Event()
			out = append(out, string(ev.Type)+" "+objectIDOf(t, *ev)[:3])
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := list(&stripe.EventListParams{Types: stripe.StringSlice([]string{"payment_intent.succeeded", "charge.refunded", "charge.dispute.funds_withdrawn"})})
	want := []string{"charge.dispute.funds_withdrawn dp_", "charge.refunded ch_", "payment_intent.succeeded pi_"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events by types, newest first (-want +got):\n%s", diff)
	}
	got = list(&stripe.EventListParams{Type: stripe.String("charge.dispute.*")})
	if diff := cmp.Diff([]string{"charge.dispute.funds_withdrawn dp_", "charge.dispute.created dp_"}, got); diff != "" {
		t.Errorf("events by a type pattern (-want +got):\n%s", diff)
	}
	future := time.Now().Add(100 * 24 * time.Hour).Unix()
	if got := list(&stripe.EventListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: future}}); len(got) != 0 {
		t.Errorf("events created after the filter: %v", got)
	}
	succeeded := 0
	for _, e := range list(&stripe.EventListParams{}) {
		if e == "payment_intent.succeeded pi_" {
			succeeded++
		}
	}
	if succeeded != 1 {
		t.Errorf("%d payment_intent.succeeded listed, want 1: the other is older than 30 days", succeeded)
	}
}

func objectIDOf(t *testing.T, ev stripe.Event) string {
	t.Helper()
	id, _ := ev.Data.Object["id"].(string)
	return id
}
