package account

import (
	"time"

	"cloud.google.com/go/firestore"
)

// The closing fields, written by package closing inside the transaction
// that moves the deletion.

// MarkClosing stops billing: the account is pending deletion, and every
// usage report received through billedThrough is billed (zero: none yet).
func (s *Store) MarkClosing(tx *firestore.Transaction, userID string, billedThrough, at time.Time) error {
	fields := map[string]any{"status": StatusPendingDeletion, "updatedAt": at}
	if !billedThrough.IsZero() {
		fields["billedThrough"] = billedThrough
	}
	return tx.Set(s.Ref(userID), fields, firestore.MergeAll)
}

// MarkDeleted records the account deleted.
func (s *Store) MarkDeleted(tx *firestore.Transaction, userID string, at time.Time) error {
	return tx.Set(s.Ref(userID), map[string]any{"status": StatusDeleted, "deletedAt": at, "updatedAt": at}, firestore.MergeAll)
}

// Reopen opens a closing account again (its deletion was canceled);
// billedThrough stays, since that usage is on the final invoice.
func (s *Store) Reopen(tx *firestore.Transaction, userID string, at time.Time) error {
	return tx.Set(s.Ref(userID), map[string]any{"status": firestore.Delete, "updatedAt": at}, firestore.MergeAll)
}
