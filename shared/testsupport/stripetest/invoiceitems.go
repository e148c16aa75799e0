package stripetest

import "net/http"

// invoiceItem is a Stripe invoice item in its wire shape: one line to
// bill, pending until it is on an invoice.
type invoiceItem struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"`
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Customer    string            `json:"customer"`
	Date        int64             `json:"date"`
	Description *string           `json:"description"`
	Invoice     *string           `json:"invoice"`
	Livemode    bool              `json:"livemode"`
	Metadata    map[string]string `json:"metadata"`

	// lineID is the id of the item's line on its invoice.
	lineID string
}

func (s *Server) invoiceItemRoutes() []route {
	return []route{
		{http.MethodPost, "/v1/invoiceitems", []string{"customer", "invoice", "amount", "currency", "description", "metadata[*]"}, s.createInvoiceItem},
		{http.MethodGet, "/v1/invoiceitems", append([]string{"customer", "pending"}, listParams...), s.listInvoiceItems},
	}
}

// createInvoiceItem adds a line of amount (negative for a credit) to a
// draft invoice, or to the customer's pending items without one.
func (s *Server) createInvoiceItem(c *call) (any, *apiError) {
	customerID, ok := formString(c.form, "customer")
	if !ok || customerID == "" {
		return nil, missingParam("customer")
	}
	if _, ok := formString(c.form, "currency"); !ok {
		return nil, unsupported("currency", "invoice items without a currency")
	}
	amount, currency, e := readMoney(c.form)
	if e != nil {
		return nil, e
	}
	if _, e := s.findCustomer(customerID, "customer"); e != nil {
		return nil, e
	}
	var inv *invoice
	if id := formNullable(c.form, "invoice"); id != nil {
		var ok bool
		inv, ok = s.invoices.get(*id)
		switch {
		case !ok:
			return nil, s.invoices.noSuch(http.StatusBadRequest, *id, "invoice")
		case inv.Customer != customerID:
			return nil, refused("invoice", "The invoice "+inv.ID+" belongs to customer "+inv.Customer+
				", not "+customerID+". An invoice item can only be added to an invoice of its own customer.")
		case inv.Status != invoiceDraft:
			return nil, refused("invoice", "You can only add invoice items to draft invoices.").coded("invoice_not_editable")
		case currency != inv.Currency:
			return nil, refused("currency", "The currency of an invoice item ("+currency+") must match the currency of its invoice ("+inv.Currency+").")
		}
	}
	ii := &invoiceItem{
		ID:          newID("ii_", 24),
		Object:      "invoiceitem",
		Amount:      amount,
		Currency:    currency,
		Customer:    customerID,
		Date:        s.now.Unix(),
		Description: formNullable(c.form, "description"),
		Metadata:    metadata(c.form),
	}
	s.invoiceItems.add(ii.ID, ii)
	if inv != nil {
		inv.attachItem(ii)
	}
	return ii, nil
}

func (s *Server) listInvoiceItems(c *call) (any, *apiError) {
	pending, e := formBool(c.form, "pending")
	if e != nil {
		return nil, e
	}
	_, byPending := formString(c.form, "pending")
	customerID, byCustomer := formString(c.form, "customer")
	return list(c, s.invoiceItems, func(ii *invoiceItem) bool {
		return (!byCustomer || ii.Customer == customerID) && (!byPending || pending == (ii.Invoice == nil))
	})
}
