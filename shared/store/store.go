// Package store holds what every package that reads or writes Firestore
// shares: what a document id may be, the collection every user's documents
// hang under, and the one "not found" error. It owns no document: the
// account document itself belongs to package account, its subcollections to
// their packages (the ledger's transactions, metering's usage reports),
// which reach them through UnderAccount.
package store

import (
	"errors"
	"fmt"
	"strings"

	"cloud.google.com/go/firestore"
)

// AccountsCollection holds one document per user, accounts/{userId}, owned
// by package account; other packages keep subcollections under it.
const AccountsCollection = "accounts"

// Errors callers act on.
var (
	// ErrNotFound: the document asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidID: an id that cannot name a Firestore document.
	ErrInvalidID = errors.New("invalid id")
)

// CheckID reports whether id can name a Firestore document and is of a sane
// length for our ids (user ids, transaction ids, Stripe ids).
func CheckID(id string) error {
	switch {
	case id == "" || len(id) > 256:
		return fmt.Errorf("%w: %q must be 1 to 256 bytes", ErrInvalidID, id)
	case strings.Contains(id, "/") || id == "." || id == ".." || (strings.HasPrefix(id, "__") && strings.HasSuffix(id, "__")):
		return fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	return nil
}

// UnderAccount returns the collection name under a user's account
// document, accounts/{userId}/{name}; it gives no access to the account's
// own fields.
func UnderAccount(fs *firestore.Client, userID, name string) *firestore.CollectionRef {
	return fs.Collection(AccountsCollection).Doc(userID).Collection(name)
}
