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
	r := respondCheck(c)
	return map[string]any{
		"canDelete": r.CanDelete, "reasons": r.Reasons, "unpaidInvoices": r.UnpaidInvoices, "amountOwed": r.AmountOwed,
		"pendingInvoiceItems": r.PendingInvoiceItems, "pendingPayments": r.PendingPayments, "currentUsage": r.CurrentUsage,
		"balance": r.Balance, "finalAmountDue": r.FinalAmountDue, "remainingBalance": r.RemainingBalance,
		"refunds": r.Refunds, "forfeitedBalance": r.ForfeitedBalance, "currency": r.Currency,
	}
}

// CheckResponse is the answer of GET /DeletionCheck. The wire shape is
// decided here, not by the domain's types: every field camelCase, and a time
// that does not exist (no usage yet) left out rather than sent as Go's zero
// time.
type CheckResponse struct {
	CanDelete           bool             `json:"canDelete"`
	Reasons             []string         `json:"reasons"`
	UnpaidInvoices      []UnpaidInvoice  `json:"unpaidInvoices"`
	AmountOwed          int64            `json:"amountOwed"`
	PendingInvoiceItems int              `json:"pendingInvoiceItems"`
	PendingPayments     int              `json:"pendingPayments"`
	CurrentUsage        Usage            `json:"currentUsage"`
	Balance             int64            `json:"balance"`
	FinalAmountDue      int64            `json:"finalAmountDue"`
	RemainingBalance    int64            `json:"remainingBalance"`
	Refunds             []RefundPlan     `json:"refunds"`
	ForfeitedBalance    int64            `json:"forfeitedBalance"`
	Currency            string           `json:"currency"`
	Deletion            *DeletionSummary `json:"deletion,omitempty"`
}

// UnpaidInvoice is a Stripe invoice that blocks the deletion.
type UnpaidInvoice struct {
	ID               string `json:"id"`
	Status           string `json:"status"`
	AmountDue        int64  `json:"amountDue"`
	Currency         string `json:"currency"`
	HostedInvoiceURL string `json:"hostedInvoiceUrl"`
}

// Usage is the usage not yet invoiced; the period is absent while there is
// none.
type Usage struct {
	PeriodStart *time.Time  `json:"periodStart,omitempty"`
	PeriodEnd   *time.Time  `json:"periodEnd,omitempty"`
	Amount      int64       `json:"amount"`
	Lines       []UsageLine `json:"lines"`
}

// UsageLine is one kind of usage, priced.
type UsageLine struct {
	Kind        string `json:"kind"`
	Description string `json:"description"`
	Amount      int64  `json:"amount"`
}

// RefundPlan is a card top-up that would get money back.
type RefundPlan struct {
	TransactionID   string `json:"transactionId"`
	PaymentIntentID string `json:"paymentIntentId"`
	Amount          int64  `json:"amount"`
}

// DeletionSummary is a deletion already requested, as the check shows it.
type DeletionSummary struct {
	State            string     `json:"state"`
	RequestedAt      time.Time  `json:"requestedAt"`
	FinalInvoiceID   string     `json:"finalInvoiceId,omitempty"`
	InvoiceAmount    int64      `json:"invoiceAmount"`
	HostedInvoiceURL string     `json:"hostedInvoiceUrl,omitempty"`
	InvoiceDueAt     *time.Time `json:"invoiceDueAt,omitempty"`
	InvoiceOverdue   bool       `json:"invoiceOverdue"`
	CompletedAt      *time.Time `json:"completedAt,omitempty"`
}

// present is t, or nil for the zero time.
func present(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func respondCheck(c closing.Check) CheckResponse {
	out := CheckResponse{
		CanDelete: c.CanDelete, Reasons: c.Reasons, AmountOwed: c.AmountOwed, PendingInvoiceItems: c.PendingInvoiceItems,
		PendingPayments: c.PendingPayments, Balance: c.Balance, FinalAmountDue: c.FinalAmountDue, RemainingBalance: c.RemainingBalance,
		ForfeitedBalance: c.ForfeitedBalance, Currency: c.Currency,
		UnpaidInvoices: make([]UnpaidInvoice, 0, len(c.UnpaidInvoices)),
		Refunds:        make([]RefundPlan, 0, len(c.Refunds)),
		CurrentUsage: Usage{
			PeriodStart: present(c.CurrentUsage.PeriodStart), PeriodEnd: present(c.CurrentUsage.PeriodEnd),
			Amount: c.CurrentUsage.Amount, Lines: make([]UsageLine, 0, len(c.CurrentUsage.Lines)),
		},
	}
	if out.Reasons == nil {
		out.Reasons = []string{}
	}
	for _, inv := range c.UnpaidInvoices {
		out.UnpaidInvoices = append(out.UnpaidInvoices, UnpaidInvoice{ID: inv.ID, Status: inv.Status, AmountDue: inv.AmountDue, Currency: inv.Currency, HostedInvoiceURL: inv.HostedInvoiceURL})
	}
	for _, l := range c.CurrentUsage.Lines {
		out.CurrentUsage.Lines = append(out.CurrentUsage.Lines, UsageLine{Kind: l.Kind, Description: l.Description, Amount: l.Amount})
	}
	for _, r := range c.Refunds {
		out.Refunds = append(out.Refunds, RefundPlan{TransactionID: r.TransactionID, PaymentIntentID: r.PaymentIntentID, Amount: r.Amount})
	}
	if d := c.Deletion; d != nil {
		out.Deletion = &DeletionSummary{
			State: d.State, RequestedAt: d.RequestedAt, FinalInvoiceID: d.FinalInvoiceID, InvoiceAmount: d.InvoiceAmount,
			HostedInvoiceURL: d.HostedInvoiceURL, InvoiceDueAt: d.InvoiceDueAt, InvoiceOverdue: d.InvoiceOverdue, CompletedAt: d.CompletedAt,
		}
	}
	return out
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
		c, err := s.deletions.Check(ctx, user.ID, user.Email)
		if err != nil {
			return nil, err
		}
		return respondCheck(c), nil
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
		switch {
		case r.RefundID != "":
			st = "succeeded"
		case r.FailureCode != "":
			st = "failed" // refused by Stripe for good; the operators return it
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
