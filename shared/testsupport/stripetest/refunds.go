package stripetest

import (
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// charge is a Stripe charge in its wire shape. The double makes one for
// every payment attempt of a PaymentIntent: succeeded when it succeeds,
// failed when it is declined. Charges have no endpoints of their own here;
// they are what refunds refund and what charge.refunded reports.
type charge struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	Amount         int64             `json:"amount"`
	AmountRefunded int64             `json:"amount_refunded"`
	Created        int64             `json:"created"`
	Currency       string            `json:"currency"`
	Customer       *string           `json:"customer"`
	Livemode       bool              `json:"livemode"`
	Metadata       map[string]string `json:"metadata"`
	Paid           bool              `json:"paid"`
	PaymentIntent  string            `json:"payment_intent"`
	PaymentMethod  *string           `json:"payment_method"`
	Refunded       bool              `json:"refunded"`
	Status         string            `json:"status"`
}

// refund is a Stripe refund in its wire shape. Card refunds succeed at
// once in test mode, so every refund the double makes has succeeded.
type refund struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	Amount        int64             `json:"amount"`
	Charge        string            `json:"charge"`
	Created       int64             `json:"created"`
	Currency      string            `json:"currency"`
	Metadata      map[string]string `json:"metadata"`
	PaymentIntent string            `json:"payment_intent"`
	Reason        *string           `json:"reason"`
	Status        string            `json:"status"`
}

func (s *Server) refundRoutes() []route {
	return []route{
		{http.MethodPost, "/v1/refunds", []string{"payment_intent", "amount", "reason", "metadata[*]"}, s.createRefund},
		{http.MethodGet, "/v1/refunds", append([]string{"payment_intent"}, listParams...), s.listRefunds},
	}
}

// Refunds returns every refund created, oldest first.
func (s *Server) Refunds() []*stripe.Refund {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*stripe.Refund
	for _, r := range s.refunds.all() {
		out = append(out, decode[stripe.Refund](r))
	}
	return out
}

// newCharge stores the charge of one payment attempt of pi with its
// current payment method.
func (s *Server) newCharge(pi *paymentIntent, status string) *charge {
	ch := &charge{
		ID:            newID("ch_", 24),
		Object:        "charge",
		Amount:        pi.Amount,
		Created:       s.now.Unix(),
		Currency:      pi.Currency,
		Customer:      pi.Customer,
		Metadata:      maps.Clone(pi.Metadata),
		Paid:          status == statusSucceeded,
		PaymentIntent: pi.ID,
		PaymentMethod: pi.PaymentMethod,
		Status:        status,
	}
	s.charges.add(ch.ID, ch)
	return ch
}

func (s *Server) createRefund(c *call) (any, *apiError) {
	piID, ok := formString(c.form, "payment_intent")
	if !ok {
		return nil, invalidRequest("", "One of the following params should be provided for this request: payment_intent or charge.")
	}
	amount, amountSet, e := formInt(c.form, "amount")
	if e != nil {
		return nil, e
	}
	if amountSet && amount < 1 {
		return nil, invalidRequest("amount", "This value must be greater than or equal to 1.")
	}
	reason, e := oneOf(c.form, "reason", "duplicate", "fraudulent", "requested_by_customer")
	if e != nil {
		return nil, e
	}
	pi, ok := s.paymentIntents.get(piID)
	if !ok {
		return nil, s.paymentIntents.noSuch(http.StatusBadRequest, piID, "payment_intent")
	}
	if pi.Status != statusSucceeded {
		return nil, unexpectedState("This PaymentIntent ("+pi.ID+") does not have a successful charge to refund.", nil)
	}
	ch, _ := s.charges.get(*pi.LatestCharge)
	remaining := ch.Amount - ch.AmountRefunded
	if remaining == 0 {
		return nil, refused("", "Charge "+ch.ID+" has already been refunded.").coded("charge_already_refunded")
	}
	if !amountSet {
		amount = remaining
	}
	if amount > remaining {
		return nil, refused("amount", "Refund amount ("+formatAmount(amount, ch.Currency)+
			") is greater than unrefunded amount on charge ("+formatAmount(remaining, ch.Currency)+")")
	}

	r := &refund{
		ID:            newID("re_", 24),
		Object:        "refund",
		Amount:        amount,
		Charge:        ch.ID,
		Created:       s.now.Unix(),
		Currency:      ch.Currency,
		Metadata:      metadata(c.form),
		PaymentIntent: pi.ID,
		Status:        statusSucceeded,
	}
	if reason != "" {
		r.Reason = &reason
	}
	s.refunds.add(r.ID, r)
	ch.AmountRefunded += amount
	ch.Refunded = ch.AmountRefunded == ch.Amount
	s.recordEvent("charge.refunded", ch.ID, ch)
	return r, nil
}

// listRefunds lists refunds, newest first, of one PaymentIntent when
// payment_intent is given.
func (s *Server) listRefunds(c *call) (any, *apiError) {
	piID := c.form.Get("payment_intent")
	return list(c, s.refunds, func(r *refund) bool { return piID == "" || r.PaymentIntent == piID })
}

// formatAmount spells an amount in the smallest currency unit the way
// Stripe's messages do: $12.50, or 12.50 EUR in a currency without a
// symbol here.
func formatAmount(amount int64, currency string) string {
	if currency == "usd" {
		return fmt.Sprintf("$%d.%02d", amount/100, amount%100)
	}
	return fmt.Sprintf("%d.%02d %s", amount/100, amount%100, strings.ToUpper(currency))
}
