package httpx

import (
	"errors"
	"net/http"

	"example.com/billing/shared/auth"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
)

// Authenticator verifies the bearer token of a console request.
type Authenticator interface {
	Authenticate(r *http.Request) (auth.User, error)
}

// HandleFunc does one console function's work for an authenticated user and
// returns the 200 answer's body, or an error for Errors.Map. w is there only
// to bound the request body (http.MaxBytesReader); the edge writes the answer.
type HandleFunc func(w http.ResponseWriter, r *http.Request, user auth.User) (any, error)

// Console is the HTTP edge of every console function: it answers a method
// other than method with 405, verifies the bearer token (401), labels the
// request's logger with the user id, runs handle, and writes its answer or
// its error as errs maps it.
func Console(a Authenticator, method string, errs Errors, handle HandleFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := func() (any, error) {
			if err := Method(r, method); err != nil {
				return nil, err
			}
			user, err := a.Authenticate(r)
			if err != nil {
				return nil, err
			}
			ctx := logging.WithLogger(r.Context(), logging.FromContext(r.Context()).With("user_id", user.ID))
			return handle(w, r.WithContext(ctx), user)
		}()
		if err != nil {
			w.Header().Del("Cache-Control") // an error is never cached
			WriteError(w, r, errs.Map(err))
			return
		}
		WriteJSON(w, http.StatusOK, resp)
	})
}

// Errors is one function's mapping from an error to the contract's answer:
// the base rules every console function shares, with the function's own
// sentences and the few overrides its contract names.
type Errors struct {
	// Is answers the function's own sentinel errors (errors.Is), first.
	Is []Rule
	// As answers a typed error of the function's (nil when it does not
	// match), after Is.
	As func(err error) *Error
	// Unavailable answers Stripe being unreachable or misconfigured
	// (default: 503 payment_provider_unavailable).
	Unavailable *Error
	// Rejected answers Stripe refusing a request or missing an object
	// (default: 502 payment_provider_unavailable).
	Rejected *Error
	// Storage answers everything else, which is Firestore failing
	// (default: 503 temporarily_unavailable).
	Storage *Error
}

// Rule answers errors that match Err with Answer.
type Rule struct {
	Err    error
	Answer *Error
}

var (
	errProviderUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: "payment_provider_unavailable", Message: "The payment provider cannot be reached right now. Please try again in a minute."}
	errProviderRejected    = &Error{Status: http.StatusBadGateway, Code: "payment_provider_unavailable", Message: "The payment provider refused the request. Please try again later or contact support."}
	errStorage             = &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Message: "This cannot be done right now; please try again in a minute."}
	errKeyReused           = &Error{Status: http.StatusConflict, Code: "idempotency_key_reused", Message: "This Idempotency-Key was already used for a different request; use a new key for a new payment."}
	errBadPageToken        = &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: "pageToken is not one this service issued; start again without it."}
)

// Map turns err into the answer the client gets: an *Error passes as is; a
// failed token is 401; then the function's own rules; then the Stripe port's
// and the ledger's errors by their kind; anything else is a storage failure.
// The cause is kept for the log.
func (m Errors) Map(err error) error {
	var he *Error
	var pe *payments.Error
	if errors.As(err, &he) {
		return err
	}
	if errors.Is(err, auth.ErrUnauthenticated) {
		return ErrUnauthenticated.WithCause(err)
	}
	for _, rule := range m.Is {
		if errors.Is(err, rule.Err) {
			return rule.Answer.WithCause(err)
		}
	}
	if m.As != nil {
		if answer := m.As(err); answer != nil {
			return answer.WithCause(err)
		}
	}
	switch {
	case errors.Is(err, ledger.ErrConflict):
		return errKeyReused.WithCause(err)
	case errors.Is(err, ledger.ErrBadPageToken):
		return errBadPageToken.WithCause(err)
	case errors.Is(err, payments.ErrCardDeclined) && errors.As(err, &pe):
		msg := pe.Message
		if msg == "" {
			msg = "Your card was declined."
		}
		return Errorf(http.StatusPaymentRequired, "card_declined", "%s Nothing was charged; try another card.", msg).WithCause(err)
	case errors.Is(err, payments.ErrUnavailable), errors.Is(err, payments.ErrMisconfigured):
		return or(m.Unavailable, errProviderUnavailable).WithCause(err)
	case errors.Is(err, payments.ErrRejected), errors.Is(err, payments.ErrNotFound):
		return or(m.Rejected, errProviderRejected).WithCause(err)
	default:
		return or(m.Storage, errStorage).WithCause(err)
	}
}

func or(e, fallback *Error) *Error {
	if e != nil {
		return e
	}
	return fallback
}
