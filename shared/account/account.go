// Package account owns each user's account document, accounts/{userId}: it
// is the only code that reads or writes the document's fields. Others ask
// it, inside their own Firestore transaction when the change must commit
// with theirs: package customer keeps the Stripe customer and its repair
// schedule, the ledger records the plan a package bought, package closing
// marks the account closing, deleted or open again, and checkout asks
// whether money may land on it.
//
// Layout, accounts/{userId}:
//
//	email, customerId, paymentsStatus    the Stripe customer (pending | ready | failed)
//	customerGeneration                   customers deleted in Stripe so far (the next one's key)
//	lastError {operation, kind, code, message, at}, attempts, lastAttemptAt,
//	repairAt                             the customer's failed attempts; repairAt while it is missing
//	plan, planPurchasedAt                the package plan, once paid
//	packageTransactionId                 the last package purchase started
//	status, billedThrough, deletedAt     closing: status absent while open, pending_deletion, deleted
//	createdAt, updatedAt
//
// Subcollections (the ledger's transactions, the usage reports) belong to
// their packages, reached through store.UnderAccount.
package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"example.com/billing/shared/store"
)

// Payments statuses (paymentsStatus): whether the Stripe customer exists.
const (
	// PaymentsPending: no customer yet; a later call or the sweep retries.
	PaymentsPending = "pending"
	// PaymentsReady: the Stripe customer exists.
	PaymentsReady = "ready"
	// PaymentsFailed: Stripe refused this user's request itself.
	PaymentsFailed = "failed"
)

// Account statuses (status): absent while the account is open.
const (
	StatusPendingDeletion = "pending_deletion"
	StatusDeleted         = "deleted"
)

// ErrClosing: the account is being deleted (or is); billing has stopped, so
// no money may land on it.
var ErrClosing = errors.New("the account is being deleted")

// Account is the stored account of a user.
type Account struct {
	UserID         string     `firestore:"-"`
	Email          string     `firestore:"email"`
	CustomerID     string     `firestore:"customerId"`
	PaymentsStatus string     `firestore:"paymentsStatus"`
	LastError      *LastError `firestore:"lastError,omitempty"`
	Attempts       int64      `firestore:"attempts"`
	RepairAt       *time.Time `firestore:"repairAt,omitempty"`
	// Status is empty for an open account, then StatusPendingDeletion and
	// StatusDeleted; BilledThrough is the end of the last period billed.
	Status          string     `firestore:"status,omitempty"`
	BilledThrough   *time.Time `firestore:"billedThrough,omitempty"`
	DeletedAt       *time.Time `firestore:"deletedAt,omitempty"`
	Plan            string     `firestore:"plan,omitempty"`
	PlanPurchasedAt *time.Time `firestore:"planPurchasedAt,omitempty"`
	CreatedAt       time.Time  `firestore:"createdAt"`
	UpdatedAt       time.Time  `firestore:"updatedAt"`
	LastAttemptAt   *time.Time `firestore:"lastAttemptAt,omitempty"`

	// CustomerGeneration counts the customers Stripe deleted: the next one
	// is created under a key of its own.
	CustomerGeneration int64 `firestore:"customerGeneration,omitempty"`
	// CustomerKeyRound counts the customer creates Stripe failed with a
	// 5xx while executing: Stripe saves such an error as the idempotency
	// key's result and replays it for 24 hours, so the next create uses a
	// key of the next round.
	CustomerKeyRound int64 `firestore:"customerKeyRound,omitempty"`
	// PackageTransactionID is the last package purchase started: while it
	// is pending, or once a plan is held, no other may start.
	PackageTransactionID string `firestore:"packageTransactionId,omitempty"`
}

// LastError is the last Stripe failure for the account.
type LastError struct {
	Operation string    `firestore:"operation"`
	Kind      string    `firestore:"kind"`
	Code      string    `firestore:"code"`
	Message   string    `firestore:"message"`
	At        time.Time `firestore:"at"`
}

// MayReceiveMoney reports, as ErrClosing, an account on which no payment may
// start: one being deleted, or deleted.
func (a Account) MayReceiveMoney() error {
	if a.Status != "" {
		return fmt.Errorf("%w (%s)", ErrClosing, a.Status)
	}
	return nil
}

// Store reads and writes account documents.
type Store struct {
	fs *firestore.Client
}

// NewStore returns a Store on fs.
func NewStore(fs *firestore.Client) *Store { return &Store{fs: fs} }

// Ref is the account's document, for a transaction that reads it with
// others in one round trip (Decode decodes it).
func (s *Store) Ref(userID string) *firestore.DocumentRef {
	return s.fs.Collection(store.AccountsCollection).Doc(userID)
}

// Decode decodes the user's account from a snapshot read as Ref; a missing
// one is store.ErrNotFound.
func Decode(userID string, snap *firestore.DocumentSnapshot) (Account, error) {
	if !snap.Exists() {
		return Account{}, fmt.Errorf("account %s: %w", userID, store.ErrNotFound)
	}
	return decode(userID, snap, nil)
}

// Get returns the stored account, or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, userID string) (Account, error) {
	if err := store.CheckID(userID); err != nil {
		return Account{}, err
	}
	snap, err := s.Ref(userID).Get(ctx)
	return decode(userID, snap, err)
}

// GetIn reads the account inside tx; an absent one is store.ErrNotFound.
func (s *Store) GetIn(tx *firestore.Transaction, userID string) (Account, error) {
	if err := store.CheckID(userID); err != nil {
		return Account{}, err
	}
	snap, err := tx.Get(s.Ref(userID))
	return decode(userID, snap, err)
}

func decode(userID string, snap *firestore.DocumentSnapshot, err error) (Account, error) {
	if status.Code(err) == codes.NotFound {
		return Account{}, fmt.Errorf("account %s: %w", userID, store.ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("read account %s: %w", userID, err)
	}
	var a Account
	if err := snap.DataTo(&a); err != nil {
		return Account{}, fmt.Errorf("decode account %s: %w", userID, err)
	}
	a.UserID = userID
	return a, nil
}
