package ledger

import (
	"context"
	"fmt"
	"math/big"
	"strings"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/store"
)

// Money flowing back out of a paid top-up: refunds and disputes. The
// balance may go negative (the user spent credit that was then taken
// back); it is then debt that the next top-up or invoice settles.
//
// Three rules hold here, whatever reports the event and in whatever order:
//   - a reversal is never lost: one about a top-up not credited yet proves
//     the payment succeeded, so it is applied together with the credit that
//     payment's own success would make (settle decides both alike); the
//     later success then finds the top-up credited;
//   - disputes follow Stripe's lifecycle: the balance moves when funds are
//     withdrawn and comes back when they are reinstated; an inquiry moves
//     nothing;
//   - what a top-up gives back is never more than its charge: money both
//     refunded and disputed is debited once (reversed).

// Type of the ledger entries below.
const (
	TypeDispute    = "dispute"     // funds a dispute withdrew, debited when Stripe withdraws them
	TypeDisputeWon = "dispute_won" // credited back when Stripe reinstates them
)

// balanceShare is the part of a top-up's balance credit that amount of its
// card charge stands for: the same cents for a card top-up, proportionally
// more for a package whose credit exceeds its price.
func balanceShare(t Transaction, amount int64) int64 {
	if t.ChargeAmount <= 0 || t.ChargeAmount == t.Amount {
		return amount
	}
	r := new(big.Rat).Mul(big.NewRat(t.Amount, 1), big.NewRat(amount, t.ChargeAmount))
	return new(big.Int).Quo(r.Num(), r.Denom()).Int64()
}

// chargeOf is the top-up's card charge.
func chargeOf(t Transaction) int64 {
	if t.ChargeAmount > 0 {
		return t.ChargeAmount
	}
	return t.Amount
}

// reversed is what the balance gives back for a credited top-up of which
// refunded cents went back to the card and disputed cents were withdrawn
// by disputes: never more than its charge's share.
func reversed(t Transaction, refunded, disputed int64) int64 {
	return balanceShare(t, min(refunded+disputed, chargeOf(t)))
}

// ChargeRefund is what charge.refunded reports: the cumulative amount
// refunded on the charge of a PaymentIntent.
type ChargeRefund struct {
	PaymentIntentID string
	ChargeID        string
	AmountRefunded  int64 // cumulative, in the charge's cents
	// AmountCaptured and Currency are what the charge received: the
	// payment a refund proves.
	AmountCaptured int64
	Currency       string
	// UserID and TransactionID are the charge's metadata (copied from its
	// PaymentIntent), used when the intent is not indexed yet.
	UserID, TransactionID string
}

// Dispute is what charge.dispute.* reports.
type Dispute struct {
	ID              string
	PaymentIntentID string
	Amount          int64 // in the charge's cents
	Currency        string
	Status          string // Stripe's, e.g. "warning_needs_response", "needs_response", "won", "lost"
	// Stage is what the event says happened to the funds:
	// DisputeFundsWithdrawn, DisputeFundsReinstated, or empty for a report
	// of the dispute's state (created, updated, closed).
	Stage string
	// Withdrawals and Reinstatements count the dispute's balance
	// transactions that took funds and that gave them back.
	Withdrawals, Reinstatements int
	// UserID and TransactionID are the disputed PaymentIntent's metadata,
	// used when the intent is not indexed yet (the dispute itself carries
	// no ids of ours; dispatch asks Stripe for them then).
	UserID, TransactionID string
}

// Dispute stages.
const (
	DisputeFundsWithdrawn  = "funds_withdrawn"
	DisputeFundsReinstated = "funds_reinstated"
)

// disputeFunds is where a dispute's funds are, from one report of it. An
// inquiry (warning_*) withdraws nothing; a chargeback's funds are withdrawn
// once Stripe says so (funds_withdrawn, or a withdrawal among its balance
// transactions, or lost) and back once reinstated (funds_reinstated, a
// reinstatement, or won). Every report carries the dispute's whole state,
// so any order of delivery ends the same.
func disputeFunds(d Dispute) (withdrawn, reinstated bool) {
	inquiry := strings.HasPrefix(d.Status, "warning_")
	reinstated = d.Stage == DisputeFundsReinstated || !inquiry && (d.Reinstatements > 0 || d.Status == "won")
	withdrawn = reinstated || d.Stage == DisputeFundsWithdrawn || !inquiry && (d.Withdrawals > 0 || d.Status == "lost")
	return withdrawn, reinstated
}

// disputeEntryIDs are the ledger entries of a dispute: the withdrawal and
// the reinstatement. They are the guards: each is recorded once.
func disputeEntryIDs(disputeID string) (withdrawal, reinstatement string) {
	return "dispute_" + disputeID, "dispute_" + disputeID + "_won"
}

// proven credits t, not credited yet, with the payment a reversal proves
// (its charge succeeded), exactly as that payment's success would: t is
// returned as it stands after the credit. ok is false when settle does not
// credit it (the payment does not match its top-up), and s then says why.
func proven(t Transaction, p Payment, acct accountFacts) (s Settlement, credited Transaction, ok bool, err error) {
	s, err = settle(p, &t, acct)
	if err != nil || s.Change == nil || !s.Change.Credited {
		return s, t, false, err
	}
	t.Credited, t.Status = true, StatusSucceeded
	if s.Change.Amount != nil {
		t.Amount = *s.Change.Amount
	}
	if s.Change.PaymentIntentID != nil {
		t.PaymentIntentID = *s.Change.PaymentIntentID
	}
	if s.Change.Refunded != nil {
		// A payment to a closing account goes back whole (settle's return):
		// no reversal can take more of it.
		t.RefundedAmount = *s.Change.Refunded
	}
	return s, t, true, nil
}

// reverseRefund decides what a charge's cumulative refund does to its
// top-up t: debit what was refunded beyond what the ledger knows (within
// the charge, with what disputes took), crediting the top-up first if the
// refund is the first news of its payment. A stale report (a smaller
// total) and refunds this service made itself (deletion, already noted on
// the top-up) change nothing.
func reverseRefund(t Transaction, r ChargeRefund, acct accountFacts) (Settlement, error) {
	s := Settlement{Outcome: Outcome{UserID: t.UserID, TransactionID: t.ID}}
	if !t.Credited {
		p := Payment{UserID: t.UserID, TransactionID: t.ID, PaymentIntentID: r.PaymentIntentID, Status: StatusSucceeded,
			AmountReceived: r.AmountCaptured, Currency: r.Currency}
		var ok bool
		var err error
		if s, t, ok, err = proven(t, p, acct); err != nil || !ok {
			s.Outcome.Detail = "refund of a payment that is not credited: " + s.Outcome.Detail
			return s, err
		}
	}
	credit := s.Credit
	if r.AmountRefunded <= t.RefundedAmount {
		if s.Change == nil {
			s.Outcome.Result, s.Outcome.Detail = ResultUnchanged, "refund already known"
		}
		return s, nil
	}
	debit := reversed(t, r.AmountRefunded, t.DisputedAmount) - reversed(t, t.RefundedAmount, t.DisputedAmount)
	if s.Change == nil {
		s.Change = &TopUpChange{Status: t.Status}
	}
	s.Change.Refunded = &r.AmountRefunded
	if r.AmountRefunded >= chargeOf(t) {
		s.Change.Status = StatusRefunded
	}
	if debit > 0 {
		s.Entries = append(s.Entries, Transaction{
			ID: fmt.Sprintf("refund_%s_%d", t.ID, r.AmountRefunded), UserID: t.UserID, Type: TypeRefund,
			Amount: -debit, Status: StatusSucceeded, PaymentIntentID: r.PaymentIntentID, SourceTransactionID: t.ID,
		})
	} else {
		s.Outcome.Detail = "a dispute already took this money back"
	}
	s.Outcome.Result, s.Outcome.Amount = ResultApplied, credit-debit
	return s, nil
}

// disputeRecord says which of a dispute's entries are recorded already.
type disputeRecord struct {
	Withdrawal, Reinstatement bool
}

// reverseDispute decides what a report of dispute d does to its top-up t:
// record the withdrawal once its funds are withdrawn and the reinstatement
// once they come back, each once, crediting the top-up first if the
// dispute is the first news of its payment (our intents capture their whole
// amount, so the charge received the top-up's charge amount). The amounts
// keep reversed's bound: a charge refunded and disputed is debited once.
func reverseDispute(t Transaction, d Dispute, rec disputeRecord, acct accountFacts) (Settlement, error) {
	s := Settlement{Outcome: Outcome{UserID: t.UserID, TransactionID: t.ID}}
	withdrawn, reinstated := disputeFunds(d)
	withdraw, reinstate := withdrawn && !rec.Withdrawal && !rec.Reinstatement, reinstated && !rec.Reinstatement
	switch {
	case !withdrawn:
		s.Outcome.Result, s.Outcome.Detail = ResultUnchanged, "no funds withdrawn (status "+d.Status+")"
		return s, nil
	case !withdraw && !reinstate:
		s.Outcome.Result, s.Outcome.Detail = ResultUnchanged, "already recorded"
		return s, nil
	}
	if !t.Credited {
		p := Payment{UserID: t.UserID, TransactionID: t.ID, PaymentIntentID: d.PaymentIntentID, Status: StatusSucceeded,
			AmountReceived: chargeOf(t), Currency: d.Currency}
		var ok bool
		var err error
		if s, t, ok, err = proven(t, p, acct); err != nil || !ok {
			s.Outcome.Detail = "dispute of a payment that is not credited: " + s.Outcome.Detail
			return s, err
		}
	}
	if s.Change == nil {
		s.Change = &TopUpChange{Status: t.Status}
	}
	withdrawal, reinstatement := disputeEntryIDs(d.ID)
	disputed, moved := t.DisputedAmount, s.Credit
	if withdraw {
		after := disputed + d.Amount
		debit := reversed(t, t.RefundedAmount, after) - reversed(t, t.RefundedAmount, disputed)
		s.Entries = append(s.Entries, Transaction{ID: withdrawal, UserID: t.UserID, Type: TypeDispute, Amount: -debit,
			Status: StatusSucceeded, PaymentIntentID: d.PaymentIntentID, SourceTransactionID: t.ID})
		disputed, moved = after, moved-debit
		s.Change.ChargedBack = true
	}
	if reinstate {
		after := max(disputed-d.Amount, 0)
		credit := reversed(t, t.RefundedAmount, disputed) - reversed(t, t.RefundedAmount, after)
		s.Entries = append(s.Entries, Transaction{ID: reinstatement, UserID: t.UserID, Type: TypeDisputeWon, Amount: credit,
			Status: StatusSucceeded, PaymentIntentID: d.PaymentIntentID, SourceTransactionID: t.ID})
		disputed, moved = after, moved+credit
	}
	s.Change.Disputed = &disputed
	s.Outcome.Result, s.Outcome.Amount = ResultApplied, moved
	return s, nil
}

// RefundCharge is the effect of charge.refunded (see reverseRefund).
func (l *Ledger) RefundCharge(r ChargeRefund) Effect {
	return Effect{Reads: l.indexRefs(r.PaymentIntentID),
		Apply: func(ctx context.Context, tx *firestore.Transaction, read []*firestore.DocumentSnapshot) (Outcome, error) {
			p, ok, err := l.paymentOf(tx, read, r.PaymentIntentID, r.UserID, r.TransactionID)
			if err != nil || !ok {
				return Outcome{Result: ResultUnmatched, Detail: "not one of our payments"}, err
			}
			s, err := reverseRefund(p.topUp, r, p.account)
			if err != nil {
				return Outcome{}, err
			}
			err = l.write(tx, p.topUp.UserID, p.topUp.ID, r.PaymentIntentID, &s, p.account)
			return s.Outcome, err
		}}
}

// DisputeChanged is the effect of every charge.dispute.* event (see
// reverseDispute).
func (l *Ledger) DisputeChanged(d Dispute) Effect {
	withdrawal, reinstatement := disputeEntryIDs(d.ID)
	valid := store.CheckID(withdrawal) == nil && store.CheckID(reinstatement) == nil
	var entries []string
	if valid {
		entries = []string{withdrawal, reinstatement}
	}
	return Effect{Reads: l.indexRefs(d.PaymentIntentID),
		Apply: func(ctx context.Context, tx *firestore.Transaction, read []*firestore.DocumentSnapshot) (Outcome, error) {
			p, ok, err := l.paymentOf(tx, read, d.PaymentIntentID, d.UserID, d.TransactionID, entries...)
			if err != nil || !ok {
				return Outcome{Result: ResultUnmatched, Detail: "not one of our payments"}, err
			}
			if !valid {
				return Outcome{UserID: p.topUp.UserID, TransactionID: p.topUp.ID, Result: ResultUnmatched, Detail: "dispute id " + d.ID}, nil
			}
			rec := disputeRecord{Withdrawal: p.entries[0].Exists(), Reinstatement: p.entries[1].Exists()}
			s, err := reverseDispute(p.topUp, d, rec, p.account)
			if err != nil {
				return Outcome{}, err
			}
			err = l.write(tx, p.topUp.UserID, p.topUp.ID, d.PaymentIntentID, &s, p.account)
			return s.Outcome, err
		}}
}

// indexRefs is the intent's index document, for a reversal's Reads (none
// for an id that cannot be one).
func (l *Ledger) indexRefs(paymentIntentID string) []*firestore.DocumentRef {
	if store.CheckID(paymentIntentID) != nil {
		return nil
	}
	return []*firestore.DocumentRef{l.fs.Collection(IntentsCollection).Doc(paymentIntentID)}
}

// payment is what a reversal reads: the top-up its intent pays, the
// account's facts, and the user's entries it asked for (snapshots, in
// order).
type payment struct {
	topUp   Transaction
	account accountFacts
	entries []*firestore.DocumentSnapshot
}

// paymentOf reads, inside tx, the top-up a PaymentIntent pays, with the
// account and the user's entries named by more in one round trip: the
// top-up by the intent's index (index: its snapshot, read with the event's
// record; see indexRefs), or else by the ids its charge or intent carries
// (an intent checkout did not record, a fresh payment's or one a crash
// left unrecorded, has no index until its payment settles).
func (l *Ledger) paymentOf(tx *firestore.Transaction, index []*firestore.DocumentSnapshot, paymentIntentID, userID, txID string, more ...string) (payment, bool, error) {
	indexed := len(index) == 1 && index[0].Exists()
	if indexed {
		var idx intentIndex
		if err := index[0].DataTo(&idx); err != nil {
			return payment{}, false, fmt.Errorf("decode payment intent index %s: %w", paymentIntentID, err)
		}
		userID, txID = idx.UserID, idx.TransactionID
	}
	if store.CheckID(userID) != nil || store.CheckID(txID) != nil || store.CheckID(paymentIntentID) != nil {
		return payment{}, false, nil
	}
	refs := []*firestore.DocumentRef{l.transactionRef(userID, txID), l.accounts.Ref(userID)}
	for _, id := range more {
		refs = append(refs, l.transactionRef(userID, id))
	}
	snaps, err := tx.GetAll(refs)
	if err != nil || !snaps[0].Exists() {
		return payment{}, false, err
	}
	t, err := decodeTransaction(snaps[0])
	if err != nil {
		return payment{}, false, err
	}
	if !indexed && (t.Type != TypeCardTopUp && t.Type != TypePackagePurchase || t.PaymentIntentID != "" && t.PaymentIntentID != paymentIntentID) {
		return payment{}, false, nil
	}
	acct, err := factsOf(userID, snaps[1])
	if err != nil {
		return payment{}, false, err
	}
	return payment{topUp: t, account: acct, entries: snaps[2:]}, true, nil
}
