package stripetest

import (
	"fmt"
	"net/http"

	"github.com/stripe/stripe-go/v76"
)

// invoice is a one-off Stripe invoice in its wire shape. Subscriptions,
// taxes and discounts are not modelled.
type invoice struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	AmountDue        int64             `json:"amount_due"`
	AmountPaid       int64             `json:"amount_paid"`
	AmountRemaining  int64             `json:"amount_remaining"`
	AutoAdvance      bool              `json:"auto_advance"`
	CollectionMethod string            `json:"collection_method"`
	Created          int64             `json:"created"`
	Currency         string            `json:"currency"`
	Customer         string            `json:"customer"`
	DaysUntilDue     *int64            `json:"days_until_due"`
	Description      *string           `json:"description"`
	EndingBalance    *int64            `json:"ending_balance"`
	HostedInvoiceURL *string           `json:"hosted_invoice_url"`
	Lines            invoiceLines      `json:"lines"`
	Livemode         bool              `json:"livemode"`
	Metadata         map[string]string `json:"metadata"`
	Paid             bool              `json:"paid"`
	PaymentIntent    *string           `json:"payment_intent"`
	StartingBalance  int64             `json:"starting_balance"`
	Status           string            `json:"status"`
	Total            int64             `json:"total"`

	items []*invoiceItem // in the order they joined the invoice
}

// invoiceLines is the list of an invoice's lines embedded in it: the
// first ten, as Stripe embeds them.
type invoiceLines struct {
	Object     string      `json:"object"`
	Data       []*lineItem `json:"data"`
	HasMore    bool        `json:"has_more"`
	TotalCount int         `json:"total_count"`
	URL        string      `json:"url"`
}

// lineItem is an invoice line, as Stripe derives it from an invoice item.
type lineItem struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"`
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Description *string           `json:"description"`
	InvoiceItem string            `json:"invoice_item"`
	Metadata    map[string]string `json:"metadata"`
	Type        string            `json:"type"`
}

// Invoice statuses; the double never voids an invoice, but lists accept the
// status like Stripe's.
const (
	invoiceDraft         = "draft"
	invoiceOpen          = "open"
	invoicePaid          = "paid"
	invoiceUncollectible = "uncollectible"
)

func (s *Server) invoiceRoutes() []route {
	return []route{
		{http.MethodPost, "/v1/invoices", []string{"customer", "collection_method", "days_until_due", "auto_advance",
			"pending_invoice_items_behavior", "description", "metadata[*]"}, s.createInvoice},
		{http.MethodGet, "/v1/invoices", append([]string{"customer", "status"}, listParams...), s.listInvoices},
		{http.MethodGet, "/v1/invoices/search", searchParams, s.searchInvoices},
		{http.MethodGet, "/v1/invoices/{invoice}", nil, s.getInvoice},
		{http.MethodPost, "/v1/invoices/{invoice}/finalize", []string{"auto_advance"}, s.finalizeInvoice},
		{http.MethodPost, "/v1/invoices/{invoice}/send", nil, s.sendInvoice},
		{http.MethodPost, "/v1/invoices/{invoice}/mark_uncollectible", nil, s.markInvoiceUncollectible},
	}
}

// Invoices returns every invoice created, oldest first.
func (s *Server) Invoices() []*stripe.Invoice {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*stripe.Invoice
	for _, inv := range s.invoices.all() {
		out = append(out, decode[stripe.Invoice](inv))
	}
	return out
}

// PayInvoice pays an open (or uncollectible) invoice the way the customer
// does on its hosted page: the invoice's PaymentIntent succeeds with a new
// card, and its payment_intent.succeeded and invoice.paid are recorded.
func (s *Server) PayInvoice(id string) (*stripe.Invoice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invoices.get(id)
	if !ok {
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
	s.succeed(pi)
	return decode[stripe.Invoice](inv), nil
}

func (s *Server) createInvoice(c *call) (any, *apiError) {
	customerID, ok := formString(c.form, "customer")
	if !ok || customerID == "" {
		return nil, missingParam("customer")
	}
	method, e := oneOf(c.form, "collection_method", "charge_automatically", "send_invoice")
	if e != nil {
		return nil, e
	}
	days, daysSet, e := formInt(c.form, "days_until_due")
	switch {
	case e != nil:
		return nil, e
	case method == "send_invoice" && !daysSet:
		return nil, unsupported("days_until_due", "send_invoice without days_until_due (a due_date)")
	case method != "send_invoice" && daysSet:
		return nil, invalidRequest("days_until_due", "You can only set days_until_due when collection_method is send_invoice.")
	case days < 0:
		return nil, invalidRequest("days_until_due", "This value must be greater than or equal to 0.")
	}
	if method == "" {
		method = "charge_automatically"
	}
	autoAdvance, e := formBool(c.form, "auto_advance")
	if e != nil {
		return nil, e
	}
	behavior, e := oneOf(c.form, "pending_invoice_items_behavior", "include", "exclude")
	if e != nil {
		return nil, e
	}
	cu, e := s.findCustomer(customerID, "customer")
	if e != nil {
		return nil, e
	}

	inv := &invoice{
		ID:               newID("in_", 24),
		Object:           "invoice",
		AutoAdvance:      autoAdvance,
		CollectionMethod: method,
		Created:          s.now.Unix(),
		// The customer's currency, once it has one.
		Currency:    "usd",
		Customer:    cu.ID,
		Description: formNullable(c.form, "description"),
		Metadata:    metadata(c.form),
		Status:      invoiceDraft,
	}
	if cu.Currency != nil {
		inv.Currency = *cu.Currency
	}
	if daysSet {
		inv.DaysUntilDue = &days
	}
	if behavior == "include" {
		for _, ii := range s.invoiceItems.all() {
			if ii.Customer == cu.ID && ii.Invoice == nil && ii.Currency == inv.Currency {
				inv.attachItem(ii)
			}
		}
	}
	inv.refresh()
	s.invoices.add(inv.ID, inv)
	s.recordEvent("invoice.created", inv.ID, inv)
	return inv, nil
}

func (s *Server) getInvoice(c *call) (any, *apiError) {
	return s.invoices.lookup(c, "invoice")
}

func (s *Server) finalizeInvoice(c *call) (any, *apiError) {
	autoAdvance, e := formBool(c.form, "auto_advance")
	if e != nil {
		return nil, e
	}
	inv, e := s.invoices.lookup(c, "invoice")
	if e != nil {
		return nil, e
	}
	if inv.Status != invoiceDraft {
		return nil, refused("", "This invoice is already finalized, you can't re-finalize a non-draft invoice.").coded("invoice_not_editable")
	}
	if _, ok := formString(c.form, "auto_advance"); ok {
		inv.AutoAdvance = autoAdvance
	}
	cu, _ := s.customers.get(inv.Customer)
	hosted := "https://invoice.stripe.com/i/acct_test/test_" + inv.ID
	inv.HostedInvoiceURL = &hosted
	inv.Status = invoiceOpen
	s.applyBalance(inv, cu)
	if inv.AmountDue > 0 {
		inv.PaymentIntent = &s.newInvoicePaymentIntent(inv).ID
	} else {
		s.markInvoicePaid(inv)
	}
	return inv, nil
}

// newInvoicePaymentIntent creates the PaymentIntent that collects an
// invoice, as Stripe does when it finalizes one.
func (s *Server) newInvoicePaymentIntent(inv *invoice) *paymentIntent {
	customerID, invoiceID, description := inv.Customer, inv.ID, "Payment for Invoice"
	pi := &paymentIntent{
		ID:                 newID("pi_", 24),
		Object:             "payment_intent",
		Amount:             inv.AmountDue,
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
	return pi
}

// markInvoicePaid settles an open (or uncollectible) invoice and records
// invoice.paid.
func (s *Server) markInvoicePaid(inv *invoice) {
	if inv.Status != invoiceOpen && inv.Status != invoiceUncollectible {
		return
	}
	inv.Status = invoicePaid
	inv.Paid = true
	inv.AmountPaid = inv.AmountDue
	inv.AmountRemaining = 0
	s.recordEvent("invoice.paid", inv.ID, inv)
}

func (s *Server) sendInvoice(c *call) (any, *apiError) {
	inv, e := s.invoices.lookup(c, "invoice")
	switch {
	case e != nil:
		return nil, e
	case inv.CollectionMethod != "send_invoice":
		return nil, refused("", "You can only manually send an invoice if its collection method is 'send_invoice'.")
	case inv.Status == invoiceDraft:
		return nil, refused("", "You can only send an invoice once it is finalized. Finalize invoice "+inv.ID+" first.")
	}
	return inv, nil
}

func (s *Server) markInvoiceUncollectible(c *call) (any, *apiError) {
	inv, e := s.invoices.lookup(c, "invoice")
	if e != nil {
		return nil, e
	}
	if inv.Status != invoiceOpen {
		return nil, refused("", "You can only mark an open invoice uncollectible; invoice "+inv.ID+" is "+inv.Status+".")
	}
	inv.Status = invoiceUncollectible
	return inv, nil
}

func (s *Server) listInvoices(c *call) (any, *apiError) {
	customerID, byCustomer := formString(c.form, "customer")
	status, e := oneOf(c.form, "status", invoiceDraft, invoiceOpen, invoicePaid, invoiceUncollectible, "void")
	if e != nil {
		return nil, e
	}
	return list(c, s.invoices, func(inv *invoice) bool {
		return (!byCustomer || inv.Customer == customerID) && (status == "" || inv.Status == status)
	})
}

func (s *Server) searchInvoices(c *call) (any, *apiError) {
	query, _ := formString(c.form, "query")
	match, e := matcher(query, func(inv *invoice) map[string]string { return inv.Metadata },
		map[string]func(*invoice) string{"customer": func(inv *invoice) string { return inv.Customer }})
	if e != nil {
		return nil, e
	}
	return search(c, s.invoices, match)
}

func (inv *invoice) attachItem(ii *invoiceItem) {
	ii.Invoice = &inv.ID
	ii.lineID = newID("il_", 24)
	inv.items = append(inv.items, ii)
	inv.refresh()
}

// refresh recomputes a draft's lines and totals from its items. A credit
// (negative) line reduces the total; amount_due never goes below zero.
func (inv *invoice) refresh() {
	var lines []*lineItem
	var total int64
	for _, ii := range inv.items {
		lines = append(lines, &lineItem{ID: ii.lineID, Object: "line_item", Amount: ii.Amount, Currency: ii.Currency,
			Description: ii.Description, InvoiceItem: ii.ID, Metadata: ii.Metadata, Type: "invoiceitem"})
		total += ii.Amount
	}
	inv.Total = total
	inv.AmountDue = max(total, 0)
	inv.AmountRemaining = inv.AmountDue
	inv.Lines = invoiceLines{
		Object:     "list",
		Data:       lines[:min(len(lines), 10)],
		HasMore:    len(lines) > 10,
		TotalCount: len(lines),
		URL:        "/v1/invoices/" + inv.ID + "/lines",
	}
	if inv.Lines.Data == nil {
		inv.Lines.Data = []*lineItem{}
	}
}
