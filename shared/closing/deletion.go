// Package closing owns closing an account that has billing: what stands in
// the way (unpaid invoices, pending invoice items, payments under way), the
// final bill for usage since the last invoice, and the state machine that
// gets from the request to a deleted account without losing or doubling
// money:
//
//	invoicing ──▶ awaiting_payment ──(invoice.paid)──▶ completing ──▶ deleted
//	refunding ───────────────────────────────────────▶ completing
//	invoicing / awaiting_payment ──(CancelDeletion)──▶ canceled
//
// The request is one Firestore transaction: it records the deletion, debits
// the prepaid balance (usage first, the rest to refunds), marks the account
// pending_deletion and records the account-deletion-requested event. Every
// step that leaves Firestore (the Stripe invoice, refunds, card detaching,
// publishing) is then driven from that recorded state by Advance, with
// deterministic idempotency keys, so a retry or the sweep finishes whatever
// a dead process left.
//
// Layout: deletions/{userId} (see Deletion).
package closing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"example.com/billing/shared/account"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/metering"
	"example.com/billing/shared/payments"
)

// Collection holds one document per user: deletions/{userId}.
const Collection = "deletions"

// States of a deletion.
const (
	StateInvoicing       = "invoicing"        // recorded; the final invoice is being made in Stripe
	StateAwaitingPayment = "awaiting_payment" // the final invoice was sent; waiting for invoice.paid
	StateRefunding       = "refunding"        // the balance covered the usage; the rest goes back to cards
	StateCompleting      = "completing"       // settled; saved cards being detached
	StateDeleted         = "deleted"
	StateCanceled        = "canceled"
)

// Account statuses (accounts/{userId}.status, kept by package account).
const (
	AccountPendingDeletion = account.StatusPendingDeletion
	AccountDeleted         = account.StatusDeleted
)

// Topics of the events the deletion publishes for the satellite.
const (
	TopicDeletionRequested = "account-deletion-requested"
	TopicDeleted           = "account-deleted"
	TopicDeletionCanceled  = "account-deletion-canceled"
)

// Errors callers act on.
var (
	ErrBlocked       = errors.New("deletion is blocked")
	ErrNotCancelable = errors.New("the deletion can no longer be canceled")
	ErrNoDeletion    = errors.New("no deletion in progress")
	ErrDeleted       = errors.New("the account is deleted")
)

// LineDebt is the kind of the final bill's line for a negative balance.
const LineDebt = "balance_due"

// Line is a priced line of the final bill.
type Line struct {
	Kind        string `firestore:"kind"`
	Description string `firestore:"description"`
	Amount      int64  `firestore:"amount"`
}

// Refund is one card top-up getting part of the closing balance back.
type Refund struct {
	EntryID             string `firestore:"entryId"`             // the ledger's refund entry
	SourceTransactionID string `firestore:"sourceTransactionId"` // the top-up
	PaymentIntentID     string `firestore:"paymentIntentId"`
	Amount              int64  `firestore:"amount"`
	RefundID            string `firestore:"refundId,omitempty"` // Stripe's, once made
	// Refunded is what Stripe refunded when it is less than Amount: the
	// rest had been refunded outside this service (the Dashboard) before
	// the ledger heard of it, so it went back to the card all the same.
	Refunded int64 `firestore:"refunded,omitempty"`
	// FailureCode is Stripe's code when it refused the refund for good
	// (charge_already_refunded, charge_disputed, ...): an operator's task.
	FailureCode string `firestore:"failureCode,omitempty"`
}

// settled reports a refund made, or refused for good.
func (r Refund) settled() bool { return r.RefundID != "" || r.FailureCode != "" }

// Deletion is the stored state of a user's deletion.
type Deletion struct {
	UserID           string     `firestore:"-"`
	Request          int64      `firestore:"request"` // 1, 2, ... for the user; part of every key
	State            string     `firestore:"state"`
	RequestedAt      time.Time  `firestore:"requestedAt"`
	UpdatedAt        time.Time  `firestore:"updatedAt"`
	PeriodStart      time.Time  `firestore:"periodStart"`
	PeriodEnd        time.Time  `firestore:"periodEnd"`
	UsageAmount      int64      `firestore:"usageAmount"`
	BalanceApplied   int64      `firestore:"balanceApplied"`
	InvoiceAmount    int64      `firestore:"invoiceAmount"`
	Lines            []Line     `firestore:"lines"`
	InvoiceID        string     `firestore:"invoiceId,omitempty"`
	InvoiceStatus    string     `firestore:"invoiceStatus,omitempty"`
	HostedInvoiceURL string     `firestore:"hostedInvoiceUrl,omitempty"`
	InvoiceDueAt     *time.Time `firestore:"invoiceDueAt,omitempty"`
	Refunds          []Refund   `firestore:"refunds"`
	Forfeited        int64      `firestore:"forfeited"`
	Attempts         int64      `firestore:"attempts"`
	// NextAttemptAt is set while a step outside Firestore is owed
	// (invoicing, refunding, completing): the sweep drives what is due.
	NextAttemptAt *time.Time `firestore:"nextAttemptAt,omitempty"`
	LastError     string     `firestore:"lastError,omitempty"`
	CompletedAt   *time.Time `firestore:"completedAt,omitempty"`
	CanceledAt    *time.Time `firestore:"canceledAt,omitempty"`
}

// InProgress reports a deletion that is neither finished nor canceled.
func (d Deletion) InProgress() bool { return inProgress(d.State) }

func inProgress(state string) bool {
	return state != "" && state != StateDeleted && state != StateCanceled
}

// key is the deletion's own id, used in idempotency keys and event ids.
func (d Deletion) key() string { return fmt.Sprintf("%s-%d", d.UserID, d.Request) }

// InvoiceKey is the final invoice's idempotency key and metadata value.
func (d Deletion) InvoiceKey() string { return "final-invoice-" + d.key() }

const defaultDaysUntilDue = 30

// What the service needs of its dependencies.
type (
	billing interface {
		UnpaidInvoices(ctx context.Context, customerID string) ([]payments.Invoice, error)
		PendingInvoiceItems(ctx context.Context, customerID string) (int, int64, error)
		FindInvoice(ctx context.Context, customerID, key, value string) (payments.Invoice, error)
		CreateInvoice(ctx context.Context, p payments.NewInvoice, idempotencyKey string) (payments.Invoice, error)
		AddInvoiceItem(ctx context.Context, p payments.NewInvoiceItem, idempotencyKey string) error
		GetInvoice(ctx context.Context, id string) (payments.Invoice, error)
		FinalizeAndSendInvoice(ctx context.Context, id string) (payments.Invoice, error)
		RefundPayment(ctx context.Context, paymentIntentID string, amount int64, metadata map[string]string, idempotencyKey string) (payments.Refund, error)
		FindRefund(ctx context.Context, paymentIntentID, transactionID string) (payments.Refund, error)
		Unrefunded(ctx context.Context, paymentIntentID string) (int64, error)
		CancelOpenPaymentIntents(ctx context.Context, customerID string) (int, error)
		DetachCards(ctx context.Context, customerID string) (int, error)
	}
	customers interface {
		Ensure(ctx context.Context, userID, email string) (account.Account, error)
		Get(ctx context.Context, userID string) (account.Account, error)
	}
	usageStore interface {
		Since(ctx context.Context, tx *firestore.Transaction, userID string, from time.Time) (metering.Period, error)
	}
	outbox interface {
		Add(tx *firestore.Transaction, id, topic string, payload any) error
		Flush(ctx context.Context, ids ...string) error
	}
)

// Config of the deletion flow.
type Config struct {
	// DaysUntilDue is how long the final invoice may stay unpaid before the
	// check reports it overdue; it is also the invoice's own term.
	DaysUntilDue int64 `env:"DELETION_INVOICE_DAYS, default=30"`
}

// Service runs deletions.
type Service struct {
	fs           *firestore.Client
	accounts     *account.Store
	ledger       *ledger.Ledger
	customers    customers
	stripe       billing
	usage        usageStore
	prices       metering.Prices
	outbox       outbox
	daysUntilDue int64
	now          func() time.Time
}

// New wires a Service.
func New(fs *firestore.Client, l *ledger.Ledger, c customers, b billing, u usageStore, prices metering.Prices, o outbox, cfg Config) *Service {
	days := cfg.DaysUntilDue
	if days <= 0 {
		days = defaultDaysUntilDue
	}
	return &Service{fs: fs, accounts: account.NewStore(fs), ledger: l, customers: c, stripe: b, usage: u, prices: prices, outbox: o, daysUntilDue: days,
		now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// WithClock replaces the service's clock (tests step it past due dates).
func (s *Service) WithClock(now func() time.Time) *Service {
	s.now = now
	return s
}

func (s *Service) ref(userID string) *firestore.DocumentRef {
	return s.fs.Collection(Collection).Doc(userID)
}

// Get returns the user's deletion, or a zero Deletion (State "") if none.
func (s *Service) Get(ctx context.Context, tx *firestore.Transaction, userID string) (Deletion, error) {
	var snap *firestore.DocumentSnapshot
	var err error
	if tx != nil {
		snap, err = tx.Get(s.ref(userID))
	} else {
		snap, err = s.ref(userID).Get(ctx)
	}
	if status.Code(err) == codes.NotFound {
		return Deletion{UserID: userID}, nil
	}
	if err != nil {
		return Deletion{}, fmt.Errorf("read deletion of %s: %w", userID, err)
	}
	var d Deletion
	if err := snap.DataTo(&d); err != nil {
		return Deletion{}, fmt.Errorf("decode deletion of %s: %w", userID, err)
	}
	d.UserID = userID
	return d, nil
}

// eventIDs are the outbox ids of a deletion's events.
func requestedEventID(d Deletion) string { return TopicDeletionRequested + "-" + d.key() }
func deletedEventID(d Deletion) string   { return TopicDeleted + "-" + d.key() }
func canceledEventID(d Deletion) string  { return TopicDeletionCanceled + "-" + d.key() }

// Event is the payload of the deletion topics.
type Event struct {
	EventID          string     `json:"eventId"`
	UserID           string     `json:"userId"`
	RequestedAt      time.Time  `json:"requestedAt"`
	FinalInvoiceID   string     `json:"finalInvoiceId,omitempty"`
	FinalAmountDue   int64      `json:"finalAmountDue"`
	DeletedAt        *time.Time `json:"deletedAt,omitempty"`
	CanceledAt       *time.Time `json:"canceledAt,omitempty"`
	BillingStoppedAt time.Time  `json:"billingStoppedAt"`
}

func (s *Service) logger(ctx context.Context, userID string) context.Context {
	return logging.WithLogger(ctx, logging.FromContext(ctx).With("user_id", userID))
}
