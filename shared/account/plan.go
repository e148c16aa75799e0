package account

import (
	"time"

	"cloud.google.com/go/firestore"
)

// SetPlan records, inside the ledger's transaction that credits the
// package, the package plan the user bought.
func (s *Store) SetPlan(tx *firestore.Transaction, userID, plan string, at time.Time) error {
	return tx.Set(s.Ref(userID), map[string]any{
		"plan": plan, "planPurchasedAt": at, "updatedAt": at,
	}, firestore.MergeAll)
}

// StartPackagePurchase records, inside the ledger's transaction that
// records a package purchase, that txID is the account's purchase under
// way.
func (s *Store) StartPackagePurchase(tx *firestore.Transaction, userID, txID string, at time.Time) error {
	return tx.Set(s.Ref(userID), map[string]any{"packageTransactionId": txID, "updatedAt": at}, firestore.MergeAll)
}
