package account

import (
	"time"

	"cloud.google.com/go/firestore"
)

// The closing fields, written by package closing inside the transaction
// that moves the deletion.

// MarkClosing stops billing: the account is pending deletion, and its usage
// is billed through billedThrough.
func (s *Store) MarkClosing(tx *firestore.Transaction, userID string, billedThrough, at time.Time) error {
	return tx.Set(s.ref(userID), map[string]any{
		"status": StatusPendingDeletion, "billedThrough": billedThrough, "updatedAt": at,
	}, firestore.MergeAll)
}

// MarkDeleted records the account deleted.
func (s *Store) MarkDeleted(tx *firestore.Transaction, userID string, at time.Time) error {
	return tx.Set(s.ref(userID), map[string]any{"status": StatusDeleted, "deletedAt": at, "updatedAt": at}, firestore.MergeAll)
}

// Reopen opens a closing account again (its deletion was canceled);
// billedThrough stays, since that usage is on the final invoice.
func (s *Store) Reopen(tx *firestore.Transaction, userID string, at time.Time) error {
	return tx.Set(s.ref(userID), map[string]any{"status": firestore.Delete, "updatedAt": at}, firestore.MergeAll)
}
