package stripetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// paymentIntent is a Stripe PaymentIntent in its wire shape, with customer
// and the other references as ids like Stripe sends them unexpanded.
type paymentIntent struct {
	ID                      string                   `json:"id"`
	Object                  string                   `json:"object"`
	Amount                  int64                    `json:"amount"`
	AmountCapturable        int64                    `json:"amount_capturable"`
	AmountReceived          int64                    `json:"amount_received"`
	AutomaticPaymentMethods *automaticPaymentMethods `json:"automatic_payment_methods"`
	CanceledAt              *int64                   `json:"canceled_at"`
	CancellationReason      *string                  `json:"cancellation_reason"`
	CaptureMethod           string                   `json:"capture_method"`
	ClientSecret            string                   `json:"client_secret"`
	ConfirmationMethod      string                   `json:"confirmation_method"`
	Created                 int64                    `json:"created"`
	Currency                string                   `json:"currency"`
	Customer                *string                  `json:"customer"`
	Description             *string                  `json:"description"`
	Invoice                 *string                  `json:"invoice"`
	LastPaymentError        *apiError                `json:"last_payment_error"`
	LatestCharge            *string                  `json:"latest_charge"`
	Livemode                bool                     `json:"livemode"`
	Metadata                map[string]string        `json:"metadata"`
	NextAction              *nextAction              `json:"next_action"`
	PaymentMethod           *string                  `json:"payment_method"`
	PaymentMethodTypes      []string                 `json:"payment_method_types"`
	ReceiptEmail            *string                  `json:"receipt_email"`
	SetupFutureUsage        *string                  `json:"setup_future_usage"`
	Status                  string                   `json:"status"`
}

type automaticPaymentMethods struct {
	AllowRedirects string `json:"allow_redirects"`
	Enabled        bool   `json:"enabled"`
}

type nextAction struct {
	Type         string    `json:"type"`
	UseStripeSDK *struct{} `json:"use_stripe_sdk"`
}

// PaymentIntent statuses the double moves between.
const (
	statusRequiresPaymentMethod = "requires_payment_method"
	statusRequiresConfirmation  = "requires_confirmation"
	statusRequiresAction        = "requires_action"
	statusSucceeded             = "succeeded"
	statusCanceled              = "canceled"
)

// cardOutcome is what confirming with one of Stripe's test payment methods
// does: decline with declineCode, or ask for authentication.
type cardOutcome struct {
	declineCode  string
	authenticate bool
}

// testPaymentMethods are the Stripe test payment methods that do not simply
// succeed; every other pm_ id behaves like pm_card_visa.
var testPaymentMethods = map[string]cardOutcome{
	"pm_card_authenticationRequired":               {authenticate: true},
	"pm_card_threeDSecure2Required":                {authenticate: true},
	"pm_card_chargeDeclined":                       {declineCode: "generic_decline"},
	"pm_card_visa_chargeDeclined":                  {declineCode: "generic_decline"},
	"pm_card_chargeDeclinedInsufficientFunds":      {declineCode: "insufficient_funds"},
	"pm_card_visa_chargeDeclinedInsufficientFunds": {declineCode: "insufficient_funds"},
	"pm_card_chargeDeclinedLostCard":               {declineCode: "lost_card"},
	"pm_card_visa_chargeDeclinedLostCard":          {declineCode: "lost_card"},
	"pm_card_chargeDeclinedStolenCard":             {declineCode: "stolen_card"},
	"pm_card_visa_chargeDeclinedStolenCard":        {declineCode: "stolen_card"},
	"pm_card_chargeDeclinedExpiredCard":            {declineCode: "expired_card"},
	"pm_card_chargeDeclinedIncorrectCvc":           {declineCode: "incorrect_cvc"},
	"pm_card_chargeDeclinedProcessingError":        {declineCode: "processing_error"},
}

// decline is the card_error Stripe gives for a decline code.
type decline struct{ code, message string }

var declines = map[string]decline{
	"generic_decline":         {"card_declined", "Your card was declined."},
	"insufficient_funds":      {"card_declined", "Your card has insufficient funds."},
	"lost_card":               {"card_declined", "Your card was declined."},
	"stolen_card":             {"card_declined", "Your card was declined."},
	"expired_card":            {"expired_card", "Your card has expired."},
	"incorrect_cvc":           {"incorrect_cvc", "Your card's security code is incorrect."},
	"processing_error":        {"processing_error", "An error occurred while processing your card. Try again in a little bit."},
	"authentication_required": {"authentication_required", "Your card was declined. This transaction requires authentication."},
}

// minimumAmounts are Stripe's minimum charge amounts, in the smallest
// currency unit, for the currencies the project is likely to use, with the
// amount as Stripe's error message spells it.
var minimumAmounts = map[string]struct {
	amount  int64
	display string
}{
	"usd": {50, "$0.50 usd"},
	"eur": {50, "€0.50 eur"},
	"gbp": {30, "£0.30 gbp"},
	"cad": {50, "$0.50 cad"},
	"aud": {50, "$0.50 aud"},
	"jpy": {50, "¥50 jpy"},
}

var cancellationReasons = []string{"abandoned", "duplicate", "fraudulent", "requested_by_customer"}

func (s *Server) paymentIntentRoutes() []route {
	return []route{
		{http.MethodPost, "/v1/payment_intents", s.createPaymentIntent},
		{http.MethodGet, "/v1/payment_intents", s.listPaymentIntents},
		{http.MethodGet, "/v1/payment_intents/{id}", s.getPaymentIntent},
		{http.MethodPost, "/v1/payment_intents/{id}/confirm", s.confirmPaymentIntent},
		{http.MethodPost, "/v1/payment_intents/{id}/cancel", s.cancelPaymentIntent},
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
	s.succeed(nil, pi)
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
	s.decline(nil, pi, declineCode)
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

// confirmParams are the parameters of a confirmation, sent either to
// /confirm or to the create call with confirm=true.
type confirmParams struct {
	paymentMethod    *string
	offSession       bool
	returnURL        *string
	setupFutureUsage *string
	setSFU           bool
}

var setupFutureUsages = []string{"off_session", "on_session"}

// readConfirmParams validates the confirmation parameters before anything
// changes.
func readConfirmParams(c *call) (confirmParams, *apiError) {
	var p confirmParams
	var e *apiError
	if p.offSession, e = formBool(c.form, "off_session"); e != nil {
		return p, e
	}
	p.returnURL, _ = formNullable(c.form, "return_url")
	p.setupFutureUsage, p.setSFU = formNullable(c.form, "setup_future_usage")
	if p.setupFutureUsage != nil && !slices.Contains(setupFutureUsages, *p.setupFutureUsage) {
		return p, invalidRequest("setup_future_usage", "Invalid setup_future_usage: must be one of off_session or on_session")
	}
	p.paymentMethod, _ = formNullable(c.form, "payment_method")
	if p.paymentMethod != nil && !strings.HasPrefix(*p.paymentMethod, "pm_") {
		e := &apiError{status: http.StatusBadRequest, Type: typeInvalidRequest, Param: "payment_method",
			Message: "No such PaymentMethod: '" + *p.paymentMethod + "'"}
		return p, e.coded("resource_missing")
	}
	return p, nil
}

func (s *Server) createPaymentIntent(c *call) (any, *apiError) {
	amount, currency, e := readMoney(c.form)
	if e != nil {
		return nil, e
	}
	if min, ok := minimumAmounts[currency]; ok && amount < min.amount {
		return nil, invalidRequest("amount", "Amount must be at least "+min.display).coded("amount_too_small")
	}
	if cm, ok := formString(c.form, "capture_method"); ok && cm != "automatic" {
		return nil, unsupported("capture_method", "capture_method="+cm)
	}
	confirm, e := formBool(c.form, "confirm")
	if e != nil {
		return nil, e
	}
	p, e := readConfirmParams(c)
	if e != nil {
		return nil, e
	}
	if p.offSession && !confirm {
		return nil, invalidRequest("off_session", "You can only pass in `off_session` when `confirm` is set to true.")
	}
	types := formList(c.form, "payment_method_types")
	apm, e := readAutomaticPaymentMethods(c, len(types) > 0)
	if e != nil {
		return nil, e
	}
	if len(types) == 0 {
		// Stripe's default without automatic payment methods, and what the
		// Dashboard of a fresh test account enables with them.
		types = []string{"card"}
	}

	var customerID *string
	if id, ok := formNullable(c.form, "customer"); ok && id != nil {
		if _, e := s.liveCustomer(*id, http.StatusBadRequest, "customer"); e != nil {
			return nil, e
		}
		customerID = id
	}

	pi := &paymentIntent{
		ID:                      newID("pi_", 24),
		Object:                  "payment_intent",
		Amount:                  amount,
		AutomaticPaymentMethods: apm,
		CaptureMethod:           "automatic",
		ConfirmationMethod:      "automatic",
		Created:                 s.now.Unix(),
		Currency:                currency,
		Customer:                customerID,
		Metadata:                mergeMetadata(map[string]string{}, c),
		PaymentMethod:           p.paymentMethod,
		PaymentMethodTypes:      types,
		Status:                  statusRequiresPaymentMethod,
	}
	pi.ClientSecret = pi.ID + "_secret_" + newID("", 25)
	pi.Description, _ = formNullable(c.form, "description")
	pi.ReceiptEmail, _ = formNullable(c.form, "receipt_email")
	pi.SetupFutureUsage = p.setupFutureUsage
	if pi.PaymentMethod != nil {
		pi.Status = statusRequiresConfirmation
	}
	if confirm {
		// A create that cannot be confirmed creates nothing.
		if e := checkConfirmable(pi, p, false); e != nil {
			return nil, e
		}
	}

	s.paymentIntents.add(pi.ID, pi)
	s.recordEvent("payment_intent.created", pi.ID, pi, nil, c)
	if confirm {
		if e := s.confirm(c, pi, p.offSession); e != nil {
			return nil, e
		}
	}
	return s.renderPaymentIntent(pi, formList(c.form, "expand"))
}

// readAutomaticPaymentMethods reads automatic_payment_methods. Since API
// version 2023-08-16 Stripe enables it by default when no
// payment_method_types are given, which is what makes return_url necessary
// on confirmation.
func readAutomaticPaymentMethods(c *call, hasTypes bool) (*automaticPaymentMethods, *apiError) {
	enabled, e := formBool(c.form, "automatic_payment_methods[enabled]")
	if e != nil {
		return nil, e
	}
	_, set := formString(c.form, "automatic_payment_methods[enabled]")
	switch {
	case hasTypes && enabled:
		return nil, invalidRequest("automatic_payment_methods", "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.")
	case hasTypes || (set && !enabled):
		return nil, nil
	}
	redirects, ok := formString(c.form, "automatic_payment_methods[allow_redirects]")
	if !ok {
		redirects = "always"
	}
	if redirects != "always" && redirects != "never" {
		return nil, invalidRequest("automatic_payment_methods[allow_redirects]", "Invalid automatic_payment_methods[allow_redirects]: must be one of always or never")
	}
	return &automaticPaymentMethods{AllowRedirects: redirects, Enabled: true}, nil
}

func (s *Server) getPaymentIntent(c *call) (any, *apiError) {
	pi, ok := s.paymentIntents.get(c.pathParams["id"])
	if !ok {
		return nil, s.paymentIntents.noSuch(http.StatusNotFound, c.pathParams["id"], "intent")
	}
	return s.renderPaymentIntent(pi, formList(c.form, "expand"))
}

func (s *Server) confirmPaymentIntent(c *call) (any, *apiError) {
	pi, ok := s.paymentIntents.get(c.pathParams["id"])
	if !ok {
		return nil, s.paymentIntents.noSuch(http.StatusNotFound, c.pathParams["id"], "intent")
	}
	p, e := readConfirmParams(c)
	if e != nil {
		return nil, e
	}
	if e := checkConfirmable(pi, p, true); e != nil {
		return nil, e
	}
	if p.paymentMethod != nil {
		pi.PaymentMethod = p.paymentMethod
	}
	if p.setSFU {
		pi.SetupFutureUsage = p.setupFutureUsage
	}
	if e := s.confirm(c, pi, p.offSession); e != nil {
		return nil, e
	}
	return s.renderPaymentIntent(pi, formList(c.form, "expand"))
}

// checkConfirmable returns the error Stripe gives when pi cannot be
// confirmed with p. exists says whether pi is already stored, in which case
// the error carries it like Stripe's does.
func checkConfirmable(pi *paymentIntent, p confirmParams, exists bool) *apiError {
	var msg string
	switch {
	case pi.Status == statusSucceeded:
		msg = "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed."
	case pi.Status == statusCanceled:
		msg = "You cannot confirm this PaymentIntent because it has a status of canceled. Only a PaymentIntent with one of the following statuses may be confirmed: requires_confirmation, requires_payment_method, requires_action."
	case p.paymentMethod == nil && pi.PaymentMethod == nil:
		msg = "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method."
		if pi.Customer != nil {
			msg = "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with " +
				*pi.Customer + ", specify a payment method attached to this customer along with the customer ID."
		}
	case pi.AutomaticPaymentMethods != nil && pi.AutomaticPaymentMethods.AllowRedirects != "never" && p.returnURL == nil:
		// Stripe asks for it even for cards and off-session payments:
		// with redirects allowed, any method might redirect.
		return invalidRequest("", "This PaymentIntent is configured to accept payment methods enabled in your Dashboard. "+
			"Because some of these payment methods might redirect your customer off of your page, you must provide a `return_url`. "+
			"If you don't want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and "+
			"`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.")
	default:
		return nil
	}
	e := &apiError{status: http.StatusBadRequest, Type: typeInvalidRequest, Message: msg}
	if exists {
		e.PaymentIntent = json.RawMessage(mustJSON(pi))
	}
	return e.coded("payment_intent_unexpected_state")
}

// confirm makes one payment attempt with pi's payment method, which the
// caller has checked is set. A decline returns the 402 card_error that the
// request answers with; pi has changed either way.
func (s *Server) confirm(c *call, pi *paymentIntent, offSession bool) *apiError {
	outcome := testPaymentMethods[*pi.PaymentMethod]
	switch {
	case outcome.declineCode != "":
		return s.decline(c, pi, outcome.declineCode)
	case outcome.authenticate && offSession:
		// Nobody is there to authenticate, so the bank's demand for it is a
		// decline.
		return s.decline(c, pi, "authentication_required")
	case outcome.authenticate:
		pi.Status = statusRequiresAction
		pi.NextAction = &nextAction{Type: "use_stripe_sdk", UseStripeSDK: &struct{}{}}
		pi.LastPaymentError = nil
		s.recordEvent("payment_intent.requires_action", pi.ID, pi, nil, c)
		s.invoicePaymentAttempted(c, pi)
		return nil
	default:
		s.succeed(c, pi)
		return nil
	}
}

// succeed completes pi's payment attempt: its charge succeeds, a payment
// method meant for future use is saved to the customer, and the invoice pi
// pays, if any, is paid.
func (s *Server) succeed(c *call, pi *paymentIntent) {
	charge := s.chargeSucceeded(c, pi)
	pi.Status = statusSucceeded
	pi.AmountReceived = pi.Amount
	pi.LatestCharge = &charge.ID
	pi.LastPaymentError = nil
	pi.NextAction = nil
	s.saveForFutureUsage(c, pi)
	s.recordEvent("payment_intent.succeeded", pi.ID, pi, nil, c)
	s.invoicePaymentAttempted(c, pi)
}

// saveForFutureUsage attaches the payment method of a succeeded pi with
// setup_future_usage to pi's customer, as Stripe does. Stripe's test
// payment methods keep their id in the double, so one already attached to
// another customer stays there rather than failing the payment.
func (s *Server) saveForFutureUsage(c *call, pi *paymentIntent) {
	if pi.SetupFutureUsage == nil || pi.Customer == nil || pi.PaymentMethod == nil {
		return
	}
	if cu, ok := s.customers.get(*pi.Customer); !ok || cu.Deleted {
		return
	}
	if pm := s.paymentMethodFor(*pi.PaymentMethod); pm.Customer == nil {
		s.attach(c, pm, *pi.Customer)
	}
}

// decline fails pi's attempt as Stripe does: the failed charge becomes
// latest_charge, the payment method moves from the PaymentIntent into
// last_payment_error, and the status returns to requires_payment_method.
// It returns the card_error for the response, carrying the PaymentIntent.
func (s *Server) decline(c *call, pi *paymentIntent, declineCode string) *apiError {
	d, ok := declines[declineCode]
	if !ok {
		d = declines["generic_decline"]
	}
	charge := newID("ch_", 24)
	e := (&apiError{
		status:      http.StatusPaymentRequired,
		Type:        typeCard,
		DeclineCode: declineCode,
		Message:     d.message,
		Charge:      charge,
	}).coded(d.code)
	if pi.PaymentMethod != nil {
		e.PaymentMethod = map[string]string{"id": *pi.PaymentMethod, "object": "payment_method", "type": "card"}
	}
	s.chargeFailed(c, pi, charge, e)
	lastError := *e
	pi.Status = statusRequiresPaymentMethod
	pi.LastPaymentError = &lastError
	pi.LatestCharge = &charge
	pi.PaymentMethod = nil
	pi.NextAction = nil
	s.recordEvent("payment_intent.payment_failed", pi.ID, pi, nil, c)
	s.invoicePaymentAttempted(c, pi)
	e.PaymentIntent = json.RawMessage(mustJSON(pi))
	return e
}

func (s *Server) cancelPaymentIntent(c *call) (any, *apiError) {
	pi, ok := s.paymentIntents.get(c.pathParams["id"])
	if !ok {
		return nil, s.paymentIntents.noSuch(http.StatusNotFound, c.pathParams["id"], "intent")
	}
	reason, _ := formNullable(c.form, "cancellation_reason")
	if reason != nil && !slices.Contains(cancellationReasons, *reason) {
		return nil, invalidRequest("cancellation_reason", "Invalid cancellation_reason: must be one of "+strings.Join(cancellationReasons, ", "))
	}
	if pi.Invoice != nil && pi.Status != statusSucceeded && pi.Status != statusCanceled {
		e := &apiError{status: http.StatusBadRequest, Type: typeInvalidRequest, PaymentIntent: json.RawMessage(mustJSON(pi)),
			Message: "You cannot cancel this PaymentIntent because it was created by invoice " + *pi.Invoice + ". Void the invoice instead."}
		return nil, e.coded("payment_intent_unexpected_state")
	}
	if pi.Status == statusSucceeded || pi.Status == statusCanceled {
		e := &apiError{status: http.StatusBadRequest, Type: typeInvalidRequest, PaymentIntent: json.RawMessage(mustJSON(pi)),
			Message: "You cannot cancel this PaymentIntent because it has a status of " + pi.Status + ". " +
				"Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing."}
		return nil, e.coded("payment_intent_unexpected_state")
	}
	now := s.now.Unix()
	pi.Status = statusCanceled
	pi.CanceledAt = &now
	pi.CancellationReason = reason
	pi.NextAction = nil
	s.recordEvent("payment_intent.canceled", pi.ID, pi, nil, c)
	return s.renderPaymentIntent(pi, formList(c.form, "expand"))
}

func (s *Server) listPaymentIntents(c *call) (any, *apiError) {
	created, e := createdFilter(c.form)
	if e != nil {
		return nil, e
	}
	customerID, byCustomer := formString(c.form, "customer")
	return list(c, s.paymentIntents, func(pi *paymentIntent) bool {
		return created(pi.Created) && (!byCustomer || deref(pi.Customer) == customerID)
	}, s.renderPaymentIntent)
}

// renderPaymentIntent answers with a PaymentIntent, expanding the
// references the double stores objects for on request.
func (s *Server) renderPaymentIntent(pi *paymentIntent, paths []string) (any, *apiError) {
	return expand(pi, paths, expanders{
		"customer":       s.expandCustomer,
		"invoice":        s.expandInvoice,
		"latest_charge":  s.expandCharge,
		"payment_method": s.expandPaymentMethod,
	})
}

func (s *Server) expandPaymentIntent(id string) any {
	if pi, ok := s.paymentIntents.get(id); ok {
		return pi
	}
	return id
}

func (s *Server) expandPaymentMethod(id string) any {
	if !strings.HasPrefix(id, "pm_") {
		return id
	}
	return s.paymentMethodFor(id)
}
