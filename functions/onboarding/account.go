// Package onboarding holds the functions that make a user's payments account
// exist: GET /Account (the console's GetUser, which repairs a missing Stripe
// customer on the way but never fails because Stripe is down), POST
// /AccountSetup (idempotent: the customer exists afterwards, or 503), and
// OnUserActivated (Pub/Sub user-activated: record the account and try the
// customer). All of them go through customer.Ensure.
package onboarding

import (
	"context"
	"errors"
	"net/http"

	"example.com/billing/shared/account"
	"example.com/billing/shared/auth"
	"example.com/billing/shared/customer"
	"example.com/billing/shared/httpx"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/platform"
)

type customers interface {
	Ensure(ctx context.Context, userID, email string) (account.Account, error)
	EnsureNow(ctx context.Context, userID, email string) (account.Account, error)
}

// Server handles the account functions.
type Server struct {
	auth      httpx.Authenticator
	customers customers
}

// NewServer wires a Server. The authenticator may be nil for a server that
// only handles OnUserActivated.
func NewServer(a httpx.Authenticator, c customers) *Server {
	return &Server{auth: a, customers: c}
}

// NewAccount builds the Account function from the services.
func NewAccount(s *platform.Services) http.Handler {
	return NewServer(s.Verifier, s.Customers).Account()
}

// NewSetup builds the AccountSetup function from the services.
func NewSetup(s *platform.Services) http.Handler { return NewServer(s.Verifier, s.Customers).Setup() }

var (
	errUnavailable = httpx.Errorf(http.StatusServiceUnavailable, "payment_provider_unavailable", "The payment provider cannot be reached right now; your account is recorded and will be set up automatically. Please try again in a minute.")
	errStorage     = httpx.Errorf(http.StatusServiceUnavailable, "temporarily_unavailable", "Your account cannot be read right now; please try again in a minute.")
	// Any failure of Stripe's leaves the account recorded and pending.
	errs = httpx.Errors{Unavailable: errUnavailable, Rejected: errUnavailable, Storage: errStorage}
)

type accountResponse struct {
	UserID         string `json:"userId"`
	Email          string `json:"email"`
	PaymentsStatus string `json:"paymentsStatus"`
	CustomerID     string `json:"customerId"`
	Plan           string `json:"plan,omitempty"`
}

// isStripe reports a failure of Stripe's, as opposed to Firestore's.
func isStripe(err error) bool {
	var pe *payments.Error
	return errors.As(err, &pe)
}

// Account answers GET /Account.
func (s *Server) Account() http.Handler {
	return httpx.Console(s.auth, http.MethodGet, errs, s.handleAccount)
}

func (s *Server) handleAccount(_ http.ResponseWriter, r *http.Request, user auth.User) (any, error) {
	ctx := r.Context()
	// A person is waiting: a missing customer is tried at once, whatever
	// the sweep's backoff, so the page is ready as soon as Stripe is back;
	// only a burst (an attempt within customer.RetryGuard) is answered from
	// the record.
	acct, err := s.customers.EnsureNow(ctx, user.ID, user.Email)
	if err != nil && !errors.Is(err, customer.ErrNotDue) && !isStripe(err) {
		return nil, err
	}
	resp := accountResponse{UserID: user.ID, Email: acct.Email, PaymentsStatus: acct.PaymentsStatus, CustomerID: acct.CustomerID, Plan: acct.Plan}
	if resp.Email == "" {
		resp.Email = user.Email
	}
	if resp.PaymentsStatus == "" {
		resp.PaymentsStatus = customer.StatusPending
	}
	return resp, nil
}

type setupResponse struct {
	CustomerID     string `json:"customerId"`
	PaymentsStatus string `json:"paymentsStatus"`
}

// Setup answers POST /AccountSetup.
func (s *Server) Setup() http.Handler {
	return httpx.Console(s.auth, http.MethodPost, errs, s.handleSetup)
}

func (s *Server) handleSetup(w http.ResponseWriter, r *http.Request, user auth.User) (any, error) {
	if err := httpx.EmptyBody(w, r); err != nil {
		return nil, err
	}
	acct, err := s.customers.Ensure(r.Context(), user.ID, user.Email)
	if err != nil {
		return nil, err
	}
	return setupResponse{CustomerID: acct.CustomerID, PaymentsStatus: acct.PaymentsStatus}, nil
}

// NewUserActivated builds OnUserActivated from the services; it verifies no
// console token.
func NewUserActivated(s *platform.Services) platform.EventHandler {
	return NewServer(nil, s.Customers).UserActivated
}
