package stripetest

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// Disputes. Stripe opens them (a cardholder asks their bank), so the double
// has no endpoint that creates or closes one: tests play the bank with
// [Server.OpenDispute] and [Server.CloseDispute], and the double records the
// events Stripe would send, in Stripe's order:
//
//   - an inquiry (status warning_needs_response) withdraws nothing:
//     charge.dispute.created; closed as warning_closed, charge.dispute.closed;
//     refunding an inquiry's charge closes it (warning_closed);
//   - a chargeback (needs_response) withdraws its amount at once:
//     charge.dispute.created, then charge.dispute.funds_withdrawn, each
//     carrying the withdrawal among balance_transactions; won, the funds come
//     back: charge.dispute.funds_reinstated, then charge.dispute.closed (won),
//     with the reinstatement added; lost, charge.dispute.closed (lost).
//
// A charge with a chargeback cannot be refunded: POST /v1/refunds answers
// Stripe's charge_disputed.

// dispute is a Stripe dispute in its wire shape.
type dispute struct {
	ID                  string                      `json:"id"`
	Object              string                      `json:"object"`
	Amount              int64                       `json:"amount"`
	BalanceTransactions []disputeBalanceTransaction `json:"balance_transactions"`
	Charge              string                      `json:"charge"`
	Created             int64                       `json:"created"`
	Currency            string                      `json:"currency"`
	IsChargeRefundable  bool                        `json:"is_charge_refundable"`
	Livemode            bool                        `json:"livemode"`
	Metadata            map[string]string           `json:"metadata"`
	PaymentIntent       string                      `json:"payment_intent"`
	Reason              string                      `json:"reason"`
	Status              string                      `json:"status"`
}

// disputeBalanceTransaction is a funds movement of a dispute: negative
// when Stripe withdraws the funds, positive when it reinstates them.
type disputeBalanceTransaction struct {
	ID                string `json:"id"`
	Object            string `json:"object"`
	Amount            int64  `json:"amount"`
	Currency          string `json:"currency"`
	Fee               int64  `json:"fee"`
	Net               int64  `json:"net"`
	ReportingCategory string `json:"reporting_category"`
	Type              string `json:"type"`
}

// Dispute statuses the double moves between.
const (
	disputeInquiry       = "warning_needs_response"
	disputeInquiryClosed = "warning_closed"
	disputeNeedsResponse = "needs_response"
	disputeWon           = "won"
	disputeLost          = "lost"
)

// disputeFee is what Stripe charges for a chargeback (in the charge's
// currency here), returned when it is won.
const disputeFee = 1500

func (d *dispute) inquiry() bool { return strings.HasPrefix(d.Status, "warning_") }

func (d *dispute) move(amount int64) {
	fee := disputeFee
	if amount > 0 {
		fee = -disputeFee
	}
	d.BalanceTransactions = append(d.BalanceTransactions, disputeBalanceTransaction{
		ID: newID("txn_", 24), Object: "balance_transaction", Amount: amount, Currency: d.Currency,
		Fee: int64(fee), Net: amount - int64(fee), ReportingCategory: "dispute", Type: "adjustment",
	})
}

// OpenDispute opens a dispute of amount (the whole charge when 0) on the
// succeeded charge of PaymentIntent paymentIntentID, as the cardholder's
// bank does: an inquiry when inquiry is set, else a chargeback whose funds
// are withdrawn at once. It returns the dispute's id.
func (s *Server) OpenDispute(paymentIntentID string, amount int64, inquiry bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, ok := s.paymentIntents.get(paymentIntentID)
	if !ok || pi.Status != statusSucceeded || pi.LatestCharge == nil {
		return "", fmt.Errorf("stripetest: PaymentIntent %q has no succeeded charge to dispute", paymentIntentID)
	}
	ch, _ := s.charges.get(*pi.LatestCharge)
	if amount == 0 {
		amount = ch.Amount
	}
	if amount < 1 || amount > ch.Amount {
		return "", fmt.Errorf("stripetest: cannot dispute %d of a charge of %d", amount, ch.Amount)
	}
	d := &dispute{
		ID: newID("dp_", 24), Object: "dispute", Amount: amount, BalanceTransactions: []disputeBalanceTransaction{},
		Charge: ch.ID, Created: s.now.Unix(), Currency: ch.Currency, Metadata: map[string]string{},
		PaymentIntent: paymentIntentID, Reason: "fraudulent", Status: disputeNeedsResponse,
	}
	if inquiry {
		d.Status, d.IsChargeRefundable = disputeInquiry, true
	}
	s.disputes.add(d.ID, d)
	if d.inquiry() {
		s.recordMoneyEvent("charge.dispute.created", d.ID, d)
		return d.ID, nil
	}
	d.move(-amount)
	s.recordMoneyEvent("charge.dispute.created", d.ID, d)
	s.recordMoneyEvent("charge.dispute.funds_withdrawn", d.ID, d)
	return d.ID, nil
}

// CloseDispute ends dispute id as the bank decides: a chargeback won
// (its funds reinstated) or lost; an inquiry is closed (warning_closed)
// whatever won says.
func (s *Server) CloseDispute(id string, won bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.disputes.get(id)
	if !ok {
		return fmt.Errorf("stripetest: no dispute %q", id)
	}
	switch {
	case d.Status == disputeWon || d.Status == disputeLost || d.Status == disputeInquiryClosed:
		return fmt.Errorf("stripetest: dispute %s is already %s", id, d.Status)
	case d.inquiry():
		d.Status = disputeInquiryClosed
	case won:
		d.Status = disputeWon
		d.move(d.Amount)
		s.recordMoneyEvent("charge.dispute.funds_reinstated", d.ID, d)
	default:
		d.Status = disputeLost
	}
	d.IsChargeRefundable = false
	s.recordMoneyEvent("charge.dispute.closed", d.ID, d)
	return nil
}

// Dispute returns the dispute with id.
func (s *Server) Dispute(id string) (*stripe.Dispute, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.disputes.get(id)
	if !ok {
		return nil, false
	}
	return decode[stripe.Dispute](d), true
}

// chargeDisputes are the disputes of charge chargeID, oldest first.
func (s *Server) chargeDisputes(chargeID string) []*dispute {
	var out []*dispute
	for _, d := range s.disputes.all() {
		if d.Charge == chargeID {
			out = append(out, d)
		}
	}
	return out
}

// refundRefusingDisputes wraps the refund endpoint: a charge with a
// chargeback is refused (charge_disputed), and a refund of a charge with an
// open inquiry closes the inquiry, as Stripe does.
func (s *Server) refundRefusingDisputes(refund handler) handler {
	return func(c *call) (any, *apiError) {
		chargeID := ""
		if piID, ok := formString(c.form, "payment_intent"); ok {
			if pi, ok := s.paymentIntents.get(piID); ok && pi.LatestCharge != nil {
				chargeID = *pi.LatestCharge
			}
		} else if id, ok := formString(c.form, "charge"); ok {
			chargeID = id
		}
		disputes := s.chargeDisputes(chargeID)
		for _, d := range disputes {
			if !d.inquiry() {
				e := refused("charge", "Charge "+chargeID+" has been charged back; cannot issue a refund.")
				return nil, e.coded("charge_disputed")
			}
		}
		obj, e := refund(c)
		if e != nil {
			return obj, e
		}
		for _, d := range disputes {
			if d.Status != disputeInquiryClosed {
				d.Status, d.IsChargeRefundable = disputeInquiryClosed, false
				s.recordMoneyEvent("charge.dispute.closed", d.ID, d)
			}
		}
		return obj, nil
	}
}

// moneyRoutes adds the event list and makes the refund endpoint refuse
// disputed charges. It runs once, from New.
func (s *Server) moneyRoutes() {
	for i, r := range s.routes {
		if r.method == http.MethodPost && r.pattern == "/v1/refunds" {
			s.routes[i].handle = s.refundRefusingDisputes(r.handle)
		}
	}
	s.routes = append(s.routes, route{method: http.MethodGet, pattern: "/v1/events", handle: s.listEvents,
		params: append([]string{"type", "types[*]", "created", "created[gt]", "created[gte]", "created[lt]", "created[lte]"}, listParams...)})
}
