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
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
)

type (
	authenticator interface {
		Authenticate(r *http.Request) (auth.User, error)
	}
	customers interface {
		Ensure(ctx context.Context, userID, email string) (account.Account, error)
		EnsureIfDue(ctx context.Context, userID, email string) (account.Account, error)
	}
)

// Server handles the account functions.
type Server struct {
	auth      authenticator
	customers customers
}

// NewServer wires a Server.
func NewServer(a authenticator, c customers) *Server {
	return &Server{auth: a, customers: c}
}

var (
	errUnavailable = httpx.Errorf(http.StatusServiceUnavailable, "payment_provider_unavailable", "The payment provider cannot be reached right now; your account is recorded and will be set up automatically. Please try again in a minute.")
	errStorage     = httpx.Errorf(http.StatusServiceUnavailable, "temporarily_unavailable", "Your account cannot be read right now; please try again in a minute.")
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := s.handleAccount(r)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, resp)
	})
}

func (s *Server) handleAccount(r *http.Request) (accountResponse, error) {
	if err := httpx.Method(r, http.MethodGet); err != nil {
		return accountResponse{}, err
	}
	user, err := s.auth.Authenticate(r)
	if err != nil {
		return accountResponse{}, err
	}
	ctx := logging.WithLogger(r.Context(), logging.FromContext(r.Context()).With("user_id", user.ID))
	// A page load must stay fast while Stripe is down: the account is tried
	// again only once its backoff has passed (the sweep covers the rest).
	acct, err := s.customers.EnsureIfDue(ctx, user.ID, user.Email)
	if err != nil && !errors.Is(err, customer.ErrNotDue) && !isStripe(err) {
		return accountResponse{}, errStorage.WithCause(err)
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := s.handleSetup(w, r)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, resp)
	})
}

func (s *Server) handleSetup(w http.ResponseWriter, r *http.Request) (setupResponse, error) {
	if err := httpx.Method(r, http.MethodPost); err != nil {
		return setupResponse{}, err
	}
	user, err := s.auth.Authenticate(r)
	if err != nil {
		return setupResponse{}, err
	}
	if err := httpx.EmptyBody(w, r); err != nil {
		return setupResponse{}, err
	}
	ctx := logging.WithLogger(r.Context(), logging.FromContext(r.Context()).With("user_id", user.ID))
	acct, err := s.customers.Ensure(ctx, user.ID, user.Email)
	switch {
	case err != nil && isStripe(err):
		return setupResponse{}, errUnavailable.WithCause(err)
	case err != nil:
		return setupResponse{}, errStorage.WithCause(err)
	}
	return setupResponse{CustomerID: acct.CustomerID, PaymentsStatus: acct.PaymentsStatus}, nil
}
