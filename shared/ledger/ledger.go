// Package ledger owns money in Firestore: each user's balance, the history of
// transactions (ledger entries), and the record of every Stripe event
// processed. Every change that touches more than one document is a single
// Firestore transaction, and every external event is applied through Process,
// which records the event id in the same transaction as its effect, so an
// event's effect happens exactly once whatever the retries, duplicates or
// crashes.
//
// Layout:
//
//	balances/{userId}                          amount (int64 minor units), currency, updatedAt
//	accounts/{userId}/transactions/{txId}      one ledger entry (see Transaction)
//	stripe_events/{eventId}                    a processed event; expireAt is the TTL field
//	payment_intents/{paymentIntentId}          userId, transactionId of our intents
package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"example.com/billing/shared/account"
	"example.com/billing/shared/store"
)

// Collections and fields shared with the rest of the project.
const (
	// TransactionsCollection is under each account: accounts/{userId}/transactions.
	TransactionsCollection = "transactions"
	BalancesCollection     = "balances"
	EventsCollection       = "stripe_events"
	// IntentsCollection maps a Stripe PaymentIntent to its transaction, so
	// that charge and dispute events find it by document id.
	IntentsCollection = "payment_intents"
	// ExpireAtField is the field of the Firestore TTL policy on EventsCollection.
	ExpireAtField = "expireAt"
)

// Currency is the single currency balances are kept in.
const Currency = "usd"

// EventRetention is how long a processed-event record is kept: far longer
// than Stripe's 3 days of webhook retries and its 24 h idempotency-key memory.
const EventRetention = 30 * 24 * time.Hour

// Transaction types.
const (
	TypeCardTopUp       = "card_topup"
	TypePackagePurchase = "package_purchase"
	// Debits, recorded with negative amounts.
	TypeUsageCharge      = "usage_charge"      // the balance paying for usage
	TypeRefund           = "refund"            // balance returned to the card it came from
	TypeBalanceForfeited = "balance_forfeited" // what could not be refunded when an account closed
	TypeInvoiceCredit    = "invoice_credit"    // the balance paying a Stripe invoice, as a customer credit
	// A credit: a negative balance moved onto the final invoice at closing.
	TypeDebtInvoiced = "debt_invoiced"
	// Either sign: what keeps a deleted account's balance at zero. A
	// reversal reported after the account was deleted (a chargeback, a
	// Dashboard refund) is a debt no invoice can collect any more, written
	// off (a credit); funds coming back to it (a dispute won) settle such a
	// debt or are money an operator returns (a debit). Closing writes off
	// whatever moved the balance between the deletion's plan and its end.
	// Every one is logged as an error for the operators.
	TypeWrittenOff = "written_off"
)

// PaymentTypes are the entries a card payment starts (checkout): the only
// ones CancelStalePayments and Reconcile settle. The other pending entries
// (invoice credits, deletion refunds) are finished by their own flows.
var PaymentTypes = []string{TypeCardTopUp, TypePackagePurchase}

// Transaction statuses.
const (
	StatusPending   = "pending"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCanceled  = "canceled"
	StatusRefunded  = "refunded" // a top-up whose whole amount went back to the card
)

// Errors callers act on.
var (
	// ErrNotFound is store.ErrNotFound: a transaction (or account) that
	// does not exist.
	ErrNotFound = store.ErrNotFound
	// ErrConflict: a transaction with this id exists with other parameters
	// (a client idempotency key reused for a different request).
	ErrConflict = errors.New("transaction exists with different parameters")
	// ErrPackagePurchased: the account holds a package plan; another
	// package may not be bought.
	ErrPackagePurchased = errors.New("the account already holds a package plan")
	// ErrPackagePending: another package purchase of the account is still
	// pending.
	ErrPackagePending = errors.New("another package purchase is under way")
)

// Ledger reads and writes the ledger documents.
type Ledger struct {
	fs       *firestore.Client
	accounts *account.Store
	now      func() time.Time
}

// New returns a ledger on fs.
func New(fs *firestore.Client) *Ledger {
	// Firestore keeps microseconds; truncating here makes what we return equal
	// what a later read returns.
	return &Ledger{fs: fs, accounts: account.NewStore(fs), now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

func (l *Ledger) transactionRef(userID, txID string) *firestore.DocumentRef {
	return store.UnderAccount(l.fs, userID, TransactionsCollection).Doc(txID)
}

func (l *Ledger) balanceRef(userID string) *firestore.DocumentRef {
	return l.fs.Collection(BalancesCollection).Doc(userID)
}

func isNotFound(err error) bool { return status.Code(err) == codes.NotFound }

// credit adds amount to the user's balance inside tx. It is a blind
// increment: no read of the balance document, so concurrent credits for one
// user do not contend on a read lock.
func (l *Ledger) credit(tx *firestore.Transaction, userID string, amount int64, now time.Time) error {
	return tx.Set(l.balanceRef(userID), map[string]any{
		"amount":    firestore.Increment(amount),
		"currency":  Currency,
		"updatedAt": now,
	}, firestore.MergeAll)
}

// intentIndex is payment_intents/{id}.
type intentIndex struct {
	UserID        string    `firestore:"userId"`
	TransactionID string    `firestore:"transactionId"`
	CreatedAt     time.Time `firestore:"createdAt"`
}

// indexIntent records, inside tx, which transaction a PaymentIntent pays.
func (l *Ledger) indexIntent(tx *firestore.Transaction, paymentIntentID, userID, txID string) error {
	if store.CheckID(paymentIntentID) != nil {
		return nil
	}
	return tx.Set(l.fs.Collection(IntentsCollection).Doc(paymentIntentID), intentIndex{UserID: userID, TransactionID: txID, CreatedAt: l.now()})
}

// IntentIndexed reports whether a PaymentIntent is in payment_intents, i.e.
// whether an event that names only the intent finds its top-up.
func (l *Ledger) IntentIndexed(ctx context.Context, paymentIntentID string) (bool, error) {
	if store.CheckID(paymentIntentID) != nil {
		return false, nil
	}
	_, err := l.fs.Collection(IntentsCollection).Doc(paymentIntentID).Get(ctx)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read payment intent index %s: %w", paymentIntentID, err)
	}
	return true, nil
}
