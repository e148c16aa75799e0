package stripetest

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// paymentIntent is a card PaymentIntent in its wire shape, with customer
// and the other references as ids like Stripe sends them unexpanded.
type paymentIntent struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Amount             int64             `json:"amount"`
	AmountReceived     int64             `json:"amount_received"`
	CanceledAt         *int64            `json:"canceled_at"`
	CancellationReason *string           `json:"cancellation_reason"`
	ClientSecret       string            `json:"client_secret"`
	Created            int64             `json:"created"`
	Currency           string            `json:"currency"`
	Customer           *string           `json:"customer"`
	Description        *string           `json:"description"`
	Invoice            *string           `json:"invoice"`
	LastPaymentError   *apiError         `json:"last_payment_error"`
	LatestCharge       *string           `json:"latest_charge"`
	Livemode           bool              `json:"livemode"`
	Metadata           map[string]string `json:"metadata"`
	PaymentMethod      *string           `json:"payment_method"`
	PaymentMethodTypes []string          `json:"payment_method_types"`
	Status             string            `json:"status"`
}

// PaymentIntent statuses the double moves between.
const (
	statusRequiresPaymentMethod = "requires_payment_method"
	statusRequiresConfirmation  = "requires_confirmation"
	statusRequiresAction        = "requires_action"
	statusSucceeded             = "succeeded"
	statusCanceled              = "canceled"
)

// testCards are the Stripe test payment methods that do not simply
// succeed when confirmed: a decline code, or "" for a card that asks for
// authentication (3-D Secure). Every other pm_ id behaves like pm_card_visa.
var testCards = map[string]string{
	"pm_card_chargeDeclined":         "generic_decline",
	"pm_card_authenticationRequired": "",
}

// declineMessages are Stripe's messages for the decline codes the double
// gives; every decline is a card_declined card_error.
var declineMessages = map[string]string{
	"generic_decline":    "Your card was declined.",
	"insufficient_funds": "Your card has insufficient funds.",
}

func (s *Server) paymentIntentRoutes() []route {
	return []route{
		{http.MethodPost, "/v1/payment_intents", []string{"amount", "currency", "customer", "description", "payment_method",
			"confirm", "payment_method_types[0]", "metadata[*]"}, s.createPaymentIntent},
		{http.MethodGet, "/v1/payment_intents", append([]string{"created[gte]", "customer"}, listParams...), s.listPaymentIntents},
		{http.MethodGet, "/v1/payment_intents/{intent}", nil, s.getPaymentIntent},
		{http.MethodPost, "/v1/payment_intents/{intent}/confirm", []string{"payment_method"}, s.confirmPaymentIntent},
		{http.MethodPost, "/v1/payment_intents/{intent}/cancel", []string{"cancellation_reason"}, s.cancelPaymentIntent},
	}
}

// PaymentIntent returns the PaymentIntent with id.
func (s *Server) PaymentIntent(id string) (*stripe.PaymentIntent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, ok := s.paymentIntents.get(id)
	if !ok {
		return nil, false
	}
	return decode[stripe.PaymentIntent](pi), true
}

// PaymentIntents returns every PaymentIntent created, oldest first.
func (s *Server) PaymentIntents() []*stripe.PaymentIntent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*stripe.PaymentIntent
	for _, pi := range s.paymentIntents.all() {
		out = append(out, decode[stripe.PaymentIntent](pi))
	}
	return out
}

// SucceedPaymentIntent completes a PaymentIntent the way a customer does
// outside the API (finishing 3-D Secure, paying with Elements): it
// succeeds and payment_intent.succeeded is recorded. A PaymentIntent without
// a payment method gets a new one, as the customer would have supplied it.
func (s *Server) SucceedPaymentIntent(id string) (*stripe.PaymentIntent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, err := s.openPaymentIntent(id)
	if err != nil {
		return nil, err
	}
	if pi.PaymentMethod == nil {
		pm := newID("pm_", 24)
		pi.PaymentMethod = &pm
	}
	s.succeed(pi)
	return decode[stripe.PaymentIntent](pi), nil
}

// FailPaymentIntent fails a PaymentIntent's pending attempt outside the API
// (the customer failing 3-D Secure, the bank declining): it returns to
// requires_payment_method with a card_error last_payment_error carrying
// declineCode (generic_decline when empty), and
// payment_intent.payment_failed is recorded.
func (s *Server) FailPaymentIntent(id string, declineCode string) (*stripe.PaymentIntent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, err := s.openPaymentIntent(id)
	if err != nil {
		return nil, err
	}
	if declineCode == "" {
		declineCode = "generic_decline"
	}
	s.decline(pi, declineCode)
	return decode[stripe.PaymentIntent](pi), nil
}

// openPaymentIntent finds a PaymentIntent that a test-side transition can
// still move.
func (s *Server) openPaymentIntent(id string) (*paymentIntent, error) {
	pi, ok := s.paymentIntents.get(id)
	if !ok {
		return nil, fmt.Errorf("stripetest: no PaymentIntent %q", id)
	}
	if pi.Status == statusSucceeded || pi.Status == statusCanceled {
		return nil, fmt.Errorf("stripetest: PaymentIntent %s is already %s", id, pi.Status)
	}
	return pi, nil
}

func (s *Server) createPaymentIntent(c *call) (any, *apiError) {
	amount, currency, e := readMoney(c.form)
	switch {
	case e != nil:
		return nil, e
	case amount < 1:
		return nil, invalidRequest("amount", "This value must be greater than or equal to 1.")
	case currency == "usd" && amount < 50:
		return nil, invalidRequest("amount", "Amount must be at least $0.50 usd").coded("amount_too_small")
	}
	if t, ok := formString(c.form, "payment_method_types[0]"); ok && t != "card" {
		return nil, unsupported("payment_method_types", "payment methods other than cards")
	}
	confirm, e := formBool(c.form, "confirm")
	if e != nil {
		return nil, e
	}
	pmID := formNullable(c.form, "payment_method")
	if pmID != nil && !strings.HasPrefix(*pmID, "pm_") {
		return nil, refused("payment_method", "No such PaymentMethod: '"+*pmID+"'").coded("resource_missing")
	}
	if confirm && pmID == nil {
		return nil, refused("", "You cannot confirm this PaymentIntent because it's missing a payment method.").coded("payment_intent_unexpected_state")
	}
	customerID := formNullable(c.form, "customer")
	if customerID != nil {
		if _, e := s.findCustomer(*customerID, "customer"); e != nil {
			return nil, e
		}
	}

	pi := &paymentIntent{
		ID:                 newID("pi_", 24),
		Object:             "payment_intent",
		Amount:             amount,
		Created:            s.now.Unix(),
		Currency:           currency,
		Customer:           customerID,
		Description:        formNullable(c.form, "description"),
		Metadata:           metadata(c.form),
		PaymentMethod:      pmID,
		PaymentMethodTypes: []string{"card"},
		Status:             statusRequiresPaymentMethod,
	}
	pi.ClientSecret = pi.ID + "_secret_" + newID("", 25)
	if pmID != nil {
		pi.Status = statusRequiresConfirmation
	}
	s.paymentIntents.add(pi.ID, pi)
	if confirm {
		if e := s.confirm(pi); e != nil {
			return nil, e
		}
	}
	return pi, nil
}

func (s *Server) getPaymentIntent(c *call) (any, *apiError) {
	return s.paymentIntents.lookup(c, "intent")
}

// confirmPaymentIntent is the card holder confirming (Stripe.js, or the
// local stack's /dev/pay): one attempt with the given payment method, or
// the one the intent has. Only an intent that still needs a payment can be
// confirmed.
func (s *Server) confirmPaymentIntent(c *call) (any, *apiError) {
	pi, e := s.paymentIntents.lookup(c, "intent")
	if e != nil {
		return nil, e
	}
	if pm := formNullable(c.form, "payment_method"); pm != nil {
		if !strings.HasPrefix(*pm, "pm_") {
			return nil, refused("payment_method", "No such PaymentMethod: '"+*pm+"'").coded("resource_missing")
		}
		pi.PaymentMethod = pm
	}
	switch {
	case pi.Status != statusRequiresPaymentMethod && pi.Status != statusRequiresConfirmation && pi.Status != statusRequiresAction:
		return nil, unexpectedState("You cannot confirm this PaymentIntent because it has a status of "+pi.Status+".", pi)
	case pi.PaymentMethod == nil:
		return nil, refused("", "You cannot confirm this PaymentIntent because it's missing a payment method.").coded("payment_intent_unexpected_state")
	}
	if e := s.confirm(pi); e != nil {
		return nil, e
	}
	return pi, nil
}

// confirm makes one payment attempt with pi's payment method. A decline
// returns the 402 card_error that the request answers with; pi has changed
// either way.
func (s *Server) confirm(pi *paymentIntent) *apiError {
	declineCode, special := testCards[*pi.PaymentMethod]
	switch {
	case special && declineCode != "":
		return s.decline(pi, declineCode)
	case special:
		pi.Status = statusRequiresAction
		return nil
	}
	s.succeed(pi)
	return nil
}

// succeed completes pi's payment attempt: its charge succeeds, and the
// invoice pi pays, if any, is paid.
func (s *Server) succeed(pi *paymentIntent) {
	ch := s.newCharge(pi, statusSucceeded)
	pi.Status = statusSucceeded
	pi.AmountReceived = pi.Amount
	pi.LatestCharge = &ch.ID
	pi.LastPaymentError = nil
	s.recordEvent("payment_intent.succeeded", pi.ID, pi)
	if pi.Invoice != nil {
		if inv, ok := s.invoices.get(*pi.Invoice); ok {
			s.markInvoicePaid(inv)
		}
	}
}

// decline fails pi's attempt as Stripe does: the failed charge becomes
// latest_charge, the payment method moves from the PaymentIntent into
// last_payment_error, and the status returns to requires_payment_method.
// It returns the card_error for the response, carrying the PaymentIntent.
func (s *Server) decline(pi *paymentIntent, declineCode string) *apiError {
	msg, ok := declineMessages[declineCode]
	if !ok {
		msg = declineMessages["generic_decline"]
	}
	ch := s.newCharge(pi, "failed")
	e := (&apiError{status: http.StatusPaymentRequired, Type: typeCard, DeclineCode: declineCode, Message: msg, Charge: ch.ID}).coded("card_declined")
	lastError := *e
	pi.Status = statusRequiresPaymentMethod
	pi.LastPaymentError = &lastError
	pi.LatestCharge = &ch.ID
	pi.PaymentMethod = nil
	s.recordEvent("payment_intent.payment_failed", pi.ID, pi)
	e.PaymentIntent = pi
	return e
}

func (s *Server) cancelPaymentIntent(c *call) (any, *apiError) {
	reason, e := oneOf(c.form, "cancellation_reason", "abandoned", "duplicate", "fraudulent", "requested_by_customer")
	if e != nil {
		return nil, e
	}
	pi, e := s.paymentIntents.lookup(c, "intent")
	if e != nil {
		return nil, e
	}
	if pi.Status == statusSucceeded || pi.Status == statusCanceled {
		return nil, unexpectedState("You cannot cancel this PaymentIntent because it has a status of "+pi.Status+". "+
			"Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.", pi)
	}
	now := s.now.Unix()
	pi.Status = statusCanceled
	pi.CanceledAt = &now
	if reason != "" {
		pi.CancellationReason = &reason
	}
	s.recordEvent("payment_intent.canceled", pi.ID, pi)
	return pi, nil
}

func (s *Server) listPaymentIntents(c *call) (any, *apiError) {
	since, _, e := formInt(c.form, "created[gte]")
	if e != nil {
		return nil, e
	}
	customer := c.form.Get("customer")
	return list(c, s.paymentIntents, func(pi *paymentIntent) bool {
		return pi.Created >= since && (customer == "" || pi.Customer != nil && *pi.Customer == customer)
	})
}
