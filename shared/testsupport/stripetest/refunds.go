package stripetest

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// charge is a Stripe charge in its wire shape. The double creates one for
// every payment attempt of a PaymentIntent: succeeded when it succeeds,
// failed when it is declined.
type charge struct {
	ID                   string               `json:"id"`
	Object               string               `json:"object"`
	Amount               int64                `json:"amount"`
	AmountCaptured       int64                `json:"amount_captured"`
	AmountRefunded       int64                `json:"amount_refunded"`
	BalanceTransaction   *string              `json:"balance_transaction"`
	BillingDetails       billingDetails       `json:"billing_details"`
	Captured             bool                 `json:"captured"`
	Created              int64                `json:"created"`
	Currency             string               `json:"currency"`
	Customer             *string              `json:"customer"`
	Description          *string              `json:"description"`
	Disputed             bool                 `json:"disputed"`
	FailureCode          *string              `json:"failure_code"`
	FailureMessage       *string              `json:"failure_message"`
	Invoice              *string              `json:"invoice"`
	Livemode             bool                 `json:"livemode"`
	Metadata             map[string]string    `json:"metadata"`
	Outcome              chargeOutcome        `json:"outcome"`
	Paid                 bool                 `json:"paid"`
	PaymentIntent        *string              `json:"payment_intent"`
	PaymentMethod        *string              `json:"payment_method"`
	PaymentMethodDetails *paymentMethodDetail `json:"payment_method_details"`
	ReceiptEmail         *string              `json:"receipt_email"`
	ReceiptURL           *string              `json:"receipt_url"`
	Refunded             bool                 `json:"refunded"`
	// Refunds embeds the newest refunds like Stripe's list envelope; it is
	// rebuilt from refunds whenever one is added.
	Refunds refundList `json:"refunds"`
	Status  string     `json:"status"`

	refunds []*refund // oldest first
}

type chargeOutcome struct {
	NetworkStatus string  `json:"network_status"`
	Reason        *string `json:"reason"`
	RiskLevel     string  `json:"risk_level"`
	RiskScore     int64   `json:"risk_score"`
	SellerMessage string  `json:"seller_message"`
	Type          string  `json:"type"`
}

type paymentMethodDetail struct {
	Card *chargeCard `json:"card"`
	Type string      `json:"type"`
}

// chargeCard is the card a charge was made with, as its
// payment_method_details show it.
type chargeCard struct {
	AmountAuthorized int64      `json:"amount_authorized"`
	Brand            string     `json:"brand"`
	Checks           cardChecks `json:"checks"`
	Country          string     `json:"country"`
	ExpMonth         int64      `json:"exp_month"`
	ExpYear          int64      `json:"exp_year"`
	Fingerprint      string     `json:"fingerprint"`
	Funding          string     `json:"funding"`
	Last4            string     `json:"last4"`
	Network          string     `json:"network"`
	ThreeDSecure     *struct{}  `json:"three_d_secure"`
	Wallet           *struct{}  `json:"wallet"`
}

// refundList is the list of a charge's refunds embedded in it.
type refundList struct {
	Object     string    `json:"object"`
	Data       []*refund `json:"data"`
	HasMore    bool      `json:"has_more"`
	TotalCount int       `json:"total_count"`
	URL        string    `json:"url"`
}

// refund is a Stripe refund in its wire shape. Card refunds succeed at
// once in test mode, so every refund the double makes has succeeded.
type refund struct {
	ID                     string            `json:"id"`
	Object                 string            `json:"object"`
	Amount                 int64             `json:"amount"`
	BalanceTransaction     *string           `json:"balance_transaction"`
	Charge                 string            `json:"charge"`
	Created                int64             `json:"created"`
	Currency               string            `json:"currency"`
	Metadata               map[string]string `json:"metadata"`
	PaymentIntent          *string           `json:"payment_intent"`
	Reason                 *string           `json:"reason"`
	ReceiptNumber          *string           `json:"receipt_number"`
	SourceTransferReversal *string           `json:"source_transfer_reversal"`
	Status                 string            `json:"status"`
	TransferReversal       *string           `json:"transfer_reversal"`
}

// embeddedListLimit is how many items Stripe embeds in an object's
// sub-list (a charge's refunds, an invoice's lines); the rest are paged
// through the list's url.
const embeddedListLimit = 10

var refundReasons = []string{"duplicate", "fraudulent", "requested_by_customer"}

func (s *Server) chargeRoutes() []route {
	return []route{
		{http.MethodGet, "/v1/charges", s.listCharges},
		{http.MethodGet, "/v1/charges/{charge}", s.getCharge},
		{http.MethodGet, "/v1/charges/{charge}/refunds", s.listChargeRefunds},
	}
}

func (s *Server) refundRoutes() []route {
	return []route{
		{http.MethodPost, "/v1/refunds", s.createRefund},
		{http.MethodGet, "/v1/refunds", s.listRefunds},
		{http.MethodGet, "/v1/refunds/{refund}", s.getRefund},
	}
}

// Charge returns the charge with id.
func (s *Server) Charge(id string) (*stripe.Charge, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.charges.get(id)
	if !ok {
		return nil, false
	}
	return decode[stripe.Charge](ch), true
}

// Charges returns every charge created, succeeded or failed, oldest first.
func (s *Server) Charges() []*stripe.Charge {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*stripe.Charge
	for _, ch := range s.charges.all() {
		out = append(out, decode[stripe.Charge](ch))
	}
	return out
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

// newCharge makes the charge of one payment attempt of pi with its current
// payment method, and stores it.
func (s *Server) newCharge(id string, pi *paymentIntent) *charge {
	ch := &charge{
		ID:            id,
		Object:        "charge",
		Amount:        pi.Amount,
		Created:       s.now.Unix(),
		Currency:      pi.Currency,
		Customer:      pi.Customer,
		Description:   pi.Description,
		Invoice:       pi.Invoice,
		Metadata:      maps.Clone(pi.Metadata),
		PaymentIntent: &pi.ID,
		PaymentMethod: pi.PaymentMethod,
		ReceiptEmail:  pi.ReceiptEmail,
		Refunds:       refundList{Object: "list", Data: []*refund{}, URL: "/v1/charges/" + id + "/refunds"},
	}
	if pi.PaymentMethod != nil {
		pm := s.paymentMethodFor(*pi.PaymentMethod)
		ch.PaymentMethodDetails = &paymentMethodDetail{Type: pm.Type, Card: &chargeCard{
			Brand:       pm.Card.Brand,
			Checks:      pm.Card.Checks,
			Country:     pm.Card.Country,
			ExpMonth:    pm.Card.ExpMonth,
			ExpYear:     pm.Card.ExpYear,
			Fingerprint: pm.Card.Fingerprint,
			Funding:     pm.Card.Funding,
			Last4:       pm.Card.Last4,
			Network:     pm.Card.Brand,
		}}
		ch.BillingDetails = pm.BillingDetails
	}
	s.charges.add(ch.ID, ch)
	return ch
}

// chargeSucceeded records the charge of pi's successful attempt.
func (s *Server) chargeSucceeded(c *call, pi *paymentIntent) *charge {
	ch := s.newCharge(newID("ch_", 24), pi)
	txn := newID("txn_", 24)
	receipt := "https://pay.stripe.com/receipts/payment/test_" + ch.ID
	ch.AmountCaptured = ch.Amount
	if ch.PaymentMethodDetails != nil {
		ch.PaymentMethodDetails.Card.AmountAuthorized = ch.Amount
	}
	ch.BalanceTransaction = &txn
	ch.Captured = true
	ch.Outcome = chargeOutcome{NetworkStatus: "approved_by_network", RiskLevel: "normal", RiskScore: 20,
		SellerMessage: "Payment complete.", Type: "authorized"}
	ch.Paid = true
	ch.ReceiptURL = &receipt
	ch.Status = statusSucceeded
	s.recordEvent("charge.succeeded", ch.ID, ch, nil, c)
	return ch
}

// chargeFailed records the declined charge id of pi's failed attempt.
func (s *Server) chargeFailed(c *call, pi *paymentIntent, id string, e *apiError) {
	ch := s.newCharge(id, pi)
	code, msg, reason := e.Code, e.Message, e.DeclineCode
	ch.FailureCode = &code
	ch.FailureMessage = &msg
	ch.Outcome = chargeOutcome{NetworkStatus: "declined_by_network", Reason: &reason, RiskLevel: "normal", RiskScore: 20,
		SellerMessage: "The bank did not return any further details with this decline.", Type: "issuer_declined"}
	ch.Status = "failed"
	s.recordEvent("charge.failed", ch.ID, ch, nil, c)
}

func (s *Server) getCharge(c *call) (any, *apiError) {
	ch, ok := s.charges.get(c.pathParams["charge"])
	if !ok {
		return nil, s.charges.noSuch(http.StatusNotFound, c.pathParams["charge"], "charge")
	}
	return s.renderCharge(ch, formList(c.form, "expand"))
}

func (s *Server) listCharges(c *call) (any, *apiError) {
	created, e := createdFilter(c.form)
	if e != nil {
		return nil, e
	}
	customerID, byCustomer := formString(c.form, "customer")
	piID, byPI := formString(c.form, "payment_intent")
	return list(c, s.charges, func(ch *charge) bool {
		return created(ch.Created) && (!byCustomer || deref(ch.Customer) == customerID) &&
			(!byPI || deref(ch.PaymentIntent) == piID)
	}, s.renderCharge)
}

func (s *Server) listChargeRefunds(c *call) (any, *apiError) {
	id := c.pathParams["charge"]
	if _, ok := s.charges.get(id); !ok {
		return nil, s.charges.noSuch(http.StatusNotFound, id, "charge")
	}
	return list(c, s.refunds, func(r *refund) bool { return r.Charge == id }, s.renderRefund)
}

// renderCharge answers with a charge. Stripe leaves refunds out unless
// expanded since API version 2022-11-15; the double always embeds them,
// so expanding refunds is accepted and changes nothing.
func (s *Server) renderCharge(ch *charge, paths []string) (any, *apiError) {
	paths = slices.DeleteFunc(slices.Clone(paths), func(p string) bool { return p == "refunds" })
	return expand(ch, paths, expanders{
		"customer":       s.expandCustomer,
		"invoice":        s.expandInvoice,
		"payment_intent": s.expandPaymentIntent,
	})
}

// refundParams are a refund request's parameters, validated before
// anything is looked up.
type refundParams struct {
	paymentIntent, charge *string
	amount                int64
	amountSet             bool
	reason                *string
}

func readRefundParams(c *call) (refundParams, *apiError) {
	var p refundParams
	p.paymentIntent, _ = formNullable(c.form, "payment_intent")
	p.charge, _ = formNullable(c.form, "charge")
	switch {
	case p.paymentIntent != nil && p.charge != nil:
		return p, invalidRequest("", "You may only specify one of these parameters: charge, payment_intent.")
	case p.paymentIntent == nil && p.charge == nil:
		return p, invalidRequest("", "One of the following params should be provided for this request: payment_intent or charge.")
	}
	var e *apiError
	if p.amount, p.amountSet, e = formInt(c.form, "amount"); e != nil {
		return p, e
	}
	if p.amountSet && p.amount < 1 {
		return p, invalidRequest("amount", "This value must be greater than or equal to 1.")
	}
	p.reason, _ = formNullable(c.form, "reason")
	if p.reason != nil && !slices.Contains(refundReasons, *p.reason) {
		return p, invalidRequest("reason", "Invalid reason: must be one of "+strings.Join(refundReasons, ", "))
	}
	if _, ok := formString(c.form, "reverse_transfer"); ok {
		return p, unsupported("reverse_transfer", "Connect transfers")
	}
	return p, nil
}

func (s *Server) createRefund(c *call) (any, *apiError) {
	p, e := readRefundParams(c)
	if e != nil {
		return nil, e
	}
	ch, e := s.refundableCharge(p)
	if e != nil {
		return nil, e
	}
	remaining := ch.Amount - ch.AmountRefunded
	if remaining == 0 {
		return nil, refused("", "Charge "+ch.ID+" has already been refunded.").coded("charge_already_refunded")
	}
	amount := remaining
	if p.amountSet {
		amount = p.amount
	}
	if amount > remaining {
		return nil, refused("amount", "Refund amount ("+formatAmount(amount, ch.Currency)+
			") is greater than unrefunded amount on charge ("+formatAmount(remaining, ch.Currency)+")")
	}

	txn := newID("txn_", 24)
	r := &refund{
		ID:                 newID("re_", 24),
		Object:             "refund",
		Amount:             amount,
		BalanceTransaction: &txn,
		Charge:             ch.ID,
		Created:            s.now.Unix(),
		Currency:           ch.Currency,
		Metadata:           mergeMetadata(map[string]string{}, c),
		PaymentIntent:      ch.PaymentIntent,
		Reason:             p.reason,
		Status:             statusSucceeded,
	}
	s.refunds.add(r.ID, r)
	s.recordEvent("refund.created", r.ID, r, nil, c)

	before := *ch
	ch.AmountRefunded += amount
	ch.Refunded = ch.AmountRefunded == ch.Amount
	ch.refunds = append(ch.refunds, r)
	ch.syncRefunds()
	s.recordEvent("charge.refunded", ch.ID, ch, previousAttributes(before, ch), c)
	return s.renderRefund(r, formList(c.form, "expand"))
}

// refundableCharge finds the succeeded charge a refund request names.
func (s *Server) refundableCharge(p refundParams) (*charge, *apiError) {
	if p.paymentIntent != nil {
		pi, ok := s.paymentIntents.get(*p.paymentIntent)
		if !ok {
			return nil, s.paymentIntents.noSuch(http.StatusBadRequest, *p.paymentIntent, "payment_intent")
		}
		if pi.Status != statusSucceeded {
			e := refused("payment_intent", "This PaymentIntent ("+pi.ID+") does not have a successful charge to refund.")
			return nil, e.coded("payment_intent_unexpected_state")
		}
		ch, _ := s.charges.get(*pi.LatestCharge)
		return ch, nil
	}
	ch, ok := s.charges.get(*p.charge)
	if !ok {
		return nil, s.charges.noSuch(http.StatusBadRequest, *p.charge, "charge")
	}
	if ch.Status != statusSucceeded {
		return nil, refused("charge", "Charge "+ch.ID+" has not succeeded, so there is nothing to refund.")
	}
	return ch, nil
}

// syncRefunds rebuilds the embedded refunds list: newest first, at most
// embeddedListLimit of them.
func (ch *charge) syncRefunds() {
	data := slices.Clone(ch.refunds)
	slices.Reverse(data)
	ch.Refunds.HasMore = len(data) > embeddedListLimit
	ch.Refunds.Data = data[:min(len(data), embeddedListLimit)]
	ch.Refunds.TotalCount = len(data)
}

func (s *Server) getRefund(c *call) (any, *apiError) {
	r, ok := s.refunds.get(c.pathParams["refund"])
	if !ok {
		return nil, s.refunds.noSuch(http.StatusNotFound, c.pathParams["refund"], "refund")
	}
	return s.renderRefund(r, formList(c.form, "expand"))
}

func (s *Server) listRefunds(c *call) (any, *apiError) {
	created, e := createdFilter(c.form)
	if e != nil {
		return nil, e
	}
	piID, byPI := formString(c.form, "payment_intent")
	chargeID, byCharge := formString(c.form, "charge")
	return list(c, s.refunds, func(r *refund) bool {
		return created(r.Created) && (!byPI || deref(r.PaymentIntent) == piID) && (!byCharge || r.Charge == chargeID)
	}, s.renderRefund)
}

func (s *Server) renderRefund(r *refund, paths []string) (any, *apiError) {
	return expand(r, paths, expanders{
		"charge":         s.expandCharge,
		"payment_intent": s.expandPaymentIntent,
	})
}

func (s *Server) expandCharge(id string) any {
	if ch, ok := s.charges.get(id); ok {
		return ch
	}
	return id
}

// zeroDecimal are the currencies without a minor unit among those the
// project is likely to use.
var zeroDecimal = map[string]bool{"jpy": true, "krw": true, "vnd": true, "clp": true}

var currencySymbols = map[string]string{"usd": "$", "cad": "$", "aud": "$", "eur": "€", "gbp": "£", "jpy": "¥"}

// formatAmount spells an amount in the smallest currency unit the way
// Stripe's messages do: $12.50.
func formatAmount(amount int64, currency string) string {
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	symbol, ok := currencySymbols[currency]
	if !ok {
		symbol = strings.ToUpper(currency) + " "
	}
	if zeroDecimal[currency] {
		return fmt.Sprintf("%s%s%d", sign, symbol, amount)
	}
	return fmt.Sprintf("%s%s%d.%02d", sign, symbol, amount/100, amount%100)
}
