package ledger

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/store"
)

// AbandonTopUp takes back a pending top-up that a request created a moment
// ago (BeginTopUp, so that a crash from then on leaves a record) but must
// not pursue: checkout recorded it while it read the account, which turned
// out to have no Stripe customer yet, or to be closing. Nothing half-begun
// stays in the books. It takes the top-up back only while no one else has
// touched it (TouchTopUp: a retry of the same request pursuing it) and it
// has no intent; otherwise it stays, for whoever touched it. It reports
// whether it took it back.
func (l *Ledger) AbandonTopUp(ctx context.Context, userID, txID string) (bool, error) {
	if err := errors.Join(store.CheckID(userID), store.CheckID(txID)); err != nil {
		return false, err
	}
	ref := l.transactionRef(userID, txID)
	abandoned := false
	err := l.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		abandoned = false
		snap, err := tx.Get(ref)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		t, err := decodeTransaction(snap)
		if err != nil {
			return err
		}
		if !snap.UpdateTime.Equal(snap.CreateTime) || t.PaymentIntentID != "" || t.Status != StatusPending || t.Credited {
			return nil
		}
		abandoned = true
		return tx.Delete(ref)
	})
	if err != nil {
		return false, fmt.Errorf("abandon top-up %s: %w", txID, err)
	}
	return abandoned, nil
}

// TouchTopUp marks a pending top-up that this request found recorded (by
// an earlier attempt, or a concurrent one) before the request pursues it in
// Stripe, so that its creator no longer abandons it. ErrNotFound: it was
// abandoned meanwhile; begin it again.
func (l *Ledger) TouchTopUp(ctx context.Context, userID, txID string) error {
	if err := errors.Join(store.CheckID(userID), store.CheckID(txID)); err != nil {
		return err
	}
	_, err := l.transactionRef(userID, txID).Update(ctx, []firestore.Update{{Path: "updatedAt", Value: l.now()}})
	if isNotFound(err) {
		return fmt.Errorf("touch top-up %s: %w", txID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("touch top-up %s: %w", txID, err)
	}
	return nil
}
