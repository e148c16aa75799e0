package stripetest

import (
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// customer is a Stripe customer in its wire shape.
type customer struct {
	ID       string            `json:"id"`
	Object   string            `json:"object"`
	Balance  int64             `json:"balance"`
	Created  int64             `json:"created"`
	Currency *string           `json:"currency"`
	Email    *string           `json:"email"`
	Livemode bool              `json:"livemode"`
	Metadata map[string]string `json:"metadata"`
}

func (s *Server) customerRoutes() []route {
	return []route{
		{http.MethodPost, "/v1/customers", []string{"email", "metadata[*]"}, s.createCustomer},
		{http.MethodGet, "/v1/customers/search", searchParams, s.searchCustomers},
		{http.MethodDelete, "/v1/customers/{customer}", nil, s.deleteCustomer},
	}
}

// deleteCustomer deletes a customer as a dashboard user or an integration
// may: it emits customer.deleted, and from then on the id names no
// customer (using it is resource_missing).
func (s *Server) deleteCustomer(c *call) (any, *apiError) {
	cu, e := s.customers.lookup(c, "customer")
	if e != nil {
		return nil, e
	}
	s.customers.remove(cu.ID)
	deleted := map[string]any{"id": cu.ID, "object": "customer", "deleted": true}
	s.recordEvent("customer.deleted", cu.ID, cu)
	return deleted, nil
}

// Customers returns every customer created, oldest first.
func (s *Server) Customers() []*stripe.Customer {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*stripe.Customer
	for _, cu := range s.customers.all() {
		out = append(out, decode[stripe.Customer](cu))
	}
	return out
}

func (s *Server) createCustomer(c *call) (any, *apiError) {
	email := formNullable(c.form, "email")
	if email != nil && !validEmail(*email) {
		return nil, invalidRequest("email", "Invalid email address: "+*email).coded("email_invalid")
	}
	cu := &customer{
		ID:       newID("cus_", 14),
		Object:   "customer",
		Created:  s.now.Unix(),
		Email:    email,
		Metadata: metadata(c.form),
	}
	s.customers.add(cu.ID, cu)
	return cu, nil
}

func (s *Server) searchCustomers(c *call) (any, *apiError) {
	query, _ := formString(c.form, "query")
	match, e := matcher(query, func(cu *customer) map[string]string { return cu.Metadata }, nil)
	if e != nil {
		return nil, e
	}
	return search(c, s.customers, match)
}

// findCustomer finds the customer a parameter names.
func (s *Server) findCustomer(id string, param string) (*customer, *apiError) {
	cu, ok := s.customers.get(id)
	if !ok {
		return nil, s.customers.noSuch(http.StatusBadRequest, id, param)
	}
	return cu, nil
}

// validEmail is the format check Stripe makes on a customer's email before
// creating anything.
func validEmail(email string) bool {
	local, domain, ok := strings.Cut(email, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(email, " \t\n") && !strings.Contains(domain, "@")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
