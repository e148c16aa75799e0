package ledger

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/fault"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/store"
)

// Event identifies an external event (a Stripe event) to apply once.
type Event struct {
	ID       string
	Type     string
	ObjectID string // the Stripe object the event is about
}

// Results of processing an event.
const (
	// ResultApplied: the event changed the ledger.
	ResultApplied = "applied"
	// ResultUnchanged: the event was valid but the ledger already reflected
	// it (the same payment reported twice, a late failure after a success).
	ResultUnchanged = "unchanged"
	// ResultIgnored: an event type we do not act on.
	ResultIgnored = "ignored"
	// ResultUnmatched: an event about a user or transaction we do not know.
	ResultUnmatched = "unmatched"
	// ResultDuplicate: this event id was already processed; nothing was done.
	ResultDuplicate = "duplicate"
)

// Outcome says what processing an event did.
type Outcome struct {
	Result        string
	Detail        string
	UserID        string
	TransactionID string
	Amount        int64 // amount credited or debited, when applied
	// ReturnEntryID names the pending refund entry of a payment that
	// succeeded on a closing or deleted account: the caller makes that
	// refund in Stripe (ReturnPayment), and the deletion sweep finishes it.
	ReturnEntryID string
	// WrittenOff is what this event moved on a deleted account and a
	// written_off entry took back (see TypeWrittenOff): an operator's to
	// pursue (negative: a debt) or return (positive).
	WrittenOff int64
}

// Effect applies an event inside a Firestore transaction. Apply must do
// all of its reads before its writes (Firestore's rule) and must not call
// anything outside Firestore: it may run several times if the transaction
// retries.
//
// Reads are the documents Apply needs whatever it finds: Process reads them
// with the event's record in one round trip and hands Apply their
// snapshots, in order (a missing document's does not Exist). A transaction's
// latency is its round trips, and the credit, the webhook's hot path, needs
// only this one besides its commit. An effect whose reads depend on what it
// reads first reads the rest itself, through tx.
type Effect struct {
	Reads []*firestore.DocumentRef
	Apply func(ctx context.Context, tx *firestore.Transaction, read []*firestore.DocumentSnapshot) (Outcome, error)
}

// ReadsItself is an effect that reads everything it needs through tx.
func ReadsItself(apply func(ctx context.Context, tx *firestore.Transaction) (Outcome, error)) Effect {
	return Effect{Apply: func(ctx context.Context, tx *firestore.Transaction, _ []*firestore.DocumentSnapshot) (Outcome, error) {
		return apply(ctx, tx)
	}}
}

// Ignore is the effect of an event type we do not act on.
func Ignore(detail string) Effect {
	return ReadsItself(func(context.Context, *firestore.Transaction) (Outcome, error) {
		return Outcome{Result: ResultIgnored, Detail: detail}, nil
	})
}

// eventRecord is the stored form of a processed event.
type eventRecord struct {
	Type          string    `firestore:"type"`
	ObjectID      string    `firestore:"objectId,omitempty"`
	Result        string    `firestore:"result"`
	Detail        string    `firestore:"detail,omitempty"`
	UserID        string    `firestore:"userId,omitempty"`
	TransactionID string    `firestore:"transactionId,omitempty"`
	Amount        int64     `firestore:"amount,omitempty"`
	ProcessedAt   time.Time `firestore:"processedAt"`
	ExpireAt      time.Time `firestore:"expireAt"`
}

// Process applies effect and records ev as processed in one Firestore
// transaction. An event already recorded is a duplicate and changes nothing;
// a failed effect records nothing, so the sender's retry applies it later.
func (l *Ledger) Process(ctx context.Context, ev Event, effect Effect) (Outcome, error) {
	if err := store.CheckID(ev.ID); err != nil {
		return Outcome{}, err
	}
	ref := l.fs.Collection(EventsCollection).Doc(ev.ID)
	var out Outcome
	err := l.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snaps, err := tx.GetAll(append([]*firestore.DocumentRef{ref}, effect.Reads...))
		if err != nil {
			return fmt.Errorf("read event record %s: %w", ev.ID, err)
		}
		if snaps[0].Exists() {
			var rec eventRecord
			if err := snaps[0].DataTo(&rec); err != nil {
				return fmt.Errorf("decode event record %s: %w", ev.ID, err)
			}
			out = Outcome{Result: ResultDuplicate, Detail: "first outcome: " + rec.Result, UserID: rec.UserID, TransactionID: rec.TransactionID}
			return nil
		}
		if out, err = effect.Apply(ctx, tx, snaps[1:]); err != nil {
			return err
		}
		now := l.now()
		if err := fault.Point(ctx, fault.LedgerBeforeCommit); err != nil {
			return err
		}
		return tx.Create(ref, eventRecord{
			Type: ev.Type, ObjectID: ev.ObjectID,
			Result: out.Result, Detail: out.Detail,
			UserID: out.UserID, TransactionID: out.TransactionID, Amount: out.Amount,
			ProcessedAt: now, ExpireAt: now.Add(EventRetention),
		})
	})
	if err == nil {
		err = fault.Point(ctx, fault.LedgerAfterCommit)
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("process event %s (%s): %w", ev.ID, ev.Type, err)
	}
	if out.WrittenOff != 0 {
		logging.FromContext(ctx).ErrorContext(ctx, "money moved on a deleted account was written off; an operator must pursue the debt or return the money",
			"user_id", out.UserID, "transaction_id", out.TransactionID, "moved", out.WrittenOff)
	}
	return out, nil
}
