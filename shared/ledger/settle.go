package ledger

import (
	"fmt"
	"time"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/store"
)

// Settlement is what one payment report does to its top-up: decided by
// settle from plain values, written by SettleTopUp.
type Settlement struct {
	Outcome Outcome
	// Change holds the top-up's fields that change; nil: nothing is written.
	Change *TopUpChange
	// Credit is what the balance gains, when Change.Credited.
	Credit int64
	// IndexIntent: record which top-up the payment intent pays (the top-up
	// had no intent recorded yet).
	IndexIntent bool
	// Plan is the package plan the account gets with the credit.
	Plan string
	// Entries are ledger entries recorded with the change (a reversal's
	// refund or dispute entries); each moves the balance by its Amount.
	Entries []Transaction
}

// accountFacts is what a settlement needs to know of the account.
type accountFacts struct {
	// Plan is the package plan the account already holds: a package's
	// credit is granted once per account.
	Plan string
	// Closing: the account is being deleted, or is: no money lands on it.
	Closing bool
	// Deleted: the account is deleted: its balance stays at zero (see
	// TypeWrittenOff).
	Deleted bool
}

// ReturnEntryPrefix starts the id of the refund entry that sends a payment
// made to a closing or deleted account back to its card.
const ReturnEntryPrefix = "returned_"

// TopUpChange is the fields of a top-up that a settlement writes, besides
// updatedAt; nil fields are left as they are. Only what changes is written:
// every field written costs index work on the hottest path.
type TopUpChange struct {
	Status string
	// Credited marks the credit, once: credited and creditedAt.
	Credited        bool
	Amount          *int64
	PaymentIntentID *string
	// Failure replaces failureCode and failureMessage; an empty one is
	// deleted.
	Failure *Failure
	// Refunded and Disputed replace refundedAmount and disputedAmount: the
	// cents of the charge refunded, and withdrawn by disputes not (yet)
	// reinstated.
	Refunded, Disputed *int64
	// ChargedBack marks, for good, a charge a dispute withdrew funds from.
	ChargedBack bool
}

// Failure is why a payment failed, as the provider said.
type Failure struct {
	Code    string
	Message string
}

// settle decides what payment p does to stored, its top-up as read (nil
// when there is none), on an account holding acct. Success credits exactly
// once (a card top-up what was received, a package its credit and its
// plan): the top-up's Credited flag is the guard, not the event id, so two
// different reports of one payment credit once. A package's credit is
// granted once per account: a package paid while the account already
// holds a plan (two purchases paid anyway) is credited at its price only,
// and the plan stays. Failure or cancellation never undoes a success. The
// intent is indexed whenever one is known and its index may be missing, so
// its refunds and disputes find the top-up. Only an unknown payment status
// is an error.
func settle(p Payment, stored *Transaction, acct accountFacts) (Settlement, error) {
	out := Outcome{UserID: p.UserID, TransactionID: p.TransactionID}
	result := func(result, detail string) (Settlement, error) {
		out.Result, out.Detail = result, detail
		return Settlement{Outcome: out}, nil
	}
	switch {
	case store.CheckID(p.UserID) != nil || store.CheckID(p.TransactionID) != nil:
		return result(ResultUnmatched, "payment intent has no valid user_id/transaction_id metadata")
	case stored == nil:
		return result(ResultUnmatched, "no such transaction")
	case stored.PaymentIntentID != "" && stored.PaymentIntentID != p.PaymentIntentID:
		return result(ResultUnmatched, "transaction belongs to payment intent "+stored.PaymentIntentID)
	}
	t := *stored
	switch p.Status {
	case StatusSucceeded:
		switch {
		case t.Credited:
			return result(ResultUnchanged, "already credited")
		case p.Currency != t.Currency:
			return result(ResultUnmatched, fmt.Sprintf("paid in %q, transaction is in %q", p.Currency, t.Currency))
		case p.AmountReceived <= 0:
			return result(ResultUnmatched, "succeeded with nothing received")
		case t.Type == TypePackagePurchase && p.AmountReceived < t.ChargeAmount:
			return result(ResultUnmatched, fmt.Sprintf("received %d, the package costs %d", p.AmountReceived, t.ChargeAmount))
		}
		s := Settlement{Credit: p.AmountReceived, IndexIntent: mayLackIndex(t),
			Change: &TopUpChange{Status: StatusSucceeded, Credited: true}}
		if acct.Closing {
			// Money lands only on a live account. A payment that succeeds
			// on a closing or deleted one (it raced the deletion, or was
			// paid late with another card) is recorded as received and, in
			// the same transaction, owed back to its card in full: the
			// balance does not move, and the caller makes the refund.
			received := p.AmountReceived
			s.Credit, s.Change.Amount, s.Change.Refunded = received, &received, &received
			if t.PaymentIntentID != p.PaymentIntentID {
				s.Change.PaymentIntentID = &p.PaymentIntentID
			}
			entry := Transaction{ID: ReturnEntryPrefix + t.ID, UserID: t.UserID, Type: TypeRefund, Amount: -received,
				Currency: t.Currency, Status: StatusPending, PaymentIntentID: p.PaymentIntentID, SourceTransactionID: t.ID}
			s.Entries = []Transaction{entry}
			out.Result, out.Amount, out.ReturnEntryID = ResultApplied, 0, entry.ID
			out.Detail = "the account is closing or deleted: the payment goes back to its card"
			s.Outcome = out
			return s, nil
		}
		switch {
		case t.Type == TypePackagePurchase && acct.Plan != "":
			// Refused at checkout, but two purchases can both be paid
			// (started before either was): the second is what it cost.
			s.Credit = t.ChargeAmount
			out.Detail = "the account already holds plan " + acct.Plan + "; credited at its price"
		case t.Type == TypePackagePurchase:
			// The plan is the user's once the package is paid, in the same
			// transaction as its credit.
			s.Credit, s.Plan = t.Amount, t.PackageID
		}
		if s.Credit != t.Amount {
			s.Change.Amount = &s.Credit
		}
		if t.PaymentIntentID != p.PaymentIntentID {
			s.Change.PaymentIntentID = &p.PaymentIntentID
		}
		if t.FailureCode != "" || t.FailureMessage != "" {
			s.Change.Failure = &Failure{}
		}
		out.Result, out.Amount = ResultApplied, s.Credit
		s.Outcome = out
		return s, nil
	case StatusFailed, StatusCanceled:
		switch {
		case t.Credited || t.Status == StatusSucceeded:
			return result(ResultUnchanged, "already succeeded")
		case t.Status == p.Status && t.FailureCode == p.FailureCode:
			return result(ResultUnchanged, "")
		}
		out.Result = ResultApplied
		s := Settlement{Outcome: out, IndexIntent: p.PaymentIntentID != "" && mayLackIndex(t), Change: &TopUpChange{
			Status: p.Status, Failure: &Failure{Code: p.FailureCode, Message: p.FailureMessage},
		}}
		if t.PaymentIntentID != p.PaymentIntentID {
			s.Change.PaymentIntentID = &p.PaymentIntentID
		}
		return s, nil
	default:
		return Settlement{}, fmt.Errorf("settle top-up: unknown payment status %q", p.Status)
	}
}

// mayLackIndex reports a top-up whose intent may not be indexed yet: none
// recorded, or one recorded by a failure (which, before the failure path
// indexed it, skipped the index).
func mayLackIndex(t Transaction) bool {
	return t.PaymentIntentID == "" || t.Status == StatusFailed || t.Status == StatusCanceled
}

// updates is c as the Firestore field updates of the top-up, at now.
func (c TopUpChange) updates(now time.Time) []firestore.Update {
	updates := []firestore.Update{{Path: "status", Value: c.Status}}
	if c.Credited {
		updates = append(updates, firestore.Update{Path: "credited", Value: true}, firestore.Update{Path: "creditedAt", Value: now})
	}
	updates = append(updates, firestore.Update{Path: "updatedAt", Value: now})
	if c.Amount != nil {
		updates = append(updates, firestore.Update{Path: "amount", Value: *c.Amount})
	}
	if c.PaymentIntentID != nil {
		updates = append(updates, firestore.Update{Path: "paymentIntentId", Value: *c.PaymentIntentID})
	}
	if c.Failure != nil {
		updates = append(updates, firestore.Update{Path: "failureCode", Value: deleteIfEmpty(c.Failure.Code)},
			firestore.Update{Path: "failureMessage", Value: deleteIfEmpty(c.Failure.Message)})
	}
	if c.Refunded != nil {
		updates = append(updates, firestore.Update{Path: "refundedAmount", Value: *c.Refunded})
	}
	if c.Disputed != nil {
		updates = append(updates, firestore.Update{Path: "disputedAmount", Value: *c.Disputed})
	}
	if c.ChargedBack {
		updates = append(updates, firestore.Update{Path: "chargedBack", Value: true})
	}
	return updates
}
