// Package balance is the Balance function: a console user's prepaid balance
// and their transaction history, newest first, a page at a time.
package balance

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"example.com/billing/shared/auth"
	"example.com/billing/shared/httpx"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/platform"
)

// Page sizes, after Google's AIP-158: a missing size gets the default, a
// larger one is lowered to the maximum.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

type (
	authenticator interface {
		Authenticate(r *http.Request) (auth.User, error)
	}
	history interface {
		Balance(ctx context.Context, userID string) (ledger.Balance, error)
		History(ctx context.Context, userID string, pageSize int, pageToken string) (ledger.Page, error)
	}
)

// Server handles Balance requests.
type Server struct {
	auth   authenticator
	ledger history
}

// NewServer wires a Server.
func NewServer(a authenticator, l history) *Server { return &Server{auth: a, ledger: l} }

type money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type transaction struct {
	ID              string    `json:"id"`
	Type            string    `json:"type"`
	Amount          int64     `json:"amount"`
	Currency        string    `json:"currency"`
	Status          string    `json:"status"`
	PaymentIntentID string    `json:"paymentIntentId,omitempty"`
	FailureCode     string    `json:"failureCode,omitempty"`
	FailureMessage  string    `json:"failureMessage,omitempty"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

type response struct {
	Balance       money         `json:"balance"`
	Transactions  []transaction `json:"transactions"`
	NextPageToken string        `json:"nextPageToken"`
}

var errBadPageSize = httpx.Errorf(http.StatusBadRequest, "invalid_request", "pageSize must be a whole number from 1 to %d.", maxPageSize)
var errBadPageToken = httpx.Errorf(http.StatusBadRequest, "invalid_request", "pageToken is not one this service issued; start again without it.")
var errStorage = httpx.Errorf(http.StatusServiceUnavailable, "temporarily_unavailable", "Your balance cannot be read right now; please try again in a minute.")

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, err := s.handleBalance(r)
	if err != nil {
		httpx.WriteError(w, r, toHTTP(err))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
}

func (s *Server) handleBalance(r *http.Request) (response, error) {
	if err := httpx.Method(r, http.MethodGet); err != nil {
		return response{}, err
	}
	user, err := s.auth.Authenticate(r)
	if err != nil {
		return response{}, err
	}
	pageSize := defaultPageSize
	if v := r.URL.Query().Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return response{}, errBadPageSize
		}
		pageSize = min(n, maxPageSize)
	}
	ctx := r.Context()
	bal, err := s.ledger.Balance(ctx, user.ID)
	if err != nil {
		return response{}, err
	}
	page, err := s.ledger.History(ctx, user.ID, pageSize, r.URL.Query().Get("pageToken"))
	if err != nil {
		return response{}, err
	}
	resp := response{
		Balance:       money{Amount: bal.Amount, Currency: bal.Currency},
		Transactions:  make([]transaction, 0, len(page.Transactions)),
		NextPageToken: page.NextPageToken,
	}
	for _, t := range page.Transactions {
		resp.Transactions = append(resp.Transactions, transaction{
			ID: t.ID, Type: t.Type, Amount: t.Amount, Currency: t.Currency, Status: t.Status,
			PaymentIntentID: t.PaymentIntentID, FailureCode: t.FailureCode, FailureMessage: t.FailureMessage,
			CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
		})
	}
	return resp, nil
}

func toHTTP(err error) error {
	var he *httpx.Error
	switch {
	case errors.As(err, &he):
		return err
	case errors.Is(err, ledger.ErrBadPageToken):
		return errBadPageToken
	default:
		return errStorage.WithCause(err)
	}
}

var server = sync.OnceValues(func() (http.Handler, error) {
	l, err := platform.Ledger()
	if err != nil {
		return nil, err
	}
	verifier, err := platform.Verifier()
	if err != nil {
		return nil, err
	}
	return NewServer(verifier, l), nil
})

// Handle is the Balance entry point.
func Handle(w http.ResponseWriter, r *http.Request) {
	platform.ServeConsole(w, r, "Balance", server)
}
