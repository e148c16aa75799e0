package closing

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/ledger"
	"example.com/billing/shared/metering"
)

// The money side of closing, decided from plain values: splitBalance (what
// the balance pays, what goes back to which card, what is forfeited) and
// decideRequest (what a deletion request records). The transactions around
// them read, call them, and write what they return.

// moneyFacts is what closing costs and what the balance holds, from one
// consistent read.
type moneyFacts struct {
	Period  metering.Period
	Bill    metering.Bill // the usage since the last billed period, priced
	Balance int64
	// Refundable are the card top-ups the balance may go back to, newest
	// first; read only when something is left after the usage.
	Refundable []ledger.Refundable
}

// readMoney reads, inside tx (or outside it when tx is nil), the usage
// since billedThrough, the balance and, when needed, the refundable top-ups.
func (s *Service) readMoney(ctx context.Context, tx *firestore.Transaction, userID string, billedThrough time.Time) (moneyFacts, error) {
	var m moneyFacts
	var err error
	if m.Period, err = s.usage.Since(ctx, tx, userID, billedThrough); err != nil {
		return moneyFacts{}, err
	}
	m.Bill = s.prices.Price(m.Period.Totals)
	var bal ledger.Balance
	if tx != nil {
		bal, err = s.ledger.BalanceIn(tx, userID)
	} else {
		bal, err = s.ledger.Balance(ctx, userID)
	}
	if err != nil {
		return moneyFacts{}, err
	}
	m.Balance = bal.Amount
	if leftAfterUsage(m.Balance, m.Bill.Amount) > 0 {
		if m.Refundable, err = s.ledger.RefundableTopUps(ctx, tx, userID); err != nil {
			return moneyFacts{}, err
		}
	}
	return m, nil
}

// balanceSplit is where a closing balance goes.
type balanceSplit struct {
	Applied   int64        // to the usage
	Debt      int64        // a negative balance, billed on the final invoice
	Invoice   int64        // the usage the balance does not cover, plus the debt: the final invoice
	Refunds   []cardRefund // back to the card top-ups, newest first
	Forfeited int64        // what no card can take (package credit)
}

// cardRefund is part of the balance going back to the card of a top-up.
type cardRefund struct {
	Source ledger.Refundable
	Amount int64
}

// leftAfterUsage is what remains of balance once it paid usage.
func leftAfterUsage(balance, usage int64) int64 {
	return max(0, balance-max(0, min(balance, usage)))
}

// splitBalance splits the balance: first to the usage, then back to the
// card top-ups, newest first, each at most what it has left; what no
// top-up can take is forfeited. A negative balance (debt: a payment taken
// back after its credit was spent) pays nothing and is billed with the
// usage, so closing never forgives it.
func splitBalance(balance, usage int64, sources []ledger.Refundable) balanceSplit {
	var sp balanceSplit
	sp.Applied = max(0, min(balance, usage))
	sp.Debt = max(0, -balance)
	sp.Invoice = usage - sp.Applied + sp.Debt
	left := leftAfterUsage(balance, usage)
	for _, src := range sources {
		if left == 0 {
			break
		}
		amt := min(left, src.Left)
		sp.Refunds = append(sp.Refunds, cardRefund{Source: src, Amount: amt})
		left -= amt
	}
	sp.Forfeited = left
	return sp
}

// requestFacts is what a deletion request is decided on, read in its
// transaction.
type requestFacts struct {
	UserID          string
	Previous        int64 // the number of the user's last request (0: none)
	Now             time.Time
	BilledThrough   time.Time // the receipt cursor of the last bill (see metering.Store.Since)
	PendingPayments int       // card payments still under way
	Money           moneyFacts
}

// requestPlan is what a deletion request records.
type requestPlan struct {
	Deletion Deletion
	// Entries are its ledger entries: the usage the balance pays, one
	// refund per card top-up (pending until Stripe makes it), what is
	// forfeited.
	Entries []ledger.Transaction
	// Refunds are the top-ups noted as being returned, and how much.
	Refunds []cardRefund
	// BilledThrough is the account's new usage cursor: the latest receipt
	// time of the reports this bill covers.
	BilledThrough time.Time
}

// decideRequest decides a deletion request: the next state (invoicing when
// the balance does not cover the usage, refunding when cards get money back,
// completing otherwise), the final bill, the refunds, the forfeit and the
// ledger entries. A payment still under way blocks it: it would credit a
// closing account.
func decideRequest(f requestFacts) (requestPlan, error) {
	if f.PendingPayments > 0 {
		return requestPlan{}, &BlockedError{Check: Check{PendingPayments: f.PendingPayments,
			Reasons: []string{"A card payment is still in progress; wait until it finishes or expires."}}}
	}
	m := f.Money
	sp := splitBalance(m.Balance, m.Bill.Amount, m.Refundable)
	now := f.Now
	d := Deletion{
		UserID: f.UserID, Request: f.Previous + 1, RequestedAt: now, UpdatedAt: now,
		PeriodStart: m.Period.Start, PeriodEnd: m.Period.End,
		UsageAmount: m.Bill.Amount, BalanceApplied: sp.Applied, InvoiceAmount: sp.Invoice, Forfeited: sp.Forfeited,
		Lines: []Line{}, Refunds: []Refund{}, NextAttemptAt: &now,
	}
	for _, l := range m.Bill.Lines {
		d.Lines = append(d.Lines, Line{Kind: l.Kind, Description: l.Description, Amount: l.Amount})
	}
	if sp.Debt > 0 {
		d.Lines = append(d.Lines, Line{Kind: LineDebt, Description: "Outstanding balance (payments reversed after their credit was used)", Amount: sp.Debt})
	}
	switch {
	case d.InvoiceAmount > 0:
		d.State = StateInvoicing
	case len(sp.Refunds) > 0:
		d.State = StateRefunding
	default:
		d.State = StateCompleting
	}
	p := requestPlan{Refunds: sp.Refunds, BilledThrough: f.BilledThrough}
	if m.Period.ReceivedThrough.After(f.BilledThrough) {
		p.BilledThrough = m.Period.ReceivedThrough
	}
	entry := func(suffix string) string { return fmt.Sprintf("del_%d_%s", d.Request, suffix) }
	if d.BalanceApplied > 0 {
		p.Entries = append(p.Entries, ledger.Transaction{ID: entry("usage"), UserID: f.UserID, Type: ledger.TypeUsageCharge,
			Amount: -d.BalanceApplied, Status: ledger.StatusSucceeded})
	}
	if sp.Debt > 0 {
		// The debt moves from the balance to the final invoice.
		p.Entries = append(p.Entries, ledger.Transaction{ID: entry("debt"), UserID: f.UserID, Type: ledger.TypeDebtInvoiced,
			Amount: sp.Debt, Status: ledger.StatusSucceeded})
	}
	for i, r := range sp.Refunds {
		src := r.Source
		d.Refunds = append(d.Refunds, Refund{EntryID: entry(fmt.Sprintf("refund_%d", i)), SourceTransactionID: src.ID,
			PaymentIntentID: src.PaymentIntentID, Amount: r.Amount})
		p.Entries = append(p.Entries, ledger.Transaction{ID: d.Refunds[i].EntryID, UserID: f.UserID, Type: ledger.TypeRefund,
			Amount: -r.Amount, Status: ledger.StatusPending, PaymentIntentID: src.PaymentIntentID, SourceTransactionID: src.ID})
	}
	if d.Forfeited > 0 {
		p.Entries = append(p.Entries, ledger.Transaction{ID: entry("forfeited"), UserID: f.UserID, Type: ledger.TypeBalanceForfeited,
			Amount: -d.Forfeited, Status: ledger.StatusSucceeded})
	}
	p.Deletion = d
	return p, nil
}
