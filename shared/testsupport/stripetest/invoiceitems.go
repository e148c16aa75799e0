package stripetest

import (
	"maps"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// invoiceItem is a Stripe invoice item in its wire shape: one line to
// bill, pending until it is on an invoice.
type invoiceItem struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Amount            int64             `json:"amount"`
	Currency          string            `json:"currency"`
	Customer          string            `json:"customer"`
	Date              int64             `json:"date"`
	Description       *string           `json:"description"`
	Discountable      bool              `json:"discountable"`
	Discounts         []string          `json:"discounts"`
	Invoice           *string           `json:"invoice"`
	Livemode          bool              `json:"livemode"`
	Metadata          map[string]string `json:"metadata"`
	Period            period            `json:"period"`
	Plan              *struct{}         `json:"plan"`
	Price             *struct{}         `json:"price"`
	Proration         bool              `json:"proration"`
	Quantity          int64             `json:"quantity"`
	Subscription      *string           `json:"subscription"`
	TaxRates          []struct{}        `json:"tax_rates"`
	TestClock         *string           `json:"test_clock"`
	UnitAmount        *int64            `json:"unit_amount"`
	UnitAmountDecimal string            `json:"unit_amount_decimal"`
	// Deleted is only ever true; the API no longer shows deleted items.
	Deleted bool `json:"deleted,omitempty"`

	unit *big.Rat
	// lineID is the id of the item's line on its invoice.
	lineID string
	// createdFor is the invoice the item was created on, which takes it
	// down with it when that draft is deleted.
	createdFor string
}

type period struct {
	End   int64 `json:"end"`
	Start int64 `json:"start"`
}

func (s *Server) invoiceItemRoutes() []route {
	return []route{
		{http.MethodPost, "/v1/invoiceitems", s.createInvoiceItem},
		{http.MethodGet, "/v1/invoiceitems", s.listInvoiceItems},
		{http.MethodGet, "/v1/invoiceitems/{invoiceitem}", s.getInvoiceItem},
		{http.MethodPost, "/v1/invoiceitems/{invoiceitem}", s.updateInvoiceItem},
		{http.MethodDelete, "/v1/invoiceitems/{invoiceitem}", s.deleteInvoiceItem},
	}
}

// InvoiceItems returns every invoice item created, oldest first, including
// deleted ones (with Deleted set and their last field values).
func (s *Server) InvoiceItems() []*stripe.InvoiceItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*stripe.InvoiceItem
	for _, ii := range s.invoiceItems.all() {
		out = append(out, decode[stripe.InvoiceItem](ii))
	}
	return out
}

// itemPricing is how a request prices an invoice item: a unit amount
// (amount and unit_amount set it in whole cents, unit_amount_decimal in
// fractions of a cent) and a quantity.
type itemPricing struct {
	unit        *big.Rat // nil when the request does not set it
	quantity    int64
	quantitySet bool
}

var decimalPattern = regexp.MustCompile(`^-?[0-9]+(\.[0-9]{1,12})?$`)

func readItemPricing(form url.Values) (itemPricing, *apiError) {
	var p itemPricing
	for _, name := range []string{"price", "price_data[currency]", "price_data[product]"} {
		if _, ok := formString(form, name); ok {
			return p, unsupported(name, "invoice items priced with Prices")
		}
	}
	amount, amountSet, e := formInt(form, "amount")
	if e != nil {
		return p, e
	}
	unitAmount, unitSet, e := formInt(form, "unit_amount")
	if e != nil {
		return p, e
	}
	decimal, decimalSet := formString(form, "unit_amount_decimal")
	if p.quantity, p.quantitySet, e = formInt(form, "quantity"); e != nil {
		return p, e
	}
	set := 0
	for _, b := range []bool{amountSet, unitSet, decimalSet} {
		if b {
			set++
		}
	}
	switch {
	case set > 1:
		return p, invalidRequest("amount", "You may only specify one of these parameters: amount, unit_amount, unit_amount_decimal.")
	case amountSet && p.quantitySet:
		return p, invalidRequest("quantity", "You may only specify one of these parameters: amount, quantity. To bill several units, use unit_amount or unit_amount_decimal.")
	case p.quantitySet && p.quantity < 0:
		return p, invalidRequest("quantity", "This value must be greater than or equal to 0.")
	case amountSet:
		// An amount is one unit of itself.
		p.unit, p.quantity, p.quantitySet = big.NewRat(amount, 1), 1, true
	case unitSet:
		p.unit = big.NewRat(unitAmount, 1)
	case decimalSet:
		if !decimalPattern.MatchString(decimal) {
			return p, invalidRequest("unit_amount_decimal", "Invalid decimal: "+decimal+". It must be a number of cents with at most 12 decimal places.")
		}
		p.unit, _ = new(big.Rat).SetString(decimal)
	}
	return p, nil
}

// price sets ii's unit amount, quantity and the amount they make, which
// Stripe rounds half up (half away from zero for credits) to whole cents.
func (ii *invoiceItem) price(unit *big.Rat, quantity int64) *apiError {
	total := new(big.Rat).Mul(unit, big.NewRat(quantity, 1))
	amount, ok := roundHalfAwayFromZero(total)
	if !ok {
		return invalidRequest("amount", "This value must be less than or equal to 99999999999.")
	}
	ii.unit, ii.Quantity, ii.Amount = unit, quantity, amount
	ii.UnitAmountDecimal = formatDecimal(unit)
	ii.UnitAmount = nil
	if unit.IsInt() && unit.Num().IsInt64() {
		n := unit.Num().Int64()
		ii.UnitAmount = &n
	}
	ii.Discountable = amount >= 0
	return nil
}

func roundHalfAwayFromZero(r *big.Rat) (int64, bool) {
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	twice := new(big.Int).Lsh(new(big.Int).Abs(m), 1)
	if twice.Cmp(r.Denom()) >= 0 {
		q.Add(q, big.NewInt(int64(r.Num().Sign())))
	}
	return q.Int64(), q.IsInt64()
}

// formatDecimal writes a unit amount as Stripe returns unit_amount_decimal:
// without trailing zeros.
func formatDecimal(r *big.Rat) string {
	s := strings.TrimRight(r.FloatString(12), "0")
	return strings.TrimSuffix(s, ".")
}

// readPeriod reads period[start] and period[end], which go together.
func readPeriod(form url.Values) (p period, set bool, e *apiError) {
	start, startSet, e := formInt(form, "period[start]")
	if e != nil {
		return p, false, e
	}
	end, endSet, e := formInt(form, "period[end]")
	if e != nil {
		return p, false, e
	}
	switch {
	case startSet != endSet && !startSet:
		return p, false, missingParam("period[start]")
	case startSet != endSet:
		return p, false, missingParam("period[end]")
	case end < start:
		return p, false, invalidRequest("period[end]", "The period end must be greater than or equal to the period start.")
	}
	return period{Start: start, End: end}, startSet, nil
}

// readCurrency reads an optional currency, which Stripe accepts in any case
// and stores lower-case.
func readCurrency(form url.Values) (currency string, set bool, e *apiError) {
	currency, set = formString(form, "currency")
	if !set {
		return "", false, nil
	}
	currency = strings.ToLower(currency)
	if len(currency) != 3 || strings.Trim(currency, "abcdefghijklmnopqrstuvwxyz") != "" {
		return "", true, invalidRequest("currency", "Invalid currency: "+currency)
	}
	return currency, true, nil
}

func (s *Server) createInvoiceItem(c *call) (any, *apiError) {
	customerID, ok := formString(c.form, "customer")
	if !ok || customerID == "" {
		return nil, missingParam("customer")
	}
	pricing, e := readItemPricing(c.form)
	if e != nil {
		return nil, e
	}
	if pricing.unit == nil {
		return nil, missingParam("amount")
	}
	if !pricing.quantitySet {
		pricing.quantity = 1
	}
	currency, currencySet, e := readCurrency(c.form)
	if e != nil {
		return nil, e
	}
	per, perSet, e := readPeriod(c.form)
	if e != nil {
		return nil, e
	}
	invoiceID, _ := formNullable(c.form, "invoice")
	if _, e := s.liveCustomer(customerID, http.StatusBadRequest, "customer"); e != nil {
		return nil, e
	}
	var inv *invoice
	if invoiceID != nil {
		if inv, e = s.draftInvoiceFor(*invoiceID, customerID); e != nil {
			return nil, e
		}
		if !currencySet {
			// An item on an invoice takes the invoice's currency.
			currency = inv.Currency
		}
	}
	if !currencySet && inv == nil {
		currency = "usd"
	}
	if inv != nil && currency != inv.Currency {
		return nil, refused("currency", "The currency of an invoice item ("+currency+") must match the currency of its invoice ("+inv.Currency+").")
	}

	now := s.now.Unix()
	ii := &invoiceItem{
		ID:        newID("ii_", 24),
		Object:    "invoiceitem",
		Currency:  currency,
		Customer:  customerID,
		Date:      now,
		Discounts: []string{},
		Metadata:  mergeMetadata(map[string]string{}, c),
		Period:    period{Start: now, End: now},
		TaxRates:  []struct{}{},
	}
	if e := ii.price(pricing.unit, pricing.quantity); e != nil {
		return nil, e
	}
	if perSet {
		ii.Period = per
	}
	ii.Description, _ = formNullable(c.form, "description")
	if inv != nil {
		ii.createdFor = inv.ID
	}
	s.invoiceItems.add(ii.ID, ii)
	if inv != nil {
		before := inv.snapshot()
		inv.attachItem(ii)
		s.recordEvent("invoiceitem.created", ii.ID, ii, nil, c)
		s.invoiceUpdated(c, inv, before)
	} else {
		s.recordEvent("invoiceitem.created", ii.ID, ii, nil, c)
	}
	return s.renderInvoiceItem(ii, formList(c.form, "expand"))
}

func (s *Server) getInvoiceItem(c *call) (any, *apiError) {
	ii, e := s.liveInvoiceItem(c.pathParams["invoiceitem"])
	if e != nil {
		return nil, e
	}
	return s.renderInvoiceItem(ii, formList(c.form, "expand"))
}

// liveInvoiceItem finds an invoice item that was not deleted.
func (s *Server) liveInvoiceItem(id string) (*invoiceItem, *apiError) {
	ii, ok := s.invoiceItems.get(id)
	if !ok || ii.Deleted {
		return nil, s.invoiceItems.noSuch(http.StatusNotFound, id, "invoiceitem")
	}
	return ii, nil
}

// editableItem finds an invoice item that can still change: pending, or on
// a draft invoice (which it returns).
func (s *Server) editableItem(id string) (*invoiceItem, *invoice, *apiError) {
	ii, e := s.liveInvoiceItem(id)
	if e != nil {
		return nil, nil, e
	}
	if ii.Invoice == nil {
		return ii, nil, nil
	}
	inv, _ := s.invoices.get(*ii.Invoice)
	if inv.Status != invoiceDraft {
		e := refused("", "Invoice item "+ii.ID+" is on invoice "+inv.ID+", which is finalized. You can only change invoice items that are pending or on draft invoices.")
		return nil, nil, e.coded("invoice_not_editable")
	}
	return ii, inv, nil
}

func (s *Server) updateInvoiceItem(c *call) (any, *apiError) {
	pricing, e := readItemPricing(c.form)
	if e != nil {
		return nil, e
	}
	per, perSet, e := readPeriod(c.form)
	if e != nil {
		return nil, e
	}
	ii, inv, e := s.editableItem(c.pathParams["invoiceitem"])
	if e != nil {
		return nil, e
	}
	if pricing.unit == nil {
		pricing.unit = ii.unit
	}
	if !pricing.quantitySet {
		pricing.quantity = ii.Quantity
	}
	before := *ii
	before.Metadata = maps.Clone(ii.Metadata)
	var invBefore invoice
	if inv != nil {
		invBefore = inv.snapshot()
	}
	if e := ii.price(pricing.unit, pricing.quantity); e != nil {
		return nil, e
	}
	if perSet {
		ii.Period = per
	}
	if v, set := formNullable(c.form, "description"); set {
		ii.Description = v
	}
	ii.Metadata = mergeMetadata(ii.Metadata, c)
	if prev := previousAttributes(before, ii); len(prev) > 0 {
		s.recordEvent("invoiceitem.updated", ii.ID, ii, prev, c)
		if inv != nil {
			inv.refresh()
			s.invoiceUpdated(c, inv, invBefore)
		}
	}
	return s.renderInvoiceItem(ii, formList(c.form, "expand"))
}

func (s *Server) deleteInvoiceItem(c *call) (any, *apiError) {
	ii, inv, e := s.editableItem(c.pathParams["invoiceitem"])
	if e != nil {
		return nil, e
	}
	s.recordEvent("invoiceitem.deleted", ii.ID, ii, nil, c)
	ii.Deleted = true
	if inv != nil {
		before := inv.snapshot()
		inv.detachItem(ii)
		s.invoiceUpdated(c, inv, before)
	}
	return deletedObject{ID: ii.ID, Object: "invoiceitem", Deleted: true}, nil
}

func (s *Server) listInvoiceItems(c *call) (any, *apiError) {
	created, e := createdFilter(c.form)
	if e != nil {
		return nil, e
	}
	pending, e := formBool(c.form, "pending")
	if e != nil {
		return nil, e
	}
	_, byPending := formString(c.form, "pending")
	customerID, byCustomer := formString(c.form, "customer")
	invoiceID, byInvoice := formString(c.form, "invoice")
	return list(c, s.invoiceItems, func(ii *invoiceItem) bool {
		return !ii.Deleted && created(ii.Date) &&
			(!byCustomer || ii.Customer == customerID) &&
			(!byInvoice || deref(ii.Invoice) == invoiceID) &&
			(!byPending || pending == (ii.Invoice == nil))
	}, s.renderInvoiceItem)
}

func (s *Server) renderInvoiceItem(ii *invoiceItem, paths []string) (any, *apiError) {
	return expand(ii, paths, expanders{
		"customer": s.expandCustomer,
		"invoice":  s.expandInvoice,
	})
}
