package ledger

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/store"
)

// Entries other than top-ups are written by the domain that causes them
// (deletion, invoices), inside that domain's own Firestore transaction, so
// the entry, the balance and the domain's state change commit together.

// BalanceIn reads the user's balance inside tx (a read lock: use it only
// where the exact amount decides what is written).
func (l *Ledger) BalanceIn(tx *firestore.Transaction, userID string) (Balance, error) {
	snap, err := tx.Get(l.balanceRef(userID))
	if isNotFound(err) {
		return Balance{Currency: Currency}, nil
	}
	if err != nil {
		return Balance{}, fmt.Errorf("read balance: %w", err)
	}
	var b Balance
	if err := snap.DataTo(&b); err != nil {
		return Balance{}, fmt.Errorf("decode balance: %w", err)
	}
	return b, nil
}

// Record writes e (its ID, UserID, Type, Amount and Status set; Amount
// negative for a debit) and moves the balance by e.Amount, inside tx. The
// entry is created, never overwritten: an id recorded twice is an error, so
// a domain that derives ids from its own state cannot apply an entry twice.
func (l *Ledger) Record(tx *firestore.Transaction, e Transaction) error {
	now := l.now()
	if err := l.createEntry(tx, e, now); err != nil {
		return err
	}
	if e.Amount == 0 {
		return nil
	}
	return l.credit(tx, e.UserID, e.Amount, now)
}

// createEntry creates e inside tx, leaving the balance to the caller.
func (l *Ledger) createEntry(tx *firestore.Transaction, e Transaction, now time.Time) error {
	if err := errors.Join(store.CheckID(e.UserID), store.CheckID(e.ID)); err != nil {
		return err
	}
	e.Currency, e.CreatedAt, e.UpdatedAt = Currency, now, now
	e.Credited = true
	e.CreditedAt = &now
	if err := tx.Create(l.transactionRef(e.UserID, e.ID), e); err != nil {
		return fmt.Errorf("record %s %s: %w", e.Type, e.ID, err)
	}
	return nil
}

// Refundable is a credited card top-up with money left to return.
type Refundable struct {
	Transaction
	Left int64
}

// RefundableTopUps lists, inside tx (or outside it when tx is nil), the
// user's credited card top-ups with something left to refund, newest first:
// the order in which a closing balance goes back to the cards.
func (l *Ledger) RefundableTopUps(ctx context.Context, tx *firestore.Transaction, userID string) ([]Refundable, error) {
	q := store.UnderAccount(l.fs, userID, TransactionsCollection).
		Where("type", "==", TypeCardTopUp).Where("credited", "==", true)
	snaps, err := documents(ctx, tx, q)
	if err != nil {
		return nil, fmt.Errorf("list top-ups: %w", err)
	}
	var out []Refundable
	for _, snap := range snaps {
		t, err := decodeTransaction(snap)
		if err != nil {
			return nil, err
		}
		// A charge a dispute ever took money from refuses refunds (Stripe's
		// charge_disputed, even once the dispute is won): it is no source.
		if left := t.Amount - t.RefundedAmount; left > 0 && t.PaymentIntentID != "" && !t.ChargedBack && t.DisputedAmount == 0 {
			out = append(out, Refundable{Transaction: t, Left: left})
		}
	}
	// Newest first; ids break ties so the order is stable.
	sort.Slice(out, func(i, j int) bool { return newer(out[i].Transaction, out[j].Transaction) })
	return out, nil
}

func newer(a, b Transaction) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.After(b.CreatedAt)
	}
	return a.ID > b.ID
}

// PendingTopUps lists, inside tx (or outside it when tx is nil), the
// user's payments still under way.
func (l *Ledger) PendingTopUps(ctx context.Context, tx *firestore.Transaction, userID string) ([]Transaction, error) {
	q := store.UnderAccount(l.fs, userID, TransactionsCollection).Where("status", "==", StatusPending)
	snaps, err := documents(ctx, tx, q)
	if err != nil {
		return nil, fmt.Errorf("list pending payments: %w", err)
	}
	var out []Transaction
	for _, snap := range snaps {
		t, err := decodeTransaction(snap)
		if err != nil {
			return nil, err
		}
		if t.Type == TypeCardTopUp || t.Type == TypePackagePurchase {
			out = append(out, t)
		}
	}
	return out, nil
}

// AddRefunded notes, inside tx, that amount of top-up t is being returned
// to its card; a top-up returned in full becomes refunded.
func (l *Ledger) AddRefunded(tx *firestore.Transaction, t Transaction, amount int64) error {
	updates := []firestore.Update{
		{Path: "refundedAmount", Value: t.RefundedAmount + amount},
		{Path: "updatedAt", Value: l.now()},
	}
	if t.RefundedAmount+amount >= t.Amount {
		updates = append(updates, firestore.Update{Path: "status", Value: StatusRefunded})
	}
	return tx.Update(l.transactionRef(t.UserID, t.ID), updates)
}

// CompleteRefund marks, inside tx, a refund entry made in Stripe.
func (l *Ledger) CompleteRefund(tx *firestore.Transaction, userID, entryID, refundID string) error {
	return tx.Update(l.transactionRef(userID, entryID), []firestore.Update{
		{Path: "status", Value: StatusSucceeded},
		{Path: "refundId", Value: refundID},
		{Path: "updatedAt", Value: l.now()},
	})
}

// FailRefund marks a refund entry that Stripe refused for good (the charge
// was refunded or disputed meanwhile). Its amount stays off the balance:
// the money is an operator's to return or explain, which the caller logs.
func (l *Ledger) FailRefund(tx *firestore.Transaction, userID, entryID, code, message string) error {
	return tx.Update(l.transactionRef(userID, entryID), []firestore.Update{
		{Path: "status", Value: StatusFailed},
		{Path: "failureCode", Value: code},
		{Path: "failureMessage", Value: message},
		{Path: "updatedAt", Value: l.now()},
	})
}

// CompleteEntry marks a pending entry carried out in Stripe (by stripeID).
func (l *Ledger) CompleteEntry(ctx context.Context, userID, entryID, stripeID string) error {
	_, err := l.transactionRef(userID, entryID).Update(ctx, []firestore.Update{
		{Path: "status", Value: StatusSucceeded},
		{Path: "stripeId", Value: stripeID},
		{Path: "updatedAt", Value: l.now()},
	})
	return err
}

// PendingEntries lists, across users, up to limit entries of type typ still
// pending: work recorded in Firestore and not yet carried out in Stripe.
func (l *Ledger) PendingEntries(ctx context.Context, typ string, limit int) ([]Transaction, error) {
	snaps, err := l.fs.CollectionGroup(TransactionsCollection).Where("type", "==", typ).Where("status", "==", StatusPending).
		Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("list pending %s entries: %w", typ, err)
	}
	out := make([]Transaction, 0, len(snaps))
	for _, snap := range snaps {
		t, err := decodeTransaction(snap)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// EntryIn reads, inside tx, one of the user's entries; ok is false when absent.
func (l *Ledger) EntryIn(tx *firestore.Transaction, userID, entryID string) (Transaction, bool, error) {
	snap, err := tx.Get(l.transactionRef(userID, entryID))
	if isNotFound(err) {
		return Transaction{}, false, nil
	}
	if err != nil {
		return Transaction{}, false, err
	}
	t, err := decodeTransaction(snap)
	return t, err == nil, err
}

func documents(ctx context.Context, tx *firestore.Transaction, q firestore.Query) ([]*firestore.DocumentSnapshot, error) {
	if tx != nil {
		return tx.Documents(q).GetAll()
	}
	return q.Documents(ctx).GetAll()
}
