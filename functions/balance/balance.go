// Package balance is the Balance function: a console user's prepaid balance
// and their transaction history, newest first, a page at a time.
package balance

import (
	"context"
	"net/http"
	"strconv"
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

type history interface {
	Balance(ctx context.Context, userID string) (ledger.Balance, error)
	History(ctx context.Context, userID string, pageSize int, pageToken string) (ledger.Page, error)
}

// Server handles Balance requests.
type Server struct {
	http.Handler
	ledger history
}

// NewServer wires a Server.
func NewServer(a httpx.Authenticator, l history) *Server {
	s := &Server{ledger: l}
	s.Handler = httpx.Console(a, http.MethodGet, errs, s.handleBalance)
	return s
}

// New builds the Balance function from the services.
func New(s *platform.Services) http.Handler { return NewServer(s.Verifier, s.Ledger) }

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

var (
	errBadPageSize = httpx.Errorf(http.StatusBadRequest, "invalid_request", "pageSize must be a whole number from 1 to %d.", maxPageSize)
	errs           = httpx.Errors{Storage: httpx.Errorf(http.StatusServiceUnavailable, "temporarily_unavailable", "Your balance cannot be read right now; please try again in a minute.")}
)

func (s *Server) handleBalance(_ http.ResponseWriter, r *http.Request, user auth.User) (any, error) {
	pageSize := defaultPageSize
	if v := r.URL.Query().Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, errBadPageSize
		}
		pageSize = min(n, maxPageSize)
	}
	ctx := r.Context()
	bal, err := s.ledger.Balance(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	page, err := s.ledger.History(ctx, user.ID, pageSize, r.URL.Query().Get("pageToken"))
	if err != nil {
		return nil, err
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
