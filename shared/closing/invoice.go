package closing

import (
	"context"
	"fmt"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/fault"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/store"
)

type paymentsInvoice = payments.Invoice

func newFinalInvoice(customerID string, d Deletion, days int64) payments.NewInvoice {
	return payments.NewInvoice{
		CustomerID:   customerID,
		DaysUntilDue: days,
		Description: fmt.Sprintf("Final invoice: usage from %s to %s, before the account is deleted.",
			d.PeriodStart.Format("2 Jan 2006 15:04 MST"), d.PeriodEnd.Format("2 Jan 2006 15:04 MST")),
		Metadata: map[string]string{payments.MetadataUserID: d.UserID, payments.MetadataKind: payments.KindFinalInvoice, payments.MetadataDeletion: d.InvoiceKey()},
	}
}

// addLines puts the usage lines, and the prepaid balance as a credit line,
// on the draft final invoice: only those it does not have yet (each item
// names its line in its metadata), since an earlier attempt may have added
// some longer ago than Stripe keeps their keys. A final invoice has at most
// five lines, well within the ten Stripe embeds in the invoice.
func (s *Service) addLines(ctx context.Context, customerID string, inv payments.Invoice, d Deletion) error {
	have := map[string]bool{}
	for _, l := range inv.Lines {
		have[l.Metadata[payments.MetadataLine]] = true
	}
	add := func(line string, amount int64, description string) error {
		if have[line] {
			return nil
		}
		if err := s.stripe.AddInvoiceItem(ctx, payments.NewInvoiceItem{
			CustomerID: customerID, InvoiceID: inv.ID, Amount: amount, Currency: ledger.Currency, Description: description,
			Metadata: map[string]string{payments.MetadataUserID: d.UserID, payments.MetadataDeletion: d.InvoiceKey(), payments.MetadataLine: line},
		}, d.InvoiceKey()+":"+line); err != nil {
			return err
		}
		return fault.Point(ctx, fault.DeletionAfterLine)
	}
	for _, l := range d.Lines {
		if l.Amount == 0 {
			continue
		}
		if err := add(l.Kind, l.Amount, l.Description); err != nil {
			return err
		}
	}
	if d.BalanceApplied > 0 {
		return add("balance", -d.BalanceApplied, "Prepaid balance applied")
	}
	return nil
}

// InvoicePaid is the effect of invoice.paid: when it pays a user's final
// invoice, the deletion moves on to completing (the caller then Advances
// it). Any other invoice is ignored; a final invoice of a deletion that was
// canceled is recorded as paid and changes nothing else.
func (s *Service) InvoicePaid(inv payments.Invoice) ledger.Effect {
	return ledger.ReadsItself(func(ctx context.Context, tx *firestore.Transaction) (ledger.Outcome, error) {
		userID := inv.Metadata[payments.MetadataUserID]
		out := ledger.Outcome{UserID: userID}
		if inv.Metadata[payments.MetadataKind] != payments.KindFinalInvoice {
			out.Result, out.Detail = ledger.ResultIgnored, "not a final invoice"
			return out, nil
		}
		if store.CheckID(userID) != nil {
			out.Result, out.Detail = ledger.ResultUnmatched, "final invoice without a valid user_id"
			return out, nil
		}
		d, err := s.Get(ctx, tx, userID)
		if err != nil {
			return ledger.Outcome{}, err
		}
		if d.State == "" || d.InvoiceKey() != inv.Metadata[payments.MetadataDeletion] {
			out.Result, out.Detail = ledger.ResultUnmatched, "no deletion for this invoice"
			return out, nil
		}
		switch d.State {
		case StateInvoicing, StateAwaitingPayment:
			now := s.now()
			d.State, d.InvoiceID, d.InvoiceStatus, d.NextAttemptAt, d.UpdatedAt = StateCompleting, inv.ID, payments.InvoicePaid, &now, now
			if err := tx.Set(s.ref(userID), d); err != nil {
				return ledger.Outcome{}, err
			}
			out.Result = ledger.ResultApplied
		default:
			out.Result, out.Detail = ledger.ResultUnchanged, "deletion is "+d.State
		}
		return out, nil
	})
}
