package closing

import (
	"context"
	"fmt"
	"time"

	"example.com/billing/shared/ledger"
)

// Check is what stands in the way of deleting an account and what deleting
// it would cost. It changes nothing. The wire shape the console sees is
// functions/deletion's, not this type's.
type Check struct {
	CanDelete           bool
	Reasons             []string
	UnpaidInvoices      []InvoiceSummary
	AmountOwed          int64
	PendingInvoiceItems int
	PendingPayments     int
	CurrentUsage        UsageSummary
	Balance             int64
	FinalAmountDue      int64
	RemainingBalance    int64
	Refunds             []RefundSummary
	ForfeitedBalance    int64
	Currency            string
	Deletion            *DeletionSummary
}

// InvoiceSummary is an unpaid Stripe invoice.
type InvoiceSummary struct {
	ID               string
	Status           string
	AmountDue        int64
	Currency         string
	HostedInvoiceURL string
}

// UsageSummary is the usage not yet invoiced.
type UsageSummary struct {
	PeriodStart time.Time
	PeriodEnd   time.Time
	Amount      int64
	Lines       []Line
}

// RefundSummary is a card top-up that would get money back.
type RefundSummary struct {
	TransactionID   string
	PaymentIntentID string
	Amount          int64
}

// DeletionSummary is a deletion already requested.
type DeletionSummary struct {
	State            string
	RequestedAt      time.Time
	FinalInvoiceID   string
	InvoiceAmount    int64
	HostedInvoiceURL string
	InvoiceDueAt     *time.Time
	InvoiceOverdue   bool
	CompletedAt      *time.Time
}

func summarize(d Deletion, now time.Time) *DeletionSummary {
	return &DeletionSummary{
		State: d.State, RequestedAt: d.RequestedAt, FinalInvoiceID: d.InvoiceID, InvoiceAmount: d.InvoiceAmount,
		HostedInvoiceURL: d.HostedInvoiceURL, InvoiceDueAt: d.InvoiceDueAt, CompletedAt: d.CompletedAt,
		InvoiceOverdue: d.State == StateAwaitingPayment && d.InvoiceDueAt != nil && now.After(*d.InvoiceDueAt),
	}
}

// Check reports, without changing anything, whether the user may delete
// their account now and what it would cost. It makes sure the Stripe
// customer exists first, like every payment path. (Callers label the
// context's logger with the user, as for Request and Cancel.)
func (s *Service) Check(ctx context.Context, userID, email string) (Check, error) {
	return s.check(ctx, userID, email)
}

func (s *Service) check(ctx context.Context, userID, email string) (Check, error) {
	acct, err := s.customers.Ensure(ctx, userID, email)
	if err != nil {
		return Check{}, err
	}
	c := Check{Currency: ledger.Currency, Reasons: []string{}, UnpaidInvoices: []InvoiceSummary{}, Refunds: []RefundSummary{}}
	invoices, err := s.stripe.UnpaidInvoices(ctx, acct.CustomerID)
	if err != nil {
		return Check{}, err
	}
	for _, inv := range invoices {
		c.UnpaidInvoices = append(c.UnpaidInvoices, InvoiceSummary{ID: inv.ID, Status: inv.Status, AmountDue: inv.AmountDue, Currency: inv.Currency, HostedInvoiceURL: inv.HostedInvoiceURL})
		c.AmountOwed += inv.AmountDue
	}
	if c.PendingInvoiceItems, _, err = s.stripe.PendingInvoiceItems(ctx, acct.CustomerID); err != nil {
		return Check{}, err
	}
	pendingPayments, err := s.ledger.PendingTopUps(ctx, nil, userID)
	if err != nil {
		return Check{}, err
	}
	c.PendingPayments = len(pendingPayments)
	d, err := s.Get(ctx, nil, userID)
	if err != nil {
		return Check{}, err
	}
	if d.State != "" {
		c.Deletion = summarize(d, s.now())
	}

	var billedThrough time.Time
	if acct.BilledThrough != nil {
		billedThrough = *acct.BilledThrough
	}
	m, err := s.readMoney(ctx, nil, userID, billedThrough)
	if err != nil {
		return Check{}, err
	}
	sp := splitBalance(m.Balance, m.Bill.Amount, m.Refundable)
	lines := make([]Line, 0, len(m.Bill.Lines))
	for _, l := range m.Bill.Lines {
		lines = append(lines, Line{Kind: l.Kind, Description: l.Description, Amount: l.Amount})
	}
	c.CurrentUsage = UsageSummary{PeriodStart: m.Period.Start, PeriodEnd: m.Period.End, Amount: m.Bill.Amount, Lines: lines}
	c.Balance, c.FinalAmountDue, c.RemainingBalance, c.ForfeitedBalance = m.Balance, sp.Invoice, max(0, m.Balance-sp.Applied), sp.Forfeited
	for _, r := range sp.Refunds {
		c.Refunds = append(c.Refunds, RefundSummary{TransactionID: r.Source.ID, PaymentIntentID: r.Source.PaymentIntentID, Amount: r.Amount})
	}

	// Why not, in words a person can act on.
	switch {
	case acct.Status == AccountDeleted || d.State == StateDeleted:
		c.Reasons = append(c.Reasons, "The account is already deleted.")
	case d.InProgress():
		c.Reasons = append(c.Reasons, fmt.Sprintf("A deletion is already in progress (%s).", d.State))
		if c.Deletion.InvoiceOverdue {
			c.Reasons = append(c.Reasons, "The final invoice is overdue; the account stays pending deletion until it is paid.")
		}
	}
	if len(c.UnpaidInvoices) > 0 {
		c.Reasons = append(c.Reasons, fmt.Sprintf("%d invoice(s) totalling %s are unpaid; pay them first.", len(c.UnpaidInvoices), money(c.AmountOwed)))
	}
	if c.PendingInvoiceItems > 0 {
		c.Reasons = append(c.Reasons, fmt.Sprintf("%d charge(s) are waiting to be invoiced; they will be billed soon.", c.PendingInvoiceItems))
	}
	if c.PendingPayments > 0 {
		c.Reasons = append(c.Reasons, fmt.Sprintf("%d card payment(s) are still in progress; wait until they finish or expire.", c.PendingPayments))
	}
	c.CanDelete = len(c.Reasons) == 0
	if c.ForfeitedBalance > 0 {
		// Not a blocker, but never silent.
		c.Reasons = append(c.Reasons, fmt.Sprintf("%s of the balance came from credits that cannot be refunded to a card (such as package credit); it is forfeited when the account is deleted.", money(c.ForfeitedBalance)))
	}
	return c, nil
}

func money(cents int64) string { return fmt.Sprintf("%d.%02d USD", cents/100, cents%100) }

// blocking reports whether c forbids a deletion request.
func (c Check) blocking() bool {
	return len(c.UnpaidInvoices) > 0 || c.PendingInvoiceItems > 0 || c.PendingPayments > 0
}
