package stripetest

import (
	"maps"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// customer is a Stripe customer in its wire shape. Fields the double never
// sets are kept so payloads look like Stripe's (null, not absent).
type customer struct {
	ID                  string                  `json:"id"`
	Object              string                  `json:"object"`
	Address             *struct{}               `json:"address"`
	Balance             int64                   `json:"balance"`
	Created             int64                   `json:"created"`
	Currency            *string                 `json:"currency"`
	DefaultSource       *string                 `json:"default_source"`
	Delinquent          bool                    `json:"delinquent"`
	Description         *string                 `json:"description"`
	Discount            *struct{}               `json:"discount"`
	Email               *string                 `json:"email"`
	InvoicePrefix       string                  `json:"invoice_prefix"`
	InvoiceSettings     customerInvoiceSettings `json:"invoice_settings"`
	Livemode            bool                    `json:"livemode"`
	Metadata            map[string]string       `json:"metadata"`
	Name                *string                 `json:"name"`
	NextInvoiceSequence int64                   `json:"next_invoice_sequence"`
	Phone               *string                 `json:"phone"`
	PreferredLocales    []string                `json:"preferred_locales"`
	Shipping            *struct{}               `json:"shipping"`
	TaxExempt           string                  `json:"tax_exempt"`
	TestClock           *string                 `json:"test_clock"`
	// Deleted is only ever true; Stripe omits it from live customers.
	Deleted bool `json:"deleted,omitempty"`
}

type customerInvoiceSettings struct {
	CustomFields         []struct{} `json:"custom_fields"`
	DefaultPaymentMethod *string    `json:"default_payment_method"`
	Footer               *string    `json:"footer"`
	RenderingOptions     *struct{}  `json:"rendering_options"`
}

// deletedObject is what Stripe returns for a deleted object, both from the
// DELETE and from later retrievals.
type deletedObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

func (s *Server) customerRoutes() []route {
	return []route{
		{http.MethodPost, "/v1/customers", s.createCustomer},
		{http.MethodGet, "/v1/customers", s.listCustomers},
		{http.MethodGet, "/v1/customers/search", s.searchCustomers},
		{http.MethodGet, "/v1/customers/{id}", s.getCustomer},
		{http.MethodPost, "/v1/customers/{id}", s.updateCustomer},
		{http.MethodDelete, "/v1/customers/{id}", s.deleteCustomer},
	}
}

// Customers returns every customer created, oldest first, including
// deleted ones (with Deleted set and their last field values).
func (s *Server) Customers() []*stripe.Customer {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*stripe.Customer
	for _, cu := range s.customers.all() {
		out = append(out, decode[stripe.Customer](cu))
	}
	return out
}

// Customer returns the customer with id, deleted or not.
func (s *Server) Customer(id string) (*stripe.Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cu, ok := s.customers.get(id)
	if !ok {
		return nil, false
	}
	return decode[stripe.Customer](cu), true
}

func (s *Server) createCustomer(c *call) (any, *apiError) {
	if e := validateEmail(c); e != nil {
		return nil, e
	}
	if e := refuseBalance(c); e != nil {
		return nil, e
	}
	// payment_method attaches a card to the new customer, which is what
	// lets invoice_settings[default_payment_method] name it.
	var pm *paymentMethod
	if id, _ := formNullable(c.form, "payment_method"); id != nil {
		var e *apiError
		if pm, e = s.lookupPaymentMethod(*id, http.StatusBadRequest, "payment_method"); e != nil {
			return nil, e
		}
		if pm.Customer != nil {
			return nil, refused("payment_method", "The payment method you provided has already been attached to a customer.")
		}
	}
	cu := &customer{
		ID:                  newID("cus_", 14),
		Object:              "customer",
		Created:             s.now.Unix(),
		InvoicePrefix:       strings.ToUpper(newID("", 8)),
		Metadata:            map[string]string{},
		NextInvoiceSequence: 1,
		PreferredLocales:    []string{},
		TaxExempt:           "none",
	}
	defaultPM, setDefault, e := s.readDefaultPaymentMethod(cu, c, pm)
	if e != nil {
		return nil, e
	}
	applyCustomerParams(cu, c)
	if setDefault {
		cu.InvoiceSettings.DefaultPaymentMethod = defaultPM
	}
	s.customers.add(cu.ID, cu)
	s.recordEvent("customer.created", cu.ID, cu, nil, c)
	if pm != nil {
		s.attach(c, pm, cu.ID)
	}
	return s.renderCustomer(cu, formList(c.form, "expand"))
}

func (s *Server) getCustomer(c *call) (any, *apiError) {
	cu, ok := s.customers.get(c.pathParams["id"])
	if !ok {
		return nil, s.customers.noSuch(http.StatusNotFound, c.pathParams["id"], "id")
	}
	return s.renderCustomer(cu, formList(c.form, "expand"))
}

func (s *Server) updateCustomer(c *call) (any, *apiError) {
	cu, e := s.liveCustomer(c.pathParams["id"], http.StatusNotFound, "id")
	if e != nil {
		return nil, e
	}
	if e := validateEmail(c); e != nil {
		return nil, e
	}
	if e := refuseBalance(c); e != nil {
		return nil, e
	}
	defaultPM, setDefault, e := s.readDefaultPaymentMethod(cu, c, nil)
	if e != nil {
		return nil, e
	}
	before := cu.snapshot()
	applyCustomerParams(cu, c)
	if setDefault {
		cu.InvoiceSettings.DefaultPaymentMethod = defaultPM
	}
	if prev := previousAttributes(before, cu); len(prev) > 0 {
		s.recordEvent("customer.updated", cu.ID, cu, prev, c)
	}
	return s.renderCustomer(cu, formList(c.form, "expand"))
}

func (s *Server) deleteCustomer(c *call) (any, *apiError) {
	cu, e := s.liveCustomer(c.pathParams["id"], http.StatusNotFound, "id")
	if e != nil {
		return nil, e
	}
	// The event carries the customer as it was, not the deletion stub.
	s.recordEvent("customer.deleted", cu.ID, cu, nil, c)
	cu.Deleted = true
	return deletedObject{ID: cu.ID, Object: "customer", Deleted: true}, nil
}

func (s *Server) listCustomers(c *call) (any, *apiError) {
	created, e := createdFilter(c.form)
	if e != nil {
		return nil, e
	}
	email, byEmail := formString(c.form, "email")
	return list(c, s.customers, func(cu *customer) bool {
		return !cu.Deleted && created(cu.Created) && (!byEmail || deref(cu.Email) == email)
	}, s.renderCustomer)
}

func (s *Server) searchCustomers(c *call) (any, *apiError) {
	query, ok := formString(c.form, "query")
	if !ok {
		return nil, missingParam("query")
	}
	match, e := searchSchema[customer]{
		fields: map[string]func(*customer) string{
			"email": func(cu *customer) string { return deref(cu.Email) },
			"name":  func(cu *customer) string { return deref(cu.Name) },
		},
		metadata: func(cu *customer) map[string]string { return cu.Metadata },
	}.matcher(query)
	if e != nil {
		return nil, e
	}
	return search(c, s.customers, func(cu *customer) bool { return !cu.Deleted && match(cu) }, s.renderCustomer)
}

// snapshot copies cu deeply enough to diff it after a change.
func (cu *customer) snapshot() customer {
	before := *cu
	before.Metadata = maps.Clone(cu.Metadata)
	return before
}

// readDefaultPaymentMethod reads invoice_settings[default_payment_method],
// which must name a payment method attached to cu (or attaching, about to
// be); an empty value unsets it.
func (s *Server) readDefaultPaymentMethod(cu *customer, c *call, attaching *paymentMethod) (id *string, set bool, e *apiError) {
	const param = "invoice_settings[default_payment_method]"
	id, set = formNullable(c.form, param)
	if id == nil {
		return nil, set, nil
	}
	pm, ok := s.paymentMethods.get(*id)
	if (ok && deref(pm.Customer) == cu.ID) || (attaching != nil && attaching.ID == *id) {
		return id, true, nil
	}
	e = refused(param, "The customer does not have a payment method with the ID "+*id+". The payment method must be attached to the customer.")
	return nil, true, e.coded("resource_missing")
}

// liveCustomer finds a customer that exists and is not deleted; Stripe
// treats a deleted customer as missing everywhere but retrieval.
func (s *Server) liveCustomer(id string, status int, param string) (*customer, *apiError) {
	cu, ok := s.customers.get(id)
	if !ok || cu.Deleted {
		return nil, s.customers.noSuch(status, id, param)
	}
	return cu, nil
}

// customerView is the customer as the API shows it: deleted customers are
// reduced to the deletion stub.
func customerView(cu *customer) any {
	if cu.Deleted {
		return deletedObject{ID: cu.ID, Object: "customer", Deleted: true}
	}
	return cu
}

// renderCustomer answers with a customer. None of its expandable fields
// (default_source, test_clock, ...) is modelled, so any expand is refused.
func (s *Server) renderCustomer(cu *customer, paths []string) (any, *apiError) {
	return expand(customerView(cu), paths, nil)
}

// applyCustomerParams sets the fields a create or update sends. Metadata
// merges: an empty value removes its key, and metadata= removes them all.
func applyCustomerParams(cu *customer, c *call) {
	for name, field := range map[string]**string{
		"email":       &cu.Email,
		"name":        &cu.Name,
		"description": &cu.Description,
		"phone":       &cu.Phone,
	} {
		if v, set := formNullable(c.form, name); set {
			*field = v
		}
	}
	cu.Metadata = mergeMetadata(cu.Metadata, c)
}

// mergeMetadata applies a request's metadata parameters to m, as every
// Stripe object with metadata does.
func mergeMetadata(m map[string]string, c *call) map[string]string {
	updates, clear := formMap(c.form, "metadata")
	if clear {
		m = map[string]string{}
	}
	for k, v := range updates {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

// refuseBalance rejects setting a customer's balance directly, which
// Stripe records in the balance's ledger in ways the double does not model;
// balance transactions move it instead.
func refuseBalance(c *call) *apiError {
	if _, ok := formString(c.form, "balance"); ok {
		return unsupported("balance", "setting a customer's balance directly (create a customer balance transaction instead)")
	}
	return nil
}

// validateEmail applies the format check Stripe makes on a customer's
// email before creating or changing anything.
func validateEmail(c *call) *apiError {
	email, _ := formString(c.form, "email")
	if email == "" {
		return nil
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(email, " \t\n") || strings.Contains(domain, "@") {
		return invalidRequest("email", "Invalid email address: "+email).coded("email_invalid")
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
