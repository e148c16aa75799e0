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
	// DisputedAmount is how much of its charge disputes have withdrawn and
	// not reinstated.
	DisputedAmount int64 `firestore:"disputedAmount,omitempty"`
	// ChargedBack: a dispute once withdrew funds from the charge. Stripe
	// then refuses every refund of it (charge_disputed), even after the
	// dispute is won, so it is no source of a closing refund.
	ChargedBack bool `firestore:"chargedBack,omitempty"`
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
// ErrConflict. A create is atomic on its own, so the first attempt of a
// card top-up costs one write and no transaction; a package purchase is
// checked against the account first (beginPackage).
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
	if t.Type == TypePackagePurchase {
		return l.beginPackage(ctx, t, tr)
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

// beginPackage records package purchase tr, once per account: refused
// with ErrPackagePurchased while the account holds a plan, and with
// ErrPackagePending while another purchase it started is pending. The
// account notes the purchase in the same transaction, so two purchases
// started at once cannot both begin. (Two can still both be paid, e.g. a
// declined one paid later with another card: settle credits the second at
// its price.) A retry of the same purchase returns it.
func (l *Ledger) beginPackage(ctx context.Context, t TopUp, tr Transaction) (Transaction, bool, error) {
	ref := l.transactionRef(t.UserID, t.ID)
	var out Transaction
	var created bool
	err := l.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		existing, ok, err := l.EntryIn(tx, t.UserID, t.ID)
		switch {
		case err != nil:
			return err
		case ok && !t.Matches(existing):
			return ErrConflict
		case ok:
			out, created = existing, false
			return nil
		}
		acct, err := l.accounts.GetIn(tx, t.UserID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if acct.Plan != "" {
			return ErrPackagePurchased
		}
		if prev := acct.PackageTransactionID; prev != "" && prev != t.ID {
			p, ok, err := l.EntryIn(tx, t.UserID, prev)
			if err != nil {
				return err
			}
			if ok && p.Status == StatusPending {
				return ErrPackagePending
			}
		}
		if err := tx.Create(ref, tr); err != nil {
			return err
		}
		out, created = tr, true
		return l.accounts.StartPackagePurchase(tx, t.UserID, t.ID, tr.CreatedAt)
	})
	if err != nil {
		return Transaction{}, false, fmt.Errorf("begin package purchase %s: %w", t.ID, err)
	}
	return out, created, nil
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

// SettleTopUp is the effect of a payment report on its top-up: it reads the
// top-up and the account (with the event's record: one round trip), lets
// settle decide, and writes what settle returned (the top-up, the intent's
// index, the plan on the account, the balance), all in the caller's
// transaction.
func (l *Ledger) SettleTopUp(p Payment) Effect {
	if store.CheckID(p.UserID) != nil || store.CheckID(p.TransactionID) != nil {
		return ReadsItself(func(context.Context, *firestore.Transaction) (Outcome, error) {
			s, err := settle(p, nil, accountFacts{})
			return s.Outcome, err
		})
	}
	return Effect{
		Reads: []*firestore.DocumentRef{l.transactionRef(p.UserID, p.TransactionID), l.accounts.Ref(p.UserID)},
		Apply: func(ctx context.Context, tx *firestore.Transaction, read []*firestore.DocumentSnapshot) (Outcome, error) {
			var stored *Transaction
			if read[0].Exists() {
				t, err := decodeTransaction(read[0])
				if err != nil {
					return Outcome{}, err
				}
				stored = &t
			}
			acct, err := factsOf(p.UserID, read[1])
			if err != nil {
				return Outcome{}, err
			}
			s, err := settle(p, stored, acct)
			if err != nil {
				return s.Outcome, err
			}
			err = l.write(tx, p.UserID, p.TransactionID, p.PaymentIntentID, &s, acct)
			return s.Outcome, err
		},
	}
}

// factsOf is what settling a payment of the user needs of the account, as
// read: whether it may still receive money (or is deleted), and the
// package plan it holds. No account: no facts.
func factsOf(userID string, snap *firestore.DocumentSnapshot) (accountFacts, error) {
	acct, err := account.Decode(userID, snap)
	if errors.Is(err, store.ErrNotFound) {
		return accountFacts{}, nil
	}
	if err != nil {
		return accountFacts{}, err
	}
	return accountFacts{Plan: acct.Plan, Closing: acct.MayReceiveMoney() != nil, Deleted: acct.Status == account.StatusDeleted}, nil
}

// write carries out, inside tx, what a settlement (or a reversal) decided
// for the user's top-up txID: the intent's index, the plan, the new
// entries, the top-up's fields, and the balance, moved once by the credit
// and every entry together. Nothing decided, nothing written.
func (l *Ledger) write(tx *firestore.Transaction, userID, txID, paymentIntentID string, s *Settlement, acct accountFacts) error {
	if s.Change == nil && len(s.Entries) == 0 {
		return nil
	}
	now := l.now()
	if s.IndexIntent {
		if err := l.indexIntent(tx, paymentIntentID, userID, txID); err != nil {
			return err
		}
	}
	if s.Plan != "" {
		if err := l.accounts.SetPlan(tx, userID, s.Plan, now); err != nil {
			return err
		}
	}
	var move int64
	for _, e := range s.Entries {
		if err := l.createEntry(tx, e, now); err != nil {
			return err
		}
		move += e.Amount
	}
	if s.Change != nil {
		if err := tx.Update(l.transactionRef(userID, txID), s.Change.updates(now)); err != nil {
			return err
		}
		if s.Change.Credited {
			move += s.Credit
		}
	}
	if move == 0 {
		return nil
	}
	if acct.Deleted {
		// A deleted account holds nothing: what moved is written off in
		// the same commit, and Process tells the operators.
		s.Outcome.WrittenOff = move
		return l.createEntry(tx, writeOff(userID, txID, *s, move), now)
	}
	return l.credit(tx, userID, move, now)
}

// writeOff is the entry that takes back what a settlement moved on a
// deleted account; its id derives from the settlement's first entry, each
// of which is recorded once.
func writeOff(userID, txID string, s Settlement, moved int64) Transaction {
	id := "written_off_" + txID
	if len(s.Entries) > 0 {
		id = "written_off_" + s.Entries[0].ID
	}
	return Transaction{ID: id, UserID: userID, Type: TypeWrittenOff, Amount: -moved, Status: StatusSucceeded, SourceTransactionID: txID}
}

func deleteIfEmpty(v string) any {
	if v == "" {
		return firestore.Delete
	}
	return v
}
