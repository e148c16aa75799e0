package stripetest_test

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stripe/stripe-go/v76"
)

func TestRefundCreate(t *testing.T) {
	// Each case refunds a $20.00 payment after the refunds in before.
	byPI := func(amount int64) func(piID string) *stripe.RefundParams {
		return func(piID string) *stripe.RefundParams {
			p := &stripe.RefundParams{PaymentIntent: stripe.String(piID)}
			if amount != 0 {
				p.Amount = stripe.Int64(amount)
			}
			return p
		}
	}
	tests := []struct {
		name               string
		unpaid             bool
		before             []int64
		params             func(piID string) *stripe.RefundParams
		wantAmount         int64
		wantChargeRefunded int64
		wantErr            *apiErr
	}{
		{name: "whole payment by default", params: byPI(0), wantAmount: 2000, wantChargeRefunded: 2000},
		{name: "partial", params: byPI(500), wantAmount: 500, wantChargeRefunded: 500},
		{name: "the rest after a partial refund", before: []int64{500}, params: byPI(0), wantAmount: 1500, wantChargeRefunded: 2000},
		{name: "as the port refunds: reason and metadata", params: func(piID string) *stripe.RefundParams {
			p := &stripe.RefundParams{PaymentIntent: stripe.String(piID), Amount: stripe.Int64(700), Reason: stripe.String("requested_by_customer")}
			p.AddMetadata("user_id", "u1")
			return p
		}, wantAmount: 700, wantChargeRefunded: 700},
		{name: "more than remains", before: []int64{1500}, params: byPI(600),
			wantErr: invalid("", "amount", "Refund amount ($6.00) is greater than unrefunded amount on charge ($5.00)")},
		{name: "already refunded", before: []int64{2000}, params: byPI(0), wantErr: invalid("charge_already_refunded", "", "")},
		{name: "payment not succeeded", unpaid: true, params: byPI(0), wantErr: invalid("payment_intent_unexpected_state", "", "")},
		{name: "no payment_intent", params: func(string) *stripe.RefundParams { return &stripe.RefundParams{Amount: stripe.Int64(100)} },
			wantErr: invalid("", "", "One of the following params should be provided for this request: payment_intent or charge.")},
		{name: "invalid reason", params: func(piID string) *stripe.RefundParams {
			return &stripe.RefundParams{PaymentIntent: stripe.String(piID), Reason: stripe.String("changed_mind")}
		}, wantErr: invalid("", "reason", "")},
		{name: "zero amount", params: func(piID string) *stripe.RefundParams {
			return &stripe.RefundParams{PaymentIntent: stripe.String(piID), Amount: stripe.Int64(0)}
		}, wantErr: invalid("", "amount", "")},
		{name: "unknown payment_intent", params: func(string) *stripe.RefundParams { return byPI(0)("pi_nope") },
			wantErr: invalid("resource_missing", "payment_intent", "No such PaymentIntent: 'pi_nope'")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			p := cardParams(2000, "")
			if !tt.unpaid {
				p.PaymentMethod, p.Confirm = stripe.String("pm_card_visa"), stripe.Bool(true)
			}
			created, err := sc.PaymentIntents.New(p)
			if err != nil {
				t.Fatal(err)
			}
			piID := created.ID
			for _, amount := range tt.before {
				if _, err := sc.Refunds.New(byPI(amount)(piID)); err != nil {
					t.Fatal(err)
				}
			}
			eventsBefore := len(srv.Events())
			got, err := sc.Refunds.New(tt.params(piID))
			checkErr(t, err, tt.wantErr)
			if err != nil {
				if len(srv.Events()) != eventsBefore || len(srv.Refunds()) != len(tt.before) {
					t.Error("a refused refund changed something")
				}
				return
			}
			pi, _ := srv.PaymentIntent(piID)
			chargeID := pi.LatestCharge.ID
			rp := tt.params(piID)
			want := &stripe.Refund{ID: got.ID, Object: "refund", Amount: tt.wantAmount, Charge: &stripe.Charge{ID: chargeID},
				Created: got.Created, Currency: "usd", Metadata: rp.Metadata, PaymentIntent: &stripe.PaymentIntent{ID: piID}, Status: "succeeded"}
			if rp.Reason != nil {
				want.Reason = stripe.RefundReason(*rp.Reason)
			}
			got.LastResponse = nil
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("refund (-want +got):\n%s", diff)
			}
			if !regexp.MustCompile(`^re_[A-Za-z0-9]{24}$`).MatchString(got.ID) {
				t.Errorf("id %q does not look like Stripe's", got.ID)
			}
			if refunds := srv.Refunds(); len(refunds) != len(tt.before)+1 || refunds[len(tt.before)].ID != got.ID {
				t.Errorf("Refunds() = %v", refunds)
			}
			// charge.refunded reports the charge's cumulative amount refunded.
			ev, ok := srv.LastEvent("charge.refunded", chargeID)
			if !ok {
				t.Fatal("no charge.refunded")
			}
			var ch stripe.Charge
			if err := json.Unmarshal(parseEvent(t, ev.Payload).Data.Raw, &ch); err != nil {
				t.Fatal(err)
			}
			if ch.AmountRefunded != tt.wantChargeRefunded || ch.Refunded != (tt.wantChargeRefunded == 2000) || ch.PaymentIntent.ID != piID || ch.Amount != 2000 {
				t.Errorf("charge.refunded object = refunded %d (%v) of %d, intent %v", ch.AmountRefunded, ch.Refunded, ch.Amount, ch.PaymentIntent)
			}
		})
	}
}
