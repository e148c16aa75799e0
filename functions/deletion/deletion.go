// Package deletion holds the functions that close an account with billing:
// GET /DeletionCheck (what stands in the way and what it would cost;
// changes nothing), POST /RequestDeletion (409 deletion_blocked while money
// is owed; otherwise the final bill and the deletion state machine), POST
// /CancelDeletion (while the final invoice is unpaid), and DeletionSweep
// (scheduled: finishes every step a dead process left, and publishes every
// recorded event).
package deletion

import (
	"context"
	"errors"
	"net/http"
	"time"

	"example.com/billing/shared/auth"
	"example.com/billing/shared/closing"
	"example.com/billing/shared/httpx"
	"example.com/billing/shared/platform"
)

type deletions interface {
	Check(ctx context.Context, userID, email string) (closing.Check, error)
	Request(ctx context.Context, userID, email string) (closing.Deletion, error)
	Cancel(ctx context.Context, userID string) (closing.Deletion, error)
}

// Server handles the deletion functions.
type Server struct {
	auth      httpx.Authenticator
	deletions deletions
}

// NewServer wires a Server.
func NewServer(a httpx.Authenticator, d deletions) *Server { return &Server{auth: a, deletions: d} }

// NewCheck builds DeletionCheck from the services.
func NewCheck(s *platform.Services) http.Handler { return NewServer(s.Verifier, s.Deletions).Check() }

// NewRequest builds RequestDeletion from the services.
func NewRequest(s *platform.Services) http.Handler {
	return NewServer(s.Verifier, s.Deletions).Request()
}

// NewCancel builds CancelDeletion from the services.
func NewCancel(s *platform.Services) http.Handler { return NewServer(s.Verifier, s.Deletions).Cancel() }

var (
	errUnavailable   = httpx.Errorf(http.StatusServiceUnavailable, "payment_provider_unavailable", "The payment provider cannot be reached right now, so what you owe cannot be checked. Please try again in a minute.")
	errStorage       = httpx.Errorf(http.StatusServiceUnavailable, "temporarily_unavailable", "Your account cannot be read right now; please try again in a minute.")
	errNotCancelable = httpx.Errorf(http.StatusConflict, "deletion_not_cancelable", "The deletion is already settling (refunds or final steps are under way) and can no longer be canceled.")
	errNoDeletion    = httpx.Errorf(http.StatusNotFound, "no_pending_deletion", "There is no account deletion to cancel.")
	errDeleted       = httpx.Errorf(http.StatusGone, "account_deleted", "This account is deleted.")
)

// errs answers the deletion functions' errors: every failure of Stripe's
// is "cannot be checked right now", and the state machine's refusals have
// codes of their own.
var errs = httpx.Errors{
	Is: []httpx.Rule{
		{Err: closing.ErrNotCancelable, Answer: errNotCancelable},
		{Err: closing.ErrNoDeletion, Answer: errNoDeletion},
		{Err: closing.ErrDeleted, Answer: errDeleted},
	},
	As: func(err error) *httpx.Error {
		var blocked *closing.BlockedError
		if !errors.As(err, &blocked) {
			return nil
		}
		return &httpx.Error{Status: http.StatusConflict, Code: "deletion_blocked",
			Message: "The account cannot be deleted yet: " + joinReasons(blocked.Check.Reasons),
			Extra:   checkFields(blocked.Check)}
	},
	Unavailable: errUnavailable,
	Rejected:    errUnavailable,
	Storage:     errStorage,
}

func joinReasons(reasons []string) string {
	out := ""
	for i, r := range reasons {
		if i > 0 {
			out += " "
		}
		out += r
	}
	return out
}

// checkFields are the check's fields, to stand beside a 409's error.
func checkFields(c closing.Check) map[string]any {
	return map[string]any{
		"canDelete": c.CanDelete, "reasons": c.Reasons, "unpaidInvoices": c.UnpaidInvoices, "amountOwed": c.AmountOwed,
		"pendingInvoiceItems": c.PendingInvoiceItems, "pendingPayments": c.PendingPayments, "currentUsage": c.CurrentUsage,
		"balance": c.Balance, "finalAmountDue": c.FinalAmountDue, "remainingBalance": c.RemainingBalance,
		"refunds": c.Refunds, "forfeitedBalance": c.ForfeitedBalance, "currency": c.Currency,
	}
}

// serve runs one deletion function behind the console edge. The POST
// functions define no fields: an empty body or {} only.
func (s *Server) serve(method string, handle func(ctx context.Context, user auth.User) (any, error)) http.Handler {
	return httpx.Console(s.auth, method, errs, func(w http.ResponseWriter, r *http.Request, user auth.User) (any, error) {
		if method == http.MethodPost {
			if err := httpx.EmptyBody(w, r); err != nil {
				return nil, err
			}
		}
		return handle(r.Context(), user)
	})
}

// Check answers GET /DeletionCheck.
func (s *Server) Check() http.Handler {
	return s.serve(http.MethodGet, func(ctx context.Context, user auth.User) (any, error) {
		return s.deletions.Check(ctx, user.ID, user.Email)
	})
}

// DeletionResponse is the state of a deletion as the console sees it.
type DeletionResponse struct {
	State            string     `json:"state"`
	RequestedAt      time.Time  `json:"requestedAt"`
	UsageAmount      int64      `json:"usageAmount"`
	BalanceApplied   int64      `json:"balanceApplied"`
	FinalAmountDue   int64      `json:"finalAmountDue"`
	FinalInvoice     *Invoice   `json:"finalInvoice"`
	Refunds          []Refund   `json:"refunds"`
	ForfeitedBalance int64      `json:"forfeitedBalance"`
	CompletedAt      *time.Time `json:"completedAt,omitempty"`
	CanceledAt       *time.Time `json:"canceledAt,omitempty"`
	Currency         string     `json:"currency"`
}

// Invoice is the final invoice.
type Invoice struct {
	ID               string     `json:"id"`
	Status           string     `json:"status"`
	AmountDue        int64      `json:"amountDue"`
	HostedInvoiceURL string     `json:"hostedInvoiceUrl"`
	DueAt            *time.Time `json:"dueAt,omitempty"`
}

// Refund is balance going back to a card.
type Refund struct {
	PaymentIntentID string `json:"paymentIntentId"`
	Amount          int64  `json:"amount"`
	Status          string `json:"status"`
}

func respond(d closing.Deletion) DeletionResponse {
	out := DeletionResponse{
		State: d.State, RequestedAt: d.RequestedAt, UsageAmount: d.UsageAmount, BalanceApplied: d.BalanceApplied,
		FinalAmountDue: d.InvoiceAmount, ForfeitedBalance: d.Forfeited, CompletedAt: d.CompletedAt, CanceledAt: d.CanceledAt,
		Currency: "usd", Refunds: []Refund{},
	}
	if d.InvoiceID != "" {
		out.FinalInvoice = &Invoice{ID: d.InvoiceID, Status: d.InvoiceStatus, AmountDue: d.InvoiceAmount, HostedInvoiceURL: d.HostedInvoiceURL, DueAt: d.InvoiceDueAt}
	}
	for _, r := range d.Refunds {
		st := "pending"
		if r.RefundID != "" {
			st = "succeeded"
		}
		out.Refunds = append(out.Refunds, Refund{PaymentIntentID: r.PaymentIntentID, Amount: r.Amount, Status: st})
	}
	return out
}

// Request answers POST /RequestDeletion.
func (s *Server) Request() http.Handler {
	return s.serve(http.MethodPost, func(ctx context.Context, user auth.User) (any, error) {
		d, err := s.deletions.Request(ctx, user.ID, user.Email)
		if err != nil {
			return nil, err
		}
		return respond(d), nil
	})
}

// Cancel answers POST /CancelDeletion.
func (s *Server) Cancel() http.Handler {
	return s.serve(http.MethodPost, func(ctx context.Context, user auth.User) (any, error) {
		d, err := s.deletions.Cancel(ctx, user.ID)
		if err != nil {
			return nil, err
		}
		return respond(d), nil
	})
}
