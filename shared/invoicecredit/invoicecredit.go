// Package invoicecredit lets the prepaid balance pay Stripe invoices. On
// invoice.created for a draft invoice of one of our customers, the part of
// the invoice the balance covers is recorded as a pending invoice_credit
// ledger entry (debiting the balance) in the webhook's exactly-once
// transaction; it is then applied in Stripe as customer credit (a negative
// customer balance transaction, which Stripe applies when it finalizes the
// invoice) and the entry is marked succeeded. Firestore and Stripe cannot
// share a transaction, so the entry is the record of intent: a crash at any
// point leaves it pending, and Finish (on the redelivered event, or the
// sweep) completes it, looking the credit up in Stripe first, so the end is
// always exactly one credit in Stripe and one debit here.
package invoicecredit

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/account"
	"example.com/billing/shared/fault"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
)

type (
	customers interface {
		UserIn(tx *firestore.Transaction, customerID string) (string, bool, error)
		Get(ctx context.Context, userID string) (account.Account, error)
	}
	creditor interface {
		CreditCustomer(ctx context.Context, customerID string, amount int64, description, entryID string) (string, error)
		FindCustomerCredit(ctx context.Context, customerID, entryID string) (string, bool, error)
	}
)

// Service applies the balance to invoices.
type Service struct {
	ledger    *ledger.Ledger
	customers customers
	stripe    creditor
}

// New wires a Service.
func New(l *ledger.Ledger, c customers, s creditor) *Service {
	return &Service{ledger: l, customers: c, stripe: s}
}

// EntryID is the ledger entry (and Stripe key) of an invoice's credit.
func EntryID(invoiceID string) string { return "invoice_credit_" + invoiceID }

// Created is the effect of invoice.created.
func (s *Service) Created(inv payments.Invoice) ledger.Effect {
	return ledger.ReadsItself(func(ctx context.Context, tx *firestore.Transaction) (ledger.Outcome, error) {
		switch {
		case inv.Status != payments.InvoiceDraft:
			return ledger.Outcome{Result: ledger.ResultIgnored, Detail: "only a draft can take credit"}, nil
		case inv.Metadata[payments.MetadataKind] == payments.KindFinalInvoice:
			return ledger.Outcome{Result: ledger.ResultIgnored, Detail: "the final invoice carries the balance already"}, nil
		case inv.AmountDue <= 0:
			return ledger.Outcome{Result: ledger.ResultIgnored, Detail: "nothing due"}, nil
		case inv.Currency != ledger.Currency:
			return ledger.Outcome{Result: ledger.ResultUnmatched, Detail: "invoice in " + inv.Currency}, nil
		}
		userID, ok, err := s.customers.UserIn(tx, inv.CustomerID)
		if err != nil || !ok {
			return ledger.Outcome{Result: ledger.ResultUnmatched, Detail: "not one of our customers"}, err
		}
		out := ledger.Outcome{UserID: userID, TransactionID: EntryID(inv.ID)}
		if _, exists, err := s.ledger.EntryIn(tx, userID, EntryID(inv.ID)); err != nil || exists {
			out.Result, out.Detail = ledger.ResultUnchanged, "credit already recorded"
			return out, err
		}
		bal, err := s.ledger.BalanceIn(tx, userID)
		if err != nil {
			return ledger.Outcome{}, err
		}
		apply := min(max(bal.Amount, 0), inv.AmountDue)
		if apply == 0 {
			out.Result, out.Detail = ledger.ResultUnchanged, "no balance to apply"
			return out, nil
		}
		if err := s.ledger.Record(tx, ledger.Transaction{ID: EntryID(inv.ID), UserID: userID, Type: ledger.TypeInvoiceCredit,
			Amount: -apply, Status: ledger.StatusPending, InvoiceID: inv.ID}); err != nil {
			return ledger.Outcome{}, err
		}
		out.Result, out.Amount = ledger.ResultApplied, -apply
		return out, nil
	})
}

// Finish carries out, once, the credit recorded for the user's invoice (if
// any is still pending).
func (s *Service) Finish(ctx context.Context, userID, invoiceID string) error {
	entry, err := s.ledger.Transaction(ctx, userID, EntryID(invoiceID))
	if errors.Is(err, ledger.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.finish(ctx, entry)
}

// FinishPending finishes up to limit credits left pending by a dead
// process, and returns how many it finished.
func (s *Service) FinishPending(ctx context.Context, limit int) (int, error) {
	entries, err := s.ledger.PendingEntries(ctx, ledger.TypeInvoiceCredit, limit)
	if err != nil {
		return 0, err
	}
	var errs []error
	done := 0
	for _, e := range entries {
		if err := s.finish(ctx, e); err != nil {
			errs = append(errs, fmt.Errorf("%s/%s: %w", e.UserID, e.ID, err))
			continue
		}
		done++
	}
	return done, errors.Join(errs...)
}

func (s *Service) finish(ctx context.Context, entry ledger.Transaction) error {
	if entry.Status != ledger.StatusPending {
		return nil
	}
	acct, err := s.customers.Get(ctx, entry.UserID)
	if err != nil {
		return err
	}
	customerID := acct.CustomerID
	if err := fault.Point(ctx, fault.InvoiceCreditRecorded); err != nil {
		return err
	}
	// The first attempt may have died after Stripe applied the credit.
	id, found, err := s.stripe.FindCustomerCredit(ctx, customerID, entry.ID)
	if err != nil {
		return err
	}
	if !found {
		if id, err = s.stripe.CreditCustomer(ctx, customerID, -entry.Amount, fmt.Sprintf("Prepaid balance applied to invoice %s", entry.InvoiceID), entry.ID); err != nil {
			return err
		}
	}
	if err := fault.Point(ctx, fault.InvoiceCreditApplied); err != nil {
		return err
	}
	if err := s.ledger.CompleteEntry(ctx, entry.UserID, entry.ID, id); err != nil {
		return err
	}
	logging.FromContext(ctx).InfoContext(ctx, "balance applied to invoice", "user_id", entry.UserID, "invoice_id", entry.InvoiceID, "amount", -entry.Amount, "stripe_id", id)
	return nil
}
