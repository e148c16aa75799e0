package ledger

import (
	"context"
	"fmt"
	"math/big"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/store"
)

// Money flowing back out of a paid top-up: refunds and disputes. The
// balance may go negative (the user spent credit that was then taken
// back); it is then debt that the next top-up or invoice settles.

// Type of the ledger entries below.
const (
	TypeDispute    = "dispute"     // a disputed payment, debited when the dispute opens
	TypeDisputeWon = "dispute_won" // credited back when we win it
)

// balanceShare is the part of a top-up's balance credit that amount of its
// card charge stands for: the same cents for a card top-up, proportionally
// more for a package whose credit exceeds its price.
func balanceShare(t Transaction, amount int64) int64 {
	if t.ChargeAmount <= 0 || t.ChargeAmount == t.Amount {
		return amount
	}
	r := new(big.Rat).Mul(big.NewRat(t.Amount, 1), big.NewRat(amount, t.ChargeAmount))
	return new(big.Int).Quo(r.Num(), r.Denom()).Int64()
}

// ChargeRefund is what charge.refunded reports: the cumulative amount
// refunded on the charge of a PaymentIntent.
type ChargeRefund struct {
	PaymentIntentID string
	ChargeID        string
	AmountRefunded  int64 // cumulative, in the charge's cents
}

// RefundCharge debits what was refunded on a top-up's card beyond what the
// ledger already knows. Working from the cumulative amount makes every
// delivery idempotent and order-proof: a stale event (a smaller total)
// changes nothing, and refunds this service made itself (the deletion's,
// already noted on the top-up) are not debited twice.
func (l *Ledger) RefundCharge(r ChargeRefund) Effect {
	return func(ctx context.Context, tx *firestore.Transaction) (Outcome, error) {
		t, ok, err := l.intentTransaction(tx, r.PaymentIntentID)
		if err != nil || !ok {
			return Outcome{Result: ResultUnmatched, Detail: "not one of our payments"}, err
		}
		out := Outcome{UserID: t.UserID, TransactionID: t.ID}
		if !t.Credited {
			out.Result, out.Detail = ResultUnchanged, "refund of a payment never credited"
			return out, nil
		}
		delta := r.AmountRefunded - t.RefundedAmount
		if delta <= 0 {
			out.Result, out.Detail = ResultUnchanged, "refund already known"
			return out, nil
		}
		debit := balanceShare(t, r.AmountRefunded) - balanceShare(t, t.RefundedAmount)
		if err := l.Record(tx, Transaction{
			ID: fmt.Sprintf("refund_%s_%d", t.ID, r.AmountRefunded), UserID: t.UserID, Type: TypeRefund,
			Amount: -debit, Status: StatusSucceeded, PaymentIntentID: r.PaymentIntentID, SourceTransactionID: t.ID,
		}); err != nil {
			return Outcome{}, err
		}
		if err := l.AddRefunded(tx, t, delta); err != nil {
			return Outcome{}, err
		}
		out.Result, out.Amount = ResultApplied, -debit
		return out, nil
	}
}

// Dispute is what charge.dispute.* reports.
type Dispute struct {
	ID              string
	PaymentIntentID string
	Amount          int64
	Status          string // e.g. "won", "lost", "needs_response"
}

// DisputeOpened debits the disputed amount once per dispute.
func (l *Ledger) DisputeOpened(d Dispute) Effect {
	return l.disputeEntry(d, "dispute_"+d.ID, TypeDispute, -1)
}

// DisputeClosed credits the disputed amount back, once, when we won;
// a lost dispute was already debited when it opened.
func (l *Ledger) DisputeClosed(d Dispute) Effect {
	if d.Status != "won" {
		return Ignore("dispute closed as " + d.Status + "; its debit stands")
	}
	return l.disputeEntry(d, "dispute_"+d.ID+"_won", TypeDisputeWon, +1)
}

func (l *Ledger) disputeEntry(d Dispute, entryID, typ string, sign int64) Effect {
	return func(ctx context.Context, tx *firestore.Transaction) (Outcome, error) {
		t, ok, err := l.intentTransaction(tx, d.PaymentIntentID)
		if err != nil || !ok {
			return Outcome{Result: ResultUnmatched, Detail: "not one of our payments"}, err
		}
		out := Outcome{UserID: t.UserID, TransactionID: t.ID}
		if store.CheckID(entryID) != nil || !t.Credited {
			out.Result, out.Detail = ResultUnchanged, "nothing credited to dispute"
			return out, nil
		}
		// The entry id is the guard: one debit per dispute, one credit per win.
		if _, err := tx.Get(l.transactionRef(t.UserID, entryID)); err == nil {
			out.Result, out.Detail = ResultUnchanged, "already recorded"
			return out, nil
		} else if !isNotFound(err) {
			return Outcome{}, err
		}
		amount := sign * balanceShare(t, d.Amount)
		if err := l.Record(tx, Transaction{ID: entryID, UserID: t.UserID, Type: typ, Amount: amount,
			Status: StatusSucceeded, PaymentIntentID: d.PaymentIntentID, SourceTransactionID: t.ID}); err != nil {
			return Outcome{}, err
		}
		out.Result, out.Amount = ResultApplied, amount
		return out, nil
	}
}
