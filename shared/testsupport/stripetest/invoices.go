package stripetest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/stripe/stripe-go/v76"
)

// invoice is a one-off Stripe invoice in its wire shape. Subscriptions,
// taxes and discounts are not modelled, so their fields keep Stripe's empty
// values.
type invoice struct {
	ID                           string            `json:"id"`
	Object                       string            `json:"object"`
	AccountCountry               string            `json:"account_country"`
	AccountName                  *string           `json:"account_name"`
	AmountDue                    int64             `json:"amount_due"`
	AmountPaid                   int64             `json:"amount_paid"`
	AmountRemaining              int64             `json:"amount_remaining"`
	AmountShipping               int64             `json:"amount_shipping"`
	Application                  *string           `json:"application"`
	AttemptCount                 int64             `json:"attempt_count"`
	Attempted                    bool              `json:"attempted"`
	AutoAdvance                  bool              `json:"auto_advance"`
	AutomaticTax                 automaticTax      `json:"automatic_tax"`
	BillingReason                string            `json:"billing_reason"`
	Charge                       *string           `json:"charge"`
	CollectionMethod             string            `json:"collection_method"`
	Created                      int64             `json:"created"`
	Currency                     string            `json:"currency"`
	Customer                     string            `json:"customer"`
	CustomerEmail                *string           `json:"customer_email"`
	CustomerName                 *string           `json:"customer_name"`
	CustomerTaxExempt            string            `json:"customer_tax_exempt"`
	CustomerTaxIDs               []struct{}        `json:"customer_tax_ids"`
	DaysUntilDue                 *int64            `json:"days_until_due"`
	DefaultPaymentMethod         *string           `json:"default_payment_method"`
	DefaultTaxRates              []struct{}        `json:"default_tax_rates"`
	Description                  *string           `json:"description"`
	Discount                     *struct{}         `json:"discount"`
	Discounts                    []string          `json:"discounts"`
	DueDate                      *int64            `json:"due_date"`
	EffectiveAt                  *int64            `json:"effective_at"`
	EndingBalance                *int64            `json:"ending_balance"`
	Footer                       *string           `json:"footer"`
	HostedInvoiceURL             *string           `json:"hosted_invoice_url"`
	InvoicePDF                   *string           `json:"invoice_pdf"`
	Issuer                       invoiceIssuer     `json:"issuer"`
	LastFinalizationError        *apiError         `json:"last_finalization_error"`
	Lines                        invoiceLines      `json:"lines"`
	Livemode                     bool              `json:"livemode"`
	Metadata                     map[string]string `json:"metadata"`
	NextPaymentAttempt           *int64            `json:"next_payment_attempt"`
	Number                       *string           `json:"number"`
	Paid                         bool              `json:"paid"`
	PaidOutOfBand                bool              `json:"paid_out_of_band"`
	PaymentIntent                *string           `json:"payment_intent"`
	PeriodEnd                    int64             `json:"period_end"`
	PeriodStart                  int64             `json:"period_start"`
	PostPaymentCreditNotesAmount int64             `json:"post_payment_credit_notes_amount"`
	PrePaymentCreditNotesAmount  int64             `json:"pre_payment_credit_notes_amount"`
	ReceiptNumber                *string           `json:"receipt_number"`
	StartingBalance              int64             `json:"starting_balance"`
	StatementDescriptor          *string           `json:"statement_descriptor"`
	Status                       string            `json:"status"`
	StatusTransitions            statusTransitions `json:"status_transitions"`
	Subscription                 *string           `json:"subscription"`
	Subtotal                     int64             `json:"subtotal"`
	SubtotalExcludingTax         int64             `json:"subtotal_excluding_tax"`
	Tax                          *int64            `json:"tax"`
	TestClock                    *string           `json:"test_clock"`
	Total                        int64             `json:"total"`
	TotalDiscountAmounts         []struct{}        `json:"total_discount_amounts"`
	TotalExcludingTax            int64             `json:"total_excluding_tax"`
	TotalTaxAmounts              []struct{}        `json:"total_tax_amounts"`
	WebhooksDeliveredAt          *int64            `json:"webhooks_delivered_at"`
	// Deleted is only ever true; the API no longer shows deleted invoices.
	Deleted bool `json:"deleted,omitempty"`

	items []*invoiceItem // in the order they joined the invoice
	// balanceApplied is how much of the customer's balance finalization
	// added to amount_due: negative for a credit used, positive for a debt
	// collected. Voiding gives it back.
	balanceApplied int64
}

type automaticTax struct {
	Enabled   bool      `json:"enabled"`
	Liability *struct{} `json:"liability"`
	Status    *string   `json:"status"`
}

type invoiceIssuer struct {
	Type string `json:"type"`
}

type statusTransitions struct {
	FinalizedAt           *int64 `json:"finalized_at"`
	MarkedUncollectibleAt *int64 `json:"marked_uncollectible_at"`
	PaidAt                *int64 `json:"paid_at"`
	VoidedAt              *int64 `json:"voided_at"`
}

// invoiceLines is the list of an invoice's lines embedded in it.
type invoiceLines struct {
	Object     string      `json:"object"`
	Data       []*lineItem `json:"data"`
	HasMore    bool        `json:"has_more"`
	TotalCount int         `json:"total_count"`
	URL        string      `json:"url"`
}

// lineItem is an invoice line, as Stripe derives it from an invoice item.
type lineItem struct {
	ID                     string            `json:"id"`
	Object                 string            `json:"object"`
	Amount                 int64             `json:"amount"`
	AmountExcludingTax     int64             `json:"amount_excluding_tax"`
	Currency               string            `json:"currency"`
	Description            *string           `json:"description"`
	DiscountAmounts        []struct{}        `json:"discount_amounts"`
	Discountable           bool              `json:"discountable"`
	Discounts              []string          `json:"discounts"`
	Invoice                string            `json:"invoice"`
	InvoiceItem            string            `json:"invoice_item"`
	Livemode               bool              `json:"livemode"`
	Metadata               map[string]string `json:"metadata"`
	Period                 period            `json:"period"`
	Plan                   *struct{}         `json:"plan"`
	Price                  *struct{}         `json:"price"`
	Proration              bool              `json:"proration"`
	ProrationDetails       prorationDetails  `json:"proration_details"`
	Quantity               int64             `json:"quantity"`
	Subscription           *string           `json:"subscription"`
	SubscriptionItem       *string           `json:"subscription_item"`
	TaxAmounts             []struct{}        `json:"tax_amounts"`
	TaxRates               []struct{}        `json:"tax_rates"`
	Type                   string            `json:"type"`
	UnitAmountExcludingTax string            `json:"unit_amount_excluding_tax"`
}

type prorationDetails struct {
	CreditedItems *struct{} `json:"credited_items"`
}

// Invoice statuses.
const (
	invoiceDraft         = "draft"
	invoiceOpen          = "open"
	invoicePaid          = "paid"
	invoiceUncollectible = "uncollectible"
	invoiceVoid          = "void"
)

var (
	invoiceStatuses   = []string{invoiceDraft, invoiceOpen, invoicePaid, invoiceUncollectible, invoiceVoid}
	collectionMethods = []string{"charge_automatically", "send_invoice"}
)

func (s *Server) invoiceRoutes() []route {
	return []route{
		{http.MethodPost, "/v1/invoices", s.createInvoice},
		{http.MethodGet, "/v1/invoices", s.listInvoices},
		{http.MethodGet, "/v1/invoices/search", s.searchInvoices},
		{http.MethodGet, "/v1/invoices/upcoming", s.upcomingInvoice},
		{http.MethodGet, "/v1/invoices/{invoice}", s.getInvoice},
		{http.MethodPost, "/v1/invoices/{invoice}", s.updateInvoice},
		{http.MethodDelete, "/v1/invoices/{invoice}", s.deleteInvoice},
		{http.MethodGet, "/v1/invoices/{invoice}/lines", s.listInvoiceLines},
		{http.MethodPost, "/v1/invoices/{invoice}/finalize", s.finalizeInvoice},
		{http.MethodPost, "/v1/invoices/{invoice}/send", s.sendInvoice},
		{http.MethodPost, "/v1/invoices/{invoice}/pay", s.payInvoice},
		{http.MethodPost, "/v1/invoices/{invoice}/void", s.voidInvoice},
		{http.MethodPost, "/v1/invoices/{invoice}/mark_uncollectible", s.markInvoiceUncollectible},
	}
}

// Invoices returns every invoice created, oldest first, including deleted
// drafts (with Deleted set and their last field values).
func (s *Server) Invoices() []*stripe.Invoice {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*stripe.Invoice
	for _, inv := range s.invoices.all() {
		out = append(out, decode[stripe.Invoice](inv))
	}
	return out
}

// Invoice returns the invoice with id, deleted or not.
func (s *Server) Invoice(id string) (*stripe.Invoice, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invoices.get(id)
	if !ok {
		return nil, false
	}
	return decode[stripe.Invoice](inv), true
}

// PayInvoice pays an open (or uncollectible) invoice the way the customer
// does on its hosted page: the invoice's PaymentIntent succeeds with a new
// card, and its charge.succeeded, payment_intent.succeeded, invoice.paid
// and invoice.payment_succeeded are recorded.
func (s *Server) PayInvoice(id string) (*stripe.Invoice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invoices.get(id)
	if !ok || inv.Deleted {
		return nil, fmt.Errorf("stripetest: no invoice %q", id)
	}
	if inv.Status != invoiceOpen && inv.Status != invoiceUncollectible {
		return nil, fmt.Errorf("stripetest: invoice %s is %s, not open", id, inv.Status)
	}
	pi, err := s.openPaymentIntent(deref(inv.PaymentIntent))
	if err != nil {
		return nil, err
	}
	pm := newID("pm_", 24)
	pi.PaymentMethod = &pm
	s.succeed(nil, pi)
	return decode[stripe.Invoice](inv), nil
}

// checkDueTerms checks that an invoice's collection_method and
// days_until_due agree.
func checkDueTerms(method string, days *int64) *apiError {
	switch {
	case method == "send_invoice" && days == nil:
		return invalidRequest("days_until_due", "Invoices with collection_method=send_invoice need days_until_due: "+
			"stripetest models no due_date.")
	case method == "charge_automatically" && days != nil:
		return invalidRequest("days_until_due", "You can only set days_until_due when collection_method is send_invoice.")
	case days != nil && *days < 0:
		return invalidRequest("days_until_due", "This value must be greater than or equal to 0.")
	}
	return nil
}

// refuseUnmodelled rejects invoice parameters whose behaviour the double
// does not model.
func refuseUnmodelled(c *call) *apiError {
	for _, p := range []struct{ name, what string }{
		{"due_date", "due_date (use days_until_due)"},
		{"subscription", "subscription invoices"},
		{"default_payment_method", "an invoice's own default_payment_method"},
		{"default_source", "sources"},
		{"discounts[0][coupon]", "discounts"},
		{"on_behalf_of", "Connect"},
		{"transfer_data[destination]", "Connect"},
	} {
		if _, ok := formString(c.form, p.name); ok {
			return unsupported(p.name, p.what)
		}
	}
	if v, _ := formString(c.form, "automatic_tax[enabled]"); v == "true" {
		return unsupported("automatic_tax[enabled]", "automatic tax")
	}
	return nil
}

func (s *Server) createInvoice(c *call) (any, *apiError) {
	customerID, ok := formString(c.form, "customer")
	if !ok || customerID == "" {
		return nil, missingParam("customer")
	}
	if e := refuseUnmodelled(c); e != nil {
		return nil, e
	}
	method, ok := formString(c.form, "collection_method")
	if !ok {
		method = "charge_automatically"
	}
	if !slices.Contains(collectionMethods, method) {
		return nil, invalidRequest("collection_method", "Invalid collection_method: must be one of charge_automatically or send_invoice")
	}
	days, daysSet, e := formInt(c.form, "days_until_due")
	if e != nil {
		return nil, e
	}
	var daysUntilDue *int64
	if daysSet {
		daysUntilDue = &days
	}
	if e := checkDueTerms(method, daysUntilDue); e != nil {
		return nil, e
	}
	autoAdvance, e := formBool(c.form, "auto_advance")
	if e != nil {
		return nil, e
	}
	currency, currencySet, e := readCurrency(c.form)
	if e != nil {
		return nil, e
	}
	behavior, ok := formString(c.form, "pending_invoice_items_behavior")
	if !ok {
		behavior = "exclude"
	}
	if behavior != "include" && behavior != "exclude" {
		return nil, invalidRequest("pending_invoice_items_behavior", "Invalid pending_invoice_items_behavior: must be one of include or exclude")
	}
	cu, e := s.liveCustomer(customerID, http.StatusBadRequest, "customer")
	if e != nil {
		return nil, e
	}
	if !currencySet {
		// The customer's currency, once it has one.
		currency = deref(cu.Currency)
		if currency == "" {
			currency = "usd"
		}
	}

	now := s.now.Unix()
	inv := &invoice{
		ID:                   newID("in_", 24),
		Object:               "invoice",
		AccountCountry:       "US",
		AutoAdvance:          autoAdvance,
		BillingReason:        "manual",
		CollectionMethod:     method,
		Created:              now,
		Currency:             currency,
		Customer:             cu.ID,
		CustomerEmail:        cu.Email,
		CustomerName:         cu.Name,
		CustomerTaxExempt:    cu.TaxExempt,
		CustomerTaxIDs:       []struct{}{},
		DaysUntilDue:         daysUntilDue,
		DefaultTaxRates:      []struct{}{},
		Discounts:            []string{},
		Issuer:               invoiceIssuer{Type: "self"},
		Metadata:             mergeMetadata(map[string]string{}, c),
		PeriodEnd:            now,
		PeriodStart:          now,
		StartingBalance:      balanceIn(cu, currency),
		Status:               invoiceDraft,
		TotalDiscountAmounts: []struct{}{},
		TotalTaxAmounts:      []struct{}{},
	}
	inv.Description, _ = formNullable(c.form, "description")
	if behavior == "include" {
		for _, ii := range s.invoiceItems.all() {
			if ii.Customer == cu.ID && !ii.Deleted && ii.Invoice == nil && ii.Currency == inv.Currency {
				inv.attachItem(ii)
			}
		}
	}
	inv.refresh()
	s.invoices.add(inv.ID, inv)
	s.recordEvent("invoice.created", inv.ID, inv, nil, c)
	return s.renderInvoice(inv, formList(c.form, "expand"))
}

func (s *Server) upcomingInvoice(c *call) (any, *apiError) {
	return nil, unsupported("", "upcoming invoices")
}

// liveInvoice finds an invoice that was not deleted.
func (s *Server) liveInvoice(id string, status int, param string) (*invoice, *apiError) {
	inv, ok := s.invoices.get(id)
	if !ok || inv.Deleted {
		return nil, s.invoices.noSuch(status, id, param)
	}
	return inv, nil
}

// draftInvoiceFor finds the invoice an invoice item of customerID is
// created on.
func (s *Server) draftInvoiceFor(id, customerID string) (*invoice, *apiError) {
	inv, e := s.liveInvoice(id, http.StatusBadRequest, "invoice")
	if e != nil {
		return nil, e
	}
	if inv.Customer != customerID {
		return nil, refused("invoice", "The invoice "+inv.ID+" belongs to customer "+inv.Customer+
			", not "+customerID+". An invoice item can only be added to an invoice of its own customer.")
	}
	if inv.Status != invoiceDraft {
		return nil, refused("invoice", "You can only add invoice items to draft invoices.").coded("invoice_not_editable")
	}
	return inv, nil
}

func (s *Server) getInvoice(c *call) (any, *apiError) {
	inv, e := s.liveInvoice(c.pathParams["invoice"], http.StatusNotFound, "invoice")
	if e != nil {
		return nil, e
	}
	return s.renderInvoice(inv, formList(c.form, "expand"))
}

func (s *Server) updateInvoice(c *call) (any, *apiError) {
	if e := refuseUnmodelled(c); e != nil {
		return nil, e
	}
	method, methodSet := formString(c.form, "collection_method")
	if methodSet && !slices.Contains(collectionMethods, method) {
		return nil, invalidRequest("collection_method", "Invalid collection_method: must be one of charge_automatically or send_invoice")
	}
	days, daysSet, e := formInt(c.form, "days_until_due")
	if e != nil {
		return nil, e
	}
	autoAdvance, e := formBool(c.form, "auto_advance")
	if e != nil {
		return nil, e
	}
	_, autoAdvanceSet := formString(c.form, "auto_advance")
	description, descriptionSet := formNullable(c.form, "description")
	inv, e := s.liveInvoice(c.pathParams["invoice"], http.StatusNotFound, "invoice")
	if e != nil {
		return nil, e
	}
	// Once finalized, only metadata and auto_advance still change.
	if inv.Status != invoiceDraft && (methodSet || daysSet || descriptionSet) {
		return nil, refused("", "Finalized invoices can't be updated in this way").coded("invoice_not_editable")
	}
	if !methodSet {
		method = inv.CollectionMethod
	}
	daysUntilDue := inv.DaysUntilDue
	switch {
	case daysSet:
		daysUntilDue = &days
	case method == "charge_automatically":
		daysUntilDue = nil
	}
	if e := checkDueTerms(method, daysUntilDue); e != nil {
		return nil, e
	}

	before := inv.snapshot()
	inv.CollectionMethod, inv.DaysUntilDue = method, daysUntilDue
	if descriptionSet {
		inv.Description = description
	}
	if autoAdvanceSet {
		inv.AutoAdvance = autoAdvance
	}
	inv.Metadata = mergeMetadata(inv.Metadata, c)
	s.invoiceUpdated(c, inv, before)
	return s.renderInvoice(inv, formList(c.form, "expand"))
}

func (s *Server) deleteInvoice(c *call) (any, *apiError) {
	inv, e := s.liveInvoice(c.pathParams["invoice"], http.StatusNotFound, "invoice")
	if e != nil {
		return nil, e
	}
	if inv.Status != invoiceDraft {
		return nil, refused("", "You can only delete draft invoices. Void invoice "+inv.ID+" instead, it is "+inv.Status+".")
	}
	s.recordEvent("invoice.deleted", inv.ID, inv, nil, c)
	inv.Deleted = true
	// Items created on the draft go with it; items it took from the
	// customer's pending ones are pending again.
	for _, ii := range inv.items {
		if ii.createdFor == inv.ID {
			ii.Deleted = true
		} else {
			ii.Invoice, ii.lineID = nil, ""
		}
	}
	return deletedObject{ID: inv.ID, Object: "invoice", Deleted: true}, nil
}

func (s *Server) finalizeInvoice(c *call) (any, *apiError) {
	autoAdvance, e := formBool(c.form, "auto_advance")
	if e != nil {
		return nil, e
	}
	_, autoAdvanceSet := formString(c.form, "auto_advance")
	inv, e := s.liveInvoice(c.pathParams["invoice"], http.StatusNotFound, "invoice")
	if e != nil {
		return nil, e
	}
	if inv.Status != invoiceDraft {
		return nil, refused("", "This invoice is already finalized, you can't re-finalize a non-draft invoice.").coded("invoice_not_editable")
	}
	if autoAdvanceSet {
		inv.AutoAdvance = autoAdvance
	}
	s.finalize(c, inv)
	return s.renderInvoice(inv, formList(c.form, "expand"))
}

// finalize opens a draft: it gets its number, URLs and due date, uses the
// customer's balance, and gets a PaymentIntent to collect amount_due. An
// invoice with nothing due is paid at once.
func (s *Server) finalize(c *call, inv *invoice) {
	now := s.now.Unix()
	// A deleted customer keeps its invoices, so it is still found.
	cu, _ := s.customers.get(inv.Customer)
	number := fmt.Sprintf("%s-%04d", cu.InvoicePrefix, cu.NextInvoiceSequence)
	cu.NextInvoiceSequence++
	hosted := "https://invoice.stripe.com/i/acct_test/test_" + inv.ID
	pdf := "https://pay.stripe.com/invoice/acct_test/test_" + inv.ID + "/pdf"

	inv.Number = &number
	inv.HostedInvoiceURL = &hosted
	inv.InvoicePDF = &pdf
	inv.CustomerEmail, inv.CustomerName = cu.Email, cu.Name
	inv.EffectiveAt = &now
	inv.StatusTransitions.FinalizedAt = &now
	inv.Status = invoiceOpen
	if inv.DaysUntilDue != nil {
		due := now + *inv.DaysUntilDue*86400
		inv.DueDate = &due
	}
	s.applyBalance(c, inv, cu)
	if inv.AmountDue > 0 {
		pi := s.newInvoicePaymentIntent(c, inv)
		inv.PaymentIntent = &pi.ID
	}
	s.recordEvent("invoice.finalized", inv.ID, inv, nil, c)
	if inv.AmountDue == 0 {
		inv.Attempted = true
		s.markInvoicePaid(c, inv, false)
	}
}

// newInvoicePaymentIntent creates the PaymentIntent that collects an
// invoice, as Stripe does when it finalizes one.
func (s *Server) newInvoicePaymentIntent(c *call, inv *invoice) *paymentIntent {
	customerID, invoiceID, description := inv.Customer, inv.ID, "Payment for Invoice"
	pi := &paymentIntent{
		ID:                 newID("pi_", 24),
		Object:             "payment_intent",
		Amount:             inv.AmountDue,
		CaptureMethod:      "automatic",
		ConfirmationMethod: "automatic",
		Created:            s.now.Unix(),
		Currency:           inv.Currency,
		Customer:           &customerID,
		Description:        &description,
		Invoice:            &invoiceID,
		Metadata:           map[string]string{},
		PaymentMethodTypes: []string{"card"},
		Status:             statusRequiresPaymentMethod,
	}
	pi.ClientSecret = pi.ID + "_secret_" + newID("", 25)
	s.paymentIntents.add(pi.ID, pi)
	s.recordEvent("payment_intent.created", pi.ID, pi, nil, c)
	return pi
}

func (s *Server) sendInvoice(c *call) (any, *apiError) {
	inv, e := s.liveInvoice(c.pathParams["invoice"], http.StatusNotFound, "invoice")
	if e != nil {
		return nil, e
	}
	switch {
	case inv.CollectionMethod != "send_invoice":
		return nil, refused("", "You can only manually send an invoice if its collection method is 'send_invoice'.")
	case inv.Status == invoiceDraft:
		return nil, refused("", "You can only send an invoice once it is finalized. Finalize invoice "+inv.ID+" first.")
	case inv.Status == invoiceVoid:
		return nil, refused("", "You can't send invoice "+inv.ID+" because it is void.")
	}
	s.recordEvent("invoice.sent", inv.ID, inv, nil, c)
	return s.renderInvoice(inv, formList(c.form, "expand"))
}

func (s *Server) payInvoice(c *call) (any, *apiError) {
	outOfBand, e := formBool(c.form, "paid_out_of_band")
	if e != nil {
		return nil, e
	}
	offSession := true
	if _, ok := formString(c.form, "off_session"); ok {
		if offSession, e = formBool(c.form, "off_session"); e != nil {
			return nil, e
		}
	}
	forgive, e := formBool(c.form, "forgive")
	if e != nil {
		return nil, e
	}
	if forgive {
		return nil, unsupported("forgive", "forgiving partially paid invoices")
	}
	if _, ok := formString(c.form, "source"); ok {
		return nil, unsupported("source", "sources")
	}
	pmID, _ := formNullable(c.form, "payment_method")
	inv, e := s.liveInvoice(c.pathParams["invoice"], http.StatusNotFound, "invoice")
	if e != nil {
		return nil, e
	}
	switch inv.Status {
	case invoicePaid:
		return nil, refused("", "Invoice is already paid")
	case invoiceDraft:
		return nil, refused("", "You can only pay an invoice once it is finalized. Finalize invoice "+inv.ID+" first.")
	case invoiceVoid:
		return nil, refused("", "You can't pay invoice "+inv.ID+" because it is void.")
	}
	// An open invoice always has something due, so a PaymentIntent.
	pi := s.invoicePI(inv)
	if outOfBand {
		s.cancelInvoicePaymentIntent(c, pi, nil)
		inv.PaidOutOfBand = true
		s.markInvoicePaid(c, inv, true)
		return s.renderInvoice(inv, formList(c.form, "expand"))
	}

	if pmID != nil {
		pm, e := s.lookupPaymentMethod(*pmID, http.StatusBadRequest, "payment_method")
		if e != nil {
			return nil, e
		}
		if deref(pm.Customer) != inv.Customer {
			return nil, refused("payment_method", "The PaymentMethod "+pm.ID+" does not belong to the Customer "+inv.Customer+
				". Please use a PaymentMethod that belongs to this Customer.")
		}
	} else if cu, _ := s.customers.get(inv.Customer); !cu.Deleted {
		pmID = cu.InvoiceSettings.DefaultPaymentMethod
	}
	if pmID == nil {
		return nil, refused("", "This customer has no attached payment source or default payment method. "+
			"Please consider adding a default payment method. For more information, visit "+
			"https://stripe.com/docs/billing/subscriptions/payment-methods-setting#payment-method-priority.")
	}
	pi.PaymentMethod = pmID
	if e := s.confirm(c, pi, offSession); e != nil {
		return nil, e
	}
	if pi.Status == statusRequiresAction {
		e := &apiError{status: http.StatusPaymentRequired, Type: typeCard, PaymentIntent: json.RawMessage(mustJSON(pi)),
			Message: "This payment requires additional user action before it can be completed successfully. " +
				"Payment can be completed using the PaymentIntent associated with the invoice. " +
				"For more details see: https://stripe.com/docs/billing/subscriptions/overview#requires-action"}
		return nil, e.coded("invoice_payment_intent_requires_action")
	}
	return s.renderInvoice(inv, formList(c.form, "expand"))
}

// invoicePaymentAttempted follows an attempt to pay pi onto the invoice pi
// collects, if any: the invoice counts the attempt and is paid, or records
// why it is not.
func (s *Server) invoicePaymentAttempted(c *call, pi *paymentIntent) {
	if pi.Invoice == nil {
		return
	}
	inv, ok := s.invoices.get(*pi.Invoice)
	if !ok || (inv.Status != invoiceOpen && inv.Status != invoiceUncollectible) {
		return
	}
	inv.Attempted = true
	inv.AttemptCount++
	if pi.LatestCharge != nil {
		inv.Charge = pi.LatestCharge
	}
	switch pi.Status {
	case statusSucceeded:
		s.markInvoicePaid(c, inv, false)
	case statusRequiresAction:
		s.recordEvent("invoice.payment_action_required", inv.ID, inv, nil, c)
	default:
		s.recordEvent("invoice.payment_failed", inv.ID, inv, nil, c)
	}
}

// markInvoicePaid settles inv. A payment records invoice.paid and
// invoice.payment_succeeded; paying out of band only invoice.paid.
func (s *Server) markInvoicePaid(c *call, inv *invoice, outOfBand bool) {
	now := s.now.Unix()
	inv.Status = invoicePaid
	inv.Paid = true
	inv.AmountPaid = inv.AmountDue
	inv.AmountRemaining = 0
	inv.StatusTransitions.PaidAt = &now
	s.recordEvent("invoice.paid", inv.ID, inv, nil, c)
	if !outOfBand {
		s.recordEvent("invoice.payment_succeeded", inv.ID, inv, nil, c)
	}
}

// cancelInvoicePaymentIntent cancels the PaymentIntent of an invoice that
// will no longer be paid through it, if it has one still open.
func (s *Server) cancelInvoicePaymentIntent(c *call, pi *paymentIntent, reason *string) {
	if pi == nil || pi.Status == statusSucceeded || pi.Status == statusCanceled {
		return
	}
	now := s.now.Unix()
	pi.Status = statusCanceled
	pi.CanceledAt = &now
	pi.CancellationReason = reason
	pi.NextAction = nil
	s.recordEvent("payment_intent.canceled", pi.ID, pi, nil, c)
}

// invoicePI is the PaymentIntent of inv, or nil for one that never had
// anything to collect.
func (s *Server) invoicePI(inv *invoice) *paymentIntent {
	if inv.PaymentIntent == nil {
		return nil
	}
	pi, _ := s.paymentIntents.get(*inv.PaymentIntent)
	return pi
}

func (s *Server) voidInvoice(c *call) (any, *apiError) {
	inv, e := s.liveInvoice(c.pathParams["invoice"], http.StatusNotFound, "invoice")
	if e != nil {
		return nil, e
	}
	if inv.Status != invoiceOpen && inv.Status != invoiceUncollectible {
		return nil, refused("", "You can only void an open or uncollectible invoice; invoice "+inv.ID+" is "+inv.Status+".")
	}
	now := s.now.Unix()
	reason := "void_invoice"
	inv.Status = invoiceVoid
	inv.StatusTransitions.VoidedAt = &now
	s.cancelInvoicePaymentIntent(c, s.invoicePI(inv), &reason)
	s.unapplyBalance(c, inv)
	s.recordEvent("invoice.voided", inv.ID, inv, nil, c)
	return s.renderInvoice(inv, formList(c.form, "expand"))
}

func (s *Server) markInvoiceUncollectible(c *call) (any, *apiError) {
	inv, e := s.liveInvoice(c.pathParams["invoice"], http.StatusNotFound, "invoice")
	if e != nil {
		return nil, e
	}
	if inv.Status != invoiceOpen {
		return nil, refused("", "You can only mark an open invoice uncollectible; invoice "+inv.ID+" is "+inv.Status+".")
	}
	now := s.now.Unix()
	inv.Status = invoiceUncollectible
	inv.StatusTransitions.MarkedUncollectibleAt = &now
	s.recordEvent("invoice.marked_uncollectible", inv.ID, inv, nil, c)
	return s.renderInvoice(inv, formList(c.form, "expand"))
}

func (s *Server) listInvoices(c *call) (any, *apiError) {
	created, e := createdFilter(c.form)
	if e != nil {
		return nil, e
	}
	if _, ok := formString(c.form, "subscription"); ok {
		return nil, unsupported("subscription", "subscription invoices")
	}
	customerID, byCustomer := formString(c.form, "customer")
	status, byStatus := formString(c.form, "status")
	if byStatus && !slices.Contains(invoiceStatuses, status) {
		return nil, invalidRequest("status", "Invalid status: must be one of draft, open, paid, uncollectible, or void")
	}
	method, byMethod := formString(c.form, "collection_method")
	if byMethod && !slices.Contains(collectionMethods, method) {
		return nil, invalidRequest("collection_method", "Invalid collection_method: must be one of charge_automatically or send_invoice")
	}
	return list(c, s.invoices, func(inv *invoice) bool {
		return !inv.Deleted && created(inv.Created) &&
			(!byCustomer || inv.Customer == customerID) &&
			(!byStatus || inv.Status == status) &&
			(!byMethod || inv.CollectionMethod == method)
	}, s.renderInvoice)
}

func (s *Server) searchInvoices(c *call) (any, *apiError) {
	query, ok := formString(c.form, "query")
	if !ok {
		return nil, missingParam("query")
	}
	match, e := searchSchema[invoice]{
		fields: map[string]func(*invoice) string{
			"customer": func(inv *invoice) string { return inv.Customer },
			"status":   func(inv *invoice) string { return inv.Status },
			"number":   func(inv *invoice) string { return deref(inv.Number) },
			"currency": func(inv *invoice) string { return inv.Currency },
		},
		metadata: func(inv *invoice) map[string]string { return inv.Metadata },
	}.matcher(query)
	if e != nil {
		return nil, e
	}
	return search(c, s.invoices, func(inv *invoice) bool { return !inv.Deleted && match(inv) }, s.renderInvoice)
}

// listInvoiceLines pages through an invoice's lines in the order they
// joined it, as Stripe lists them.
func (s *Server) listInvoiceLines(c *call) (any, *apiError) {
	inv, e := s.liveInvoice(c.pathParams["invoice"], http.StatusNotFound, "invoice")
	if e != nil {
		return nil, e
	}
	// list walks from the newest object to the oldest, so the lines go in
	// newest first to come out oldest first.
	lines := newStore[lineItem]("line item")
	for _, l := range slices.Backward(inv.lines()) {
		lines.add(l.ID, l)
	}
	return list(c, lines, func(*lineItem) bool { return true }, func(l *lineItem, paths []string) (any, *apiError) {
		return expand(l, paths, nil)
	})
}

func (s *Server) renderInvoice(inv *invoice, paths []string) (any, *apiError) {
	return expand(inv, paths, expanders{
		"charge":         s.expandCharge,
		"customer":       s.expandCustomer,
		"payment_intent": s.expandPaymentIntent,
	})
}

func (s *Server) expandInvoice(id string) any {
	if inv, ok := s.invoices.get(id); ok && !inv.Deleted {
		return inv
	}
	return id
}

// invoiceUpdated records invoice.updated if inv changed since before.
func (s *Server) invoiceUpdated(c *call, inv *invoice, before invoice) {
	if prev := previousAttributes(before, inv); len(prev) > 0 {
		s.recordEvent("invoice.updated", inv.ID, inv, prev, c)
	}
}

// snapshot copies inv deeply enough to diff it after a change; refresh
// replaces the lines rather than changing them.
func (inv *invoice) snapshot() invoice {
	before := *inv
	before.Metadata = maps.Clone(inv.Metadata)
	return before
}

func (inv *invoice) attachItem(ii *invoiceItem) {
	ii.Invoice = &inv.ID
	ii.lineID = newID("il_", 24)
	inv.items = append(inv.items, ii)
	inv.refresh()
}

func (inv *invoice) detachItem(ii *invoiceItem) {
	inv.items = slices.DeleteFunc(inv.items, func(x *invoiceItem) bool { return x == ii })
	inv.refresh()
}

// lines derives the invoice's lines from its items.
func (inv *invoice) lines() []*lineItem {
	out := make([]*lineItem, len(inv.items))
	for i, ii := range inv.items {
		out[i] = &lineItem{
			ID:                     ii.lineID,
			Object:                 "line_item",
			Amount:                 ii.Amount,
			AmountExcludingTax:     ii.Amount,
			Currency:               ii.Currency,
			Description:            ii.Description,
			DiscountAmounts:        []struct{}{},
			Discountable:           ii.Discountable,
			Discounts:              []string{},
			Invoice:                inv.ID,
			InvoiceItem:            ii.ID,
			Metadata:               maps.Clone(ii.Metadata),
			Period:                 ii.Period,
			Quantity:               ii.Quantity,
			TaxAmounts:             []struct{}{},
			TaxRates:               []struct{}{},
			Type:                   "invoiceitem",
			UnitAmountExcludingTax: ii.UnitAmountDecimal,
		}
	}
	return out
}

// refresh recomputes a draft's lines and totals from its items. A credit
// (negative) line reduces the total; amount_due, which also counts the
// customer balance applied at finalization, never goes below zero.
func (inv *invoice) refresh() {
	lines := inv.lines()
	var total int64
	for _, l := range lines {
		total += l.Amount
	}
	inv.Subtotal, inv.SubtotalExcludingTax = total, total
	inv.Total, inv.TotalExcludingTax = total, total
	inv.AmountDue = max(total+inv.balanceApplied, 0)
	inv.AmountRemaining = inv.AmountDue - inv.AmountPaid
	inv.Lines = invoiceLines{
		Object:     "list",
		Data:       lines[:min(len(lines), embeddedListLimit)],
		HasMore:    len(lines) > embeddedListLimit,
		TotalCount: len(lines),
		URL:        "/v1/invoices/" + inv.ID + "/lines",
	}
}
