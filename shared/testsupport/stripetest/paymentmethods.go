package stripetest

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// paymentMethod is a card PaymentMethod in its wire shape. The double only
// models cards: every pm_ id is one (see testCards for how each behaves when
// charged).
type paymentMethod struct {
	ID       string  `json:"id"`
	Object   string  `json:"object"`
	Card     card    `json:"card"`
	Created  int64   `json:"created"`
	Customer *string `json:"customer"`
	Livemode bool    `json:"livemode"`
	Type     string  `json:"type"`
}

type card struct {
	Brand string `json:"brand"`
	Last4 string `json:"last4"`
}

func (s *Server) paymentMethodRoutes() []route {
	return []route{
		{http.MethodGet, "/v1/payment_methods", append([]string{"customer", "type"}, listParams...), s.listPaymentMethods},
		{http.MethodGet, "/v1/payment_methods/{payment_method}", nil, s.getPaymentMethod},
		{http.MethodPost, "/v1/payment_methods/{payment_method}/detach", nil, s.detachPaymentMethod},
	}
}

// AttachPaymentMethod attaches a card to a customer outside the API, as
// when the customer saves it in a Checkout or Elements form. It accepts any
// pm_ id, and attaching a method the customer already has changes nothing.
func (s *Server) AttachPaymentMethod(customerID, pmID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.customers.get(customerID); !ok {
		return fmt.Errorf("stripetest: no customer %q", customerID)
	}
	if !strings.HasPrefix(pmID, "pm_") {
		return fmt.Errorf("stripetest: %q is not a PaymentMethod id", pmID)
	}
	pm := s.paymentMethodFor(pmID)
	if pm.Customer != nil && *pm.Customer != customerID {
		return fmt.Errorf("stripetest: %s is attached to another customer", pmID)
	}
	pm.Customer = &customerID
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
	pm := &paymentMethod{ID: id, Object: "payment_method", Card: card{Brand: "visa", Last4: "4242"}, Created: s.now.Unix(), Type: "card"}
	s.paymentMethods.add(id, pm)
	return pm
}

// lookupPaymentMethod resolves the pm_ id in a path. Ids that cannot name
// a PaymentMethod get Stripe's resource_missing.
func (s *Server) lookupPaymentMethod(c *call) (*paymentMethod, *apiError) {
	id := c.pathParams["payment_method"]
	if !strings.HasPrefix(id, "pm_") {
		return nil, s.paymentMethods.noSuch(http.StatusNotFound, id, "payment_method")
	}
	return s.paymentMethodFor(id), nil
}

func (s *Server) getPaymentMethod(c *call) (any, *apiError) {
	return s.lookupPaymentMethod(c)
}

func (s *Server) detachPaymentMethod(c *call) (any, *apiError) {
	pm, e := s.lookupPaymentMethod(c)
	if e != nil {
		return nil, e
	}
	if pm.Customer == nil {
		return nil, refused("", "The payment method you provided is not attached to a customer so detachment is impossible.")
	}
	pm.Customer = nil
	return pm, nil
}

// listPaymentMethods lists a customer's payment methods of a type; every
// method is a card.
func (s *Server) listPaymentMethods(c *call) (any, *apiError) {
	customerID, ok := formString(c.form, "customer")
	if !ok {
		return nil, unsupported("customer", "listing payment methods without a customer")
	}
	if _, e := s.findCustomer(customerID, "customer"); e != nil {
		return nil, e
	}
	typ, byType := formString(c.form, "type")
	return list(c, s.paymentMethods, func(pm *paymentMethod) bool {
		return deref(pm.Customer) == customerID && (!byType || typ == pm.Type)
	})
}
