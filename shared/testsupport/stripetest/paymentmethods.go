package stripetest

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// paymentMethod is a card PaymentMethod in its wire shape. The double only
// models cards: every pm_ id is one (see testPaymentMethods for how each
// behaves when charged).
type paymentMethod struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	BillingDetails billingDetails    `json:"billing_details"`
	Card           card              `json:"card"`
	Created        int64             `json:"created"`
	Customer       *string           `json:"customer"`
	Livemode       bool              `json:"livemode"`
	Metadata       map[string]string `json:"metadata"`
	Type           string            `json:"type"`
}

type billingDetails struct {
	Address address `json:"address"`
	Email   *string `json:"email"`
	Name    *string `json:"name"`
	Phone   *string `json:"phone"`
}

type address struct {
	City       *string `json:"city"`
	Country    *string `json:"country"`
	Line1      *string `json:"line1"`
	Line2      *string `json:"line2"`
	PostalCode *string `json:"postal_code"`
	State      *string `json:"state"`
}

type card struct {
	Brand             string            `json:"brand"`
	Checks            cardChecks        `json:"checks"`
	Country           string            `json:"country"`
	DisplayBrand      string            `json:"display_brand"`
	ExpMonth          int64             `json:"exp_month"`
	ExpYear           int64             `json:"exp_year"`
	Fingerprint       string            `json:"fingerprint"`
	Funding           string            `json:"funding"`
	GeneratedFrom     *struct{}         `json:"generated_from"`
	Last4             string            `json:"last4"`
	Networks          cardNetworks      `json:"networks"`
	ThreeDSecureUsage threeDSecureUsage `json:"three_d_secure_usage"`
	Wallet            *struct{}         `json:"wallet"`
}

type cardChecks struct {
	AddressLine1Check      *string `json:"address_line1_check"`
	AddressPostalCodeCheck *string `json:"address_postal_code_check"`
	CVCCheck               *string `json:"cvc_check"`
}

type cardNetworks struct {
	Available []string `json:"available"`
	Preferred *string  `json:"preferred"`
}

type threeDSecureUsage struct {
	Supported bool `json:"supported"`
}

// cardBrands are the test payment methods that are not a Visa ending in
// 4242.
var cardBrands = map[string]struct{ brand, last4 string }{
	"pm_card_mastercard": {"mastercard", "4444"},
}

func (s *Server) paymentMethodRoutes() []route {
	return []route{
		{http.MethodGet, "/v1/payment_methods", s.listPaymentMethods},
		{http.MethodGet, "/v1/payment_methods/{payment_method}", s.getPaymentMethod},
		{http.MethodPost, "/v1/payment_methods/{payment_method}/attach", s.attachPaymentMethod},
		{http.MethodPost, "/v1/payment_methods/{payment_method}/detach", s.detachPaymentMethod},
		{http.MethodGet, "/v1/customers/{customer}/payment_methods", s.listCustomerPaymentMethods},
		{http.MethodGet, "/v1/customers/{customer}/payment_methods/{payment_method}", s.getCustomerPaymentMethod},
	}
}

// AttachPaymentMethod attaches a card to a customer outside the API, as
// when the customer saves it in a Checkout or Elements form:
// payment_method.attached is recorded. Like the attach endpoint, it accepts
// any pm_ id, and attaching a method the customer already has changes
// nothing.
func (s *Server) AttachPaymentMethod(customerID, pmID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e := s.liveCustomer(customerID, http.StatusBadRequest, "customer"); e != nil {
		return fmt.Errorf("stripetest: no customer %q", customerID)
	}
	if !strings.HasPrefix(pmID, "pm_") {
		return fmt.Errorf("stripetest: %q is not a PaymentMethod id", pmID)
	}
	if e := s.attach(nil, s.paymentMethodFor(pmID), customerID); e != nil {
		return fmt.Errorf("stripetest: %s", e.Message)
	}
	return nil
}

// PaymentMethods returns the payment methods attached to a customer, in
// the order the double first saw them.
func (s *Server) PaymentMethods(customerID string) []*stripe.PaymentMethod {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*stripe.PaymentMethod
	for _, pm := range s.paymentMethods.all() {
		if deref(pm.Customer) == customerID {
			out = append(out, decode[stripe.PaymentMethod](pm))
		}
	}
	return out
}

// paymentMethodFor returns the PaymentMethod with id, creating it, not
// attached to anyone, the first time the double sees the id. Stripe's test
// payment methods (pm_card_visa, ...) exist in every account, and the
// double treats every other pm_ id the same way.
func (s *Server) paymentMethodFor(id string) *paymentMethod {
	if pm, ok := s.paymentMethods.get(id); ok {
		return pm
	}
	brand, last4 := "visa", "4242"
	if b, ok := cardBrands[id]; ok {
		brand, last4 = b.brand, b.last4
	}
	pass := "pass"
	pm := &paymentMethod{
		ID:     id,
		Object: "payment_method",
		Card: card{
			Brand:        brand,
			Checks:       cardChecks{CVCCheck: &pass},
			Country:      "US",
			DisplayBrand: brand,
			ExpMonth:     12,
			ExpYear:      int64(s.now.Year() + 3),
			Fingerprint:  fingerprint(brand + last4),
			Funding:      "credit",
			Last4:        last4,
			Networks:     cardNetworks{Available: []string{brand}},
			ThreeDSecureUsage: threeDSecureUsage{
				Supported: true,
			},
		},
		Created:  s.now.Unix(),
		Metadata: map[string]string{},
		Type:     "card",
	}
	s.paymentMethods.add(id, pm)
	return pm
}

// fingerprint is a stable stand-in for Stripe's card fingerprint: the same
// card number always gets the same one.
func fingerprint(card string) string {
	b := make([]byte, 16)
	for i := range b {
		h := fnv.New32a()
		fmt.Fprintf(h, "%s/%d", card, i)
		b[i] = idAlphabet[h.Sum32()%uint32(len(idAlphabet))]
	}
	return string(b)
}

// lookupPaymentMethod resolves a pm_ id in a path or parameter. Ids that
// cannot name a PaymentMethod get Stripe's resource_missing.
func (s *Server) lookupPaymentMethod(id string, status int, param string) (*paymentMethod, *apiError) {
	if !strings.HasPrefix(id, "pm_") {
		return nil, s.paymentMethods.noSuch(status, id, param)
	}
	return s.paymentMethodFor(id), nil
}

func (s *Server) getPaymentMethod(c *call) (any, *apiError) {
	pm, e := s.lookupPaymentMethod(c.pathParams["payment_method"], http.StatusNotFound, "payment_method")
	if e != nil {
		return nil, e
	}
	return s.renderPaymentMethod(pm, formList(c.form, "expand"))
}

func (s *Server) attachPaymentMethod(c *call) (any, *apiError) {
	customerID, ok := formString(c.form, "customer")
	if !ok || customerID == "" {
		return nil, missingParam("customer")
	}
	pm, e := s.lookupPaymentMethod(c.pathParams["payment_method"], http.StatusNotFound, "payment_method")
	if e != nil {
		return nil, e
	}
	if _, e := s.liveCustomer(customerID, http.StatusBadRequest, "customer"); e != nil {
		return nil, e
	}
	if e := s.attach(c, pm, customerID); e != nil {
		return nil, e
	}
	return s.renderPaymentMethod(pm, formList(c.form, "expand"))
}

// attach attaches pm to a live customer. Attaching it again to the same
// customer is a no-op, as in Stripe; a method attached to someone else
// cannot move.
func (s *Server) attach(c *call, pm *paymentMethod, customerID string) *apiError {
	switch deref(pm.Customer) {
	case customerID:
		return nil
	case "":
		pm.Customer = &customerID
		s.recordEvent("payment_method.attached", pm.ID, pm, nil, c)
		return nil
	}
	return refused("", "The payment method you provided has already been attached to a customer.")
}

func (s *Server) detachPaymentMethod(c *call) (any, *apiError) {
	pm, e := s.lookupPaymentMethod(c.pathParams["payment_method"], http.StatusNotFound, "payment_method")
	if e != nil {
		return nil, e
	}
	if pm.Customer == nil {
		return nil, refused("", "The payment method you provided is not attached to a customer so detachment is impossible.")
	}
	customerID := *pm.Customer
	pm.Customer = nil
	// A customer's default payment method stops being its default when it
	// leaves the customer.
	if cu, ok := s.customers.get(customerID); ok && deref(cu.InvoiceSettings.DefaultPaymentMethod) == pm.ID {
		before := cu.snapshot()
		cu.InvoiceSettings.DefaultPaymentMethod = nil
		if !cu.Deleted {
			s.recordEvent("customer.updated", cu.ID, cu, previousAttributes(before, cu), c)
		}
	}
	s.recordEvent("payment_method.detached", pm.ID, pm, map[string]any{"customer": customerID}, c)
	return s.renderPaymentMethod(pm, formList(c.form, "expand"))
}

// listPaymentMethods lists a customer's payment methods; the double has
// no others to list (Stripe lists Treasury methods without a customer).
func (s *Server) listPaymentMethods(c *call) (any, *apiError) {
	customerID, ok := formString(c.form, "customer")
	if !ok {
		return nil, unsupported("customer", "listing payment methods without a customer")
	}
	if _, e := s.liveCustomer(customerID, http.StatusBadRequest, "customer"); e != nil {
		return nil, e
	}
	return s.customerPaymentMethods(c, customerID)
}

func (s *Server) listCustomerPaymentMethods(c *call) (any, *apiError) {
	customerID := c.pathParams["customer"]
	if _, e := s.liveCustomer(customerID, http.StatusNotFound, "customer"); e != nil {
		return nil, e
	}
	return s.customerPaymentMethods(c, customerID)
}

// customerPaymentMethods answers a list of a customer's payment methods,
// filtered by type; every method is a card.
func (s *Server) customerPaymentMethods(c *call, customerID string) (any, *apiError) {
	typ, byType := formString(c.form, "type")
	return list(c, s.paymentMethods, func(pm *paymentMethod) bool {
		return deref(pm.Customer) == customerID && (!byType || typ == pm.Type)
	}, s.renderPaymentMethod)
}

func (s *Server) getCustomerPaymentMethod(c *call) (any, *apiError) {
	customerID := c.pathParams["customer"]
	if _, e := s.liveCustomer(customerID, http.StatusNotFound, "customer"); e != nil {
		return nil, e
	}
	id := c.pathParams["payment_method"]
	pm, ok := s.paymentMethods.get(id)
	if !ok || deref(pm.Customer) != customerID {
		return nil, s.paymentMethods.noSuch(http.StatusNotFound, id, "payment_method")
	}
	return s.renderPaymentMethod(pm, formList(c.form, "expand"))
}

func (s *Server) renderPaymentMethod(pm *paymentMethod, paths []string) (any, *apiError) {
	return expand(pm, paths, expanders{"customer": s.expandCustomer})
}

// expandCustomer is the expander of every customer reference.
func (s *Server) expandCustomer(id string) any {
	if cu, ok := s.customers.get(id); ok {
		return customerView(cu)
	}
	return id
}
