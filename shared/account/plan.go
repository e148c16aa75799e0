package account

import (
	"time"

	"cloud.google.com/go/firestore"
)

// SetPlan records, inside the ledger's transaction that credits the
// package, the package plan the user bought.
func (s *Store) SetPlan(tx *firestore.Transaction, userID, plan string, at time.Time) error {
	return tx.Set(s.ref(userID), map[string]any{
		"plan": plan, "planPurchasedAt": at, "updatedAt": at,
	}, firestore.MergeAll)
}
