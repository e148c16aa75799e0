package ledger

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

// Transaction is one ledger entry, stored at
// accounts/{userId}/transactions/{id}.
type Transaction struct {
	ID     string `firestore:"-"`
	UserID string `firestore:"userId"`
	Type   string `firestore:"type"`
	// Amount is what the transaction adds to the balance: for a card
	// top-up what Stripe received, for a package its credit.
	Amount int64 `firestore:"amount"`
	// ChargeAmount is what the card is charged.
	ChargeAmount    int64  `firestore:"chargeAmount"`
	Currency        string `firestore:"currency"`
	Status          string `firestore:"status"`
	PackageID       string `firestore:"packageId,omitempty"`
	PaymentIntentID string `firestore:"paymentIntentId,omitempty"`
	// PaymentMethodID is the saved card the request named, kept so a replay
	// of the same idempotency key with another card is recognised.
	PaymentMethodID string `firestore:"paymentMethodId,omitempty"`
	// RefundedAmount is how much of a credited top-up went back to the card.
	RefundedAmount int64 `firestore:"refundedAmount,omitempty"`
	// SourceTransactionID is, on a refund, the top-up it returns money from;
	// RefundID the Stripe refund once made.
	SourceTransactionID string `firestore:"sourceTransactionId,omitempty"`
	RefundID            string `firestore:"refundId,omitempty"`
	// InvoiceID is the Stripe invoice an invoice credit pays, and
	// StripeID the Stripe object that carried it out.
	InvoiceID string `firestore:"invoiceId,omitempty"`
	StripeID  string `firestore:"stripeId,omitempty"`
	// Credited guards the balance: a transaction adds to it at most once,
	// whichever event or job reports the payment, and whatever its status
	// becomes later.
	Credited       bool       `firestore:"credited"`
	CreditedAt     *time.Time `firestore:"creditedAt,omitempty"`
	FailureCode    string     `firestore:"failureCode,omitempty"`
	FailureMessage string     `firestore:"failureMessage,omitempty"`
	CreatedAt      time.Time  `firestore:"createdAt"`
	UpdatedAt      time.Time  `firestore:"updatedAt"`
}

// TopUp is a request to add funds: a card top-up, or a package purchase
// whose credit differs from its price.
type TopUp struct {
	UserID string
	ID     string
	Type   string
	// Amount is the credit; ChargeAmount the price, Amount when zero.
	Amount          int64
	ChargeAmount    int64
	Currency        string
	PaymentMethodID string
	PackageID       string
}

func (t TopUp) charge() int64 {
	if t.ChargeAmount == 0 {
		return t.Amount
	}
	return t.ChargeAmount
}

// Matches reports whether tr was recorded for this same request. Once
// credited, a transaction's amount is what Stripe received, so the amount is
// not compared then.
func (t TopUp) Matches(tr Transaction) bool {
	return tr.Type == t.Type && tr.Currency == t.Currency && tr.PaymentMethodID == t.PaymentMethodID &&
		tr.PackageID == t.PackageID && tr.ChargeAmount == t.charge() && (tr.Amount == t.Amount || tr.Credited)
}

// BeginTopUp records a pending top-up, or returns the existing transaction
// with this id if it was recorded by an earlier attempt of the same request
// (created reports which). An existing one with other parameters is
// ErrConflict. A create is atomic on its own, so the first attempt costs one
// write and no transaction.
func (l *Ledger) BeginTopUp(ctx context.Context, t TopUp) (tr Transaction, created bool, err error) {
	if err := errors.Join(store.CheckID(t.UserID), store.CheckID(t.ID)); err != nil {
		return Transaction{}, false, err
	}
	ref := l.transactionRef(t.UserID, t.ID)
	now := l.now()
	tr = Transaction{
		ID: t.ID, UserID: t.UserID, Type: t.Type, Amount: t.Amount, ChargeAmount: t.charge(), Currency: t.Currency,
		PaymentMethodID: t.PaymentMethodID, PackageID: t.PackageID, Status: StatusPending, CreatedAt: now, UpdatedAt: now,
	}
	_, err = ref.Create(ctx, tr)
	if err == nil {
		return tr, true, nil
	}
	if status.Code(err) != codes.AlreadyExists {
		return Transaction{}, false, fmt.Errorf("begin top-up %s: %w", t.ID, err)
	}
	snap, err := ref.Get(ctx)
	if err != nil {
		return Transaction{}, false, fmt.Errorf("begin top-up %s: %w", t.ID, err)
	}
	if tr, err = decodeTransaction(snap); err != nil {
		return Transaction{}, false, err
	}
	if !t.Matches(tr) {
		return Transaction{}, false, fmt.Errorf("begin top-up %s: %w", t.ID, ErrConflict)
	}
	return tr, false, nil
}

// AttachNewPaymentIntent records the intent of a transaction this request
// has just created (so it is pending, has no intent, and nothing but a
// webhook for this very intent can have touched it): one batched write, no
// transaction. Retries use AttachPaymentIntent.
func (l *Ledger) AttachNewPaymentIntent(ctx context.Context, userID, txID, paymentIntentID string) error {
	b := l.fs.Batch()
	b.Update(l.transactionRef(userID, txID), []firestore.Update{
		{Path: "paymentIntentId", Value: paymentIntentID},
		{Path: "updatedAt", Value: l.now()},
	})
	b.Set(l.fs.Collection(IntentsCollection).Doc(paymentIntentID), intentIndex{UserID: userID, TransactionID: txID, CreatedAt: l.now()})
	if _, err := b.Commit(ctx); err != nil {
		return fmt.Errorf("attach payment intent %s to %s: %w", paymentIntentID, txID, err)
	}
	return nil
}

// Transaction returns one of the user's transactions, or ErrNotFound.
func (l *Ledger) Transaction(ctx context.Context, userID, txID string) (Transaction, error) {
	if err := errors.Join(store.CheckID(userID), store.CheckID(txID)); err != nil {
		return Transaction{}, err
	}
	snap, err := l.transactionRef(userID, txID).Get(ctx)
	if isNotFound(err) {
		return Transaction{}, fmt.Errorf("transaction %s: %w", txID, ErrNotFound)
	}
	if err != nil {
		return Transaction{}, fmt.Errorf("read transaction %s: %w", txID, err)
	}
	return decodeTransaction(snap)
}

func decodeTransaction(snap *firestore.DocumentSnapshot) (Transaction, error) {
	var t Transaction
	if err := snap.DataTo(&t); err != nil {
		return Transaction{}, fmt.Errorf("decode transaction %s: %w", snap.Ref.ID, err)
	}
	t.ID = snap.Ref.ID
	return t, nil
}

// updateTransaction reads a transaction and applies the updates change
// decides on, in one Firestore transaction; no updates means no write.
func (l *Ledger) updateTransaction(ctx context.Context, userID, txID string, change func(Transaction) ([]firestore.Update, error)) error {
	ref := l.transactionRef(userID, txID)
	return l.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if err != nil {
			return err
		}
		t, err := decodeTransaction(snap)
		if err != nil {
			return err
		}
		updates, err := change(t)
		if err != nil || len(updates) == 0 {
			return err
		}
		for _, u := range updates {
			if u.Path == "paymentIntentId" {
				if err := l.indexIntent(tx, u.Value.(string), userID, txID); err != nil {
					return err
				}
			}
		}
		return tx.Update(ref, append(updates, firestore.Update{Path: "updatedAt", Value: l.now()}))
	})
}

// AttachPaymentIntent records the Stripe PaymentIntent created for a
// top-up. A transaction that was marked failed because Stripe could not be
// reached becomes pending again: the intent exists after all.
func (l *Ledger) AttachPaymentIntent(ctx context.Context, userID, txID, paymentIntentID string) error {
	err := l.updateTransaction(ctx, userID, txID, func(t Transaction) ([]firestore.Update, error) {
		if t.PaymentIntentID != "" && t.PaymentIntentID != paymentIntentID {
			return nil, fmt.Errorf("transaction already has payment intent %s", t.PaymentIntentID)
		}
		var updates []firestore.Update
		if t.PaymentIntentID == "" {
			updates = append(updates, firestore.Update{Path: "paymentIntentId", Value: paymentIntentID})
		}
		if t.Status == StatusFailed && !t.Credited {
			updates = append(updates,
				firestore.Update{Path: "status", Value: StatusPending},
				firestore.Update{Path: "failureCode", Value: firestore.Delete},
				firestore.Update{Path: "failureMessage", Value: firestore.Delete})
		}
		return updates, nil
	})
	if err != nil {
		return fmt.Errorf("attach payment intent %s to %s: %w", paymentIntentID, txID, err)
	}
	return nil
}

// FailTopUp marks a still-pending top-up failed (a declined card, or Stripe
// out of reach before an intent existed). It never touches a credited one.
func (l *Ledger) FailTopUp(ctx context.Context, userID, txID, paymentIntentID, code, message string) error {
	err := l.updateTransaction(ctx, userID, txID, func(t Transaction) ([]firestore.Update, error) {
		if t.Credited || t.Status != StatusPending && t.Status != StatusFailed {
			return nil, nil
		}
		updates := []firestore.Update{
			{Path: "status", Value: StatusFailed},
			{Path: "failureCode", Value: code},
			{Path: "failureMessage", Value: message},
		}
		if paymentIntentID != "" && t.PaymentIntentID == "" {
			updates = append(updates, firestore.Update{Path: "paymentIntentId", Value: paymentIntentID})
		}
		return updates, nil
	})
	if err != nil {
		return fmt.Errorf("fail top-up %s: %w", txID, err)
	}
	return nil
}

// Payment is what the payment provider reports about one of our
// PaymentIntents.
type Payment struct {
	UserID          string
	TransactionID   string
	PaymentIntentID string
	// Status is StatusSucceeded, StatusFailed or StatusCanceled.
	Status         string
	AmountReceived int64
	Currency       string
	FailureCode    string
	FailureMessage string
}

// SettleTopUp is the effect of a payment report on its top-up. Success
// credits exactly once (a card top-up what was received, a package its
// credit, recording the user's plan too) (the transaction's Credited flag is the
// guard, not the event id, so two different reports of one payment credit
// once); failure or cancellation never undoes a success.
func (l *Ledger) SettleTopUp(p Payment) Effect {
	return func(ctx context.Context, tx *firestore.Transaction) (Outcome, error) {
		out := Outcome{UserID: p.UserID, TransactionID: p.TransactionID}
		if store.CheckID(p.UserID) != nil || store.CheckID(p.TransactionID) != nil {
			out.Result, out.Detail = ResultUnmatched, "payment intent has no valid user_id/transaction_id metadata"
			return out, nil
		}
		ref := l.transactionRef(p.UserID, p.TransactionID)
		snap, err := tx.Get(ref)
		if isNotFound(err) {
			out.Result, out.Detail = ResultUnmatched, "no such transaction"
			return out, nil
		}
		if err != nil {
			return Outcome{}, fmt.Errorf("read transaction %s: %w", p.TransactionID, err)
		}
		t, err := decodeTransaction(snap)
		if err != nil {
			return Outcome{}, err
		}
		if t.PaymentIntentID != "" && t.PaymentIntentID != p.PaymentIntentID {
			out.Result, out.Detail = ResultUnmatched, "transaction belongs to payment intent "+t.PaymentIntentID
			return out, nil
		}
		now := l.now()
		switch p.Status {
		case StatusSucceeded:
			switch {
			case t.Credited:
				out.Result, out.Detail = ResultUnchanged, "already credited"
				return out, nil
			case p.Currency != t.Currency:
				out.Result, out.Detail = ResultUnmatched, fmt.Sprintf("paid in %q, transaction is in %q", p.Currency, t.Currency)
				return out, nil
			case p.AmountReceived <= 0:
				out.Result, out.Detail = ResultUnmatched, "succeeded with nothing received"
				return out, nil
			case t.Type == TypePackagePurchase && p.AmountReceived < t.ChargeAmount:
				out.Result, out.Detail = ResultUnmatched, fmt.Sprintf("received %d, the package costs %d", p.AmountReceived, t.ChargeAmount)
				return out, nil
			}
			if t.PaymentIntentID == "" {
				if err := l.indexIntent(tx, p.PaymentIntentID, p.UserID, p.TransactionID); err != nil {
					return Outcome{}, err
				}
			}
			credit := p.AmountReceived
			if t.Type == TypePackagePurchase {
				credit = t.Amount
				// The plan is the user's once the package is paid, in the
				// same transaction as its credit.
				if err := l.accounts.SetPlan(tx, p.UserID, t.PackageID, now); err != nil {
					return Outcome{}, err
				}
			}
			// Only what changes: every field written costs the datastore
			// index work on the hottest path.
			updates := []firestore.Update{
				{Path: "status", Value: StatusSucceeded},
				{Path: "credited", Value: true},
				{Path: "creditedAt", Value: now},
				{Path: "updatedAt", Value: now},
			}
			if credit != t.Amount {
				updates = append(updates, firestore.Update{Path: "amount", Value: credit})
			}
			if t.PaymentIntentID != p.PaymentIntentID {
				updates = append(updates, firestore.Update{Path: "paymentIntentId", Value: p.PaymentIntentID})
			}
			if t.FailureCode != "" || t.FailureMessage != "" {
				updates = append(updates, firestore.Update{Path: "failureCode", Value: firestore.Delete},
					firestore.Update{Path: "failureMessage", Value: firestore.Delete})
			}
			if err := tx.Update(ref, updates); err != nil {
				return Outcome{}, err
			}
			if err := l.credit(tx, p.UserID, credit, now); err != nil {
				return Outcome{}, err
			}
			out.Result, out.Amount = ResultApplied, credit
			return out, nil
		case StatusFailed, StatusCanceled:
			if t.Credited || t.Status == StatusSucceeded {
				out.Result, out.Detail = ResultUnchanged, "already succeeded"
				return out, nil
			}
			if t.Status == p.Status && t.FailureCode == p.FailureCode {
				out.Result = ResultUnchanged
				return out, nil
			}
			updates := []firestore.Update{
				{Path: "status", Value: p.Status},
				{Path: "paymentIntentId", Value: p.PaymentIntentID},
				{Path: "updatedAt", Value: now},
				{Path: "failureCode", Value: deleteIfEmpty(p.FailureCode)},
				{Path: "failureMessage", Value: deleteIfEmpty(p.FailureMessage)},
			}
			if err := tx.Update(ref, updates); err != nil {
				return Outcome{}, err
			}
			out.Result = ResultApplied
			return out, nil
		default:
			return Outcome{}, fmt.Errorf("settle top-up: unknown payment status %q", p.Status)
		}
	}
}

func deleteIfEmpty(v string) any {
	if v == "" {
		return firestore.Delete
	}
	return v
}
