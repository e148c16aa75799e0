package closing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/customer"
	"example.com/billing/shared/fault"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/sweep"
)

// BlockedError carries the check that blocked a request.
type BlockedError struct{ Check Check }

func (e *BlockedError) Error() string { return fmt.Sprintf("%v: %v", ErrBlocked, e.Check.Reasons) }
func (e *BlockedError) Unwrap() error { return ErrBlocked }

// Request records the user's deletion, or returns the one already in
// progress (so a retried or concurrent request creates nothing twice), and
// then drives it as far as it can go now. A failure after the deletion is
// recorded is not returned as an error: the state is safe and the sweep
// finishes it.
func (s *Service) Request(ctx context.Context, userID, email string) (Deletion, error) {
	check, err := s.check(ctx, userID, email)
	if err != nil {
		return Deletion{}, err
	}
	if check.Deletion != nil && (check.Deletion.State == StateDeleted) {
		return s.Get(ctx, nil, userID)
	}
	// A deletion in progress is returned as it is (its own final invoice
	// is among the unpaid ones); otherwise anything owed blocks.
	fresh := check.Deletion == nil || !inProgress(check.Deletion.State)
	if fresh && check.blocking() {
		return Deletion{}, &BlockedError{Check: check}
	}
	if fresh {
		// No payment may land on the closing account: cancel every intent
		// that could still be paid (a declined top-up can be paid later
		// with another card). Payments under way block above.
		acct, err := s.customers.Get(ctx, userID)
		if err != nil {
			return Deletion{}, err
		}
		if acct.CustomerID != "" {
			if _, err := s.stripe.CancelOpenPaymentIntents(ctx, acct.CustomerID); err != nil {
				return Deletion{}, err
			}
		}
	}
	d, err := s.record(ctx, userID)
	if err != nil {
		return Deletion{}, err
	}
	if err := fault.Point(ctx, fault.DeletionAfterRecord); err != nil {
		return Deletion{}, err
	}
	if err := s.advance(ctx, userID); err != nil {
		logging.FromContext(ctx).WarnContext(ctx, "deletion recorded; a later attempt will finish it", "state", d.State, "error", err.Error())
	}
	return s.Get(ctx, nil, userID)
}

// record is the one transaction of a request.
func (s *Service) record(ctx context.Context, userID string) (Deletion, error) {
	var d Deletion
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		prev, err := s.Get(ctx, tx, userID)
		if err != nil {
			return err
		}
		if prev.InProgress() || prev.State == StateDeleted {
			d = prev
			return nil
		}
		acct, err := s.accounts.GetIn(tx, userID)
		if err != nil {
			return err
		}
		var billedThrough time.Time
		if acct.BilledThrough != nil {
			billedThrough = *acct.BilledThrough
		}
		// Payments under way would credit a closing account: re-check
		// inside the transaction.
		pending, err := s.ledger.PendingTopUps(ctx, tx, userID)
		if err != nil {
			return err
		}
		m, err := s.readMoney(ctx, tx, userID, billedThrough)
		if err != nil {
			return err
		}
		now := s.now()
		p, err := decideRequest(requestFacts{UserID: userID, Previous: prev.Request, Now: now,
			BilledThrough: billedThrough, PendingPayments: len(pending), Money: m})
		if err != nil {
			return err
		}
		d = p.Deletion
		// Reads are done; every write of the request follows.
		for _, e := range p.Entries {
			if err := s.ledger.Record(tx, e); err != nil {
				return err
			}
		}
		for _, r := range p.Refunds {
			if err := s.ledger.AddRefunded(tx, r.Source.Transaction, r.Amount); err != nil {
				return err
			}
		}
		if err := s.accounts.MarkClosing(tx, userID, p.BilledThrough, now); err != nil {
			return err
		}
		if err := s.outbox.Add(tx, requestedEventID(d), TopicDeletionRequested, Event{
			EventID: requestedEventID(d), UserID: userID, RequestedAt: now, FinalAmountDue: d.InvoiceAmount, BillingStoppedAt: now,
		}); err != nil {
			return err
		}
		return tx.Set(s.ref(userID), d)
	})
	if err != nil {
		return Deletion{}, fmt.Errorf("record deletion of %s: %w", userID, err)
	}
	logging.FromContext(ctx).InfoContext(ctx, "deletion requested", "state", d.State, "usage", d.UsageAmount,
		"balance_applied", d.BalanceApplied, "invoice", d.InvoiceAmount, "refunds", len(d.Refunds), "forfeited", d.Forfeited)
	return d, nil
}

// Advance drives the user's deletion through every step that is owed now,
// and publishes its recorded events. It labels the logger with the user
// (its callers, the webhook and the sweep, work for many users). It is safe to run any number of times,
// concurrently too: each step is idempotent and each transition re-reads
// the state.
func (s *Service) Advance(ctx context.Context, userID string) error {
	return s.advance(s.logger(ctx, userID), userID)
}

func (s *Service) advance(ctx context.Context, userID string) error {
	for range 4 {
		d, err := s.Get(ctx, nil, userID)
		if err != nil {
			return err
		}
		var step error
		switch {
		case invoiceOwed(d):
			step = s.invoice(ctx, d)
		case d.State == StateRefunding:
			step = s.refund(ctx, d)
		case d.State == StateCompleting:
			step = s.complete(ctx, d)
		default:
			return s.flush(ctx, d)
		}
		if step != nil {
			s.noteFailure(ctx, d, step)
			return step
		}
	}
	return nil
}

// flush publishes whatever events the deletion has recorded.
func (s *Service) flush(ctx context.Context, d Deletion) error {
	if d.Request == 0 {
		return nil
	}
	return s.outbox.Flush(ctx, requestedEventID(d), deletedEventID(d), canceledEventID(d))
}

// transition moves the deletion from state from to what change sets, in a
// transaction; it does nothing if another worker moved it first.
func (s *Service) transition(ctx context.Context, userID string, from string, change func(tx *firestore.Transaction, d *Deletion) error) error {
	return s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		d, err := s.Get(ctx, tx, userID)
		if err != nil {
			return err
		}
		if d.State != from {
			return nil
		}
		if err := change(tx, &d); err != nil {
			return err
		}
		d.UpdatedAt, d.Attempts, d.LastError = s.now(), 0, ""
		return tx.Set(s.ref(userID), d)
	})
}

// noteFailure records a failed step and when the sweep should try again.
func (s *Service) noteFailure(ctx context.Context, d Deletion, cause error) {
	logging.FromContext(ctx).ErrorContext(ctx, "deletion step failed", "state", d.State, "attempt", d.Attempts+1, "error", cause.Error())
	next := s.now().Add(customer.Backoff(d.Attempts + 1))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := s.ref(d.UserID).Update(ctx, []firestore.Update{
		{Path: "attempts", Value: firestore.Increment(1)},
		{Path: "nextAttemptAt", Value: next},
		{Path: "lastError", Value: cause.Error()},
	})
	if err != nil {
		logging.FromContext(ctx).ErrorContext(ctx, "could not record the failed deletion step", "error", err.Error())
	}
}

// invoice makes the final invoice in Stripe (found again if an earlier
// attempt made it), finalizes it and has Stripe email it. It also runs for a
// deletion canceled before its invoice was recorded: that invoice bills
// usage that happened, and a draft left behind would block every later
// request with an invoice no one can pay; the deletion then stays canceled.
func (s *Service) invoice(ctx context.Context, d Deletion) error {
	acct, err := s.customers.Get(ctx, d.UserID)
	if err != nil {
		return err
	}
	key := d.InvoiceKey()
	// Any earlier attempt (a recorded failure, or a process that died
	// without recording one) may have made the invoice longer ago than
	// Stripe remembers the key: look first, and retry later when the look
	// fails. (Within Stripe's search lag of about a minute the idempotency
	// key still returns the same invoice.)
	inv, err := s.stripe.FindInvoice(ctx, acct.CustomerID, payments.MetadataDeletion, key)
	switch {
	case errors.Is(err, payments.ErrNotFound):
		if inv, err = s.stripe.CreateInvoice(ctx, newFinalInvoice(acct.CustomerID, d, s.daysUntilDue), key); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("look for the final invoice before making it: %w", err)
	}
	if inv.Status == payments.InvoiceDraft {
		if err := s.addLines(ctx, acct.CustomerID, inv, d); err != nil {
			return err
		}
	}
	if err := fault.Point(ctx, fault.DeletionAfterDraft); err != nil {
		return err
	}
	if inv, err = s.stripe.FinalizeAndSendInvoice(ctx, inv.ID); err != nil {
		return err
	}
	if err := fault.Point(ctx, fault.DeletionAfterInvoice); err != nil {
		return err
	}
	due := s.now().Add(time.Duration(s.daysUntilDue) * 24 * time.Hour)
	return s.transition(ctx, d.UserID, d.State, func(tx *firestore.Transaction, d *Deletion) error {
		if d.InvoiceID != "" {
			return nil
		}
		d.InvoiceID, d.InvoiceStatus, d.HostedInvoiceURL, d.InvoiceDueAt = inv.ID, inv.Status, inv.HostedInvoiceURL, &due
		d.NextAttemptAt = nil
		if d.State == StateCanceled {
			return nil
		}
		d.State = StateAwaitingPayment
		if inv.Status == payments.InvoicePaid {
			now := s.now()
			d.State, d.NextAttemptAt = StateCompleting, &now
		}
		return nil
	})
}

// invoiceOwed reports a deletion whose final invoice must still be made:
// one in invoicing, or one canceled before its invoice was recorded.
func invoiceOwed(d Deletion) bool {
	return d.InvoiceID == "" && d.InvoiceAmount > 0 && (d.State == StateInvoicing || d.State == StateCanceled)
}

// refund returns the closing balance to the cards it came from.
func (s *Service) refund(ctx context.Context, d Deletion) error {
	for i, r := range d.Refunds {
		if r.settled() {
			continue
		}
		// An earlier attempt may have made it longer ago than Stripe keeps
		// the key: look first.
		made, err := s.stripe.FindRefund(ctx, r.PaymentIntentID, r.EntryID)
		if errors.Is(err, payments.ErrNotFound) {
			made, err = s.stripe.RefundPayment(ctx, r.PaymentIntentID, r.Amount, refundMetadata(d.UserID, r.EntryID), refundKey(d.UserID, r.EntryID))
			if errors.Is(err, payments.ErrRejected) {
				made, err = s.refundWhatIsLeft(ctx, d, r, err)
			}
		}
		var pe *payments.Error
		if errors.Is(err, payments.ErrRejected) && errors.As(err, &pe) {
			// Refused for good (the charge was refunded or disputed
			// meanwhile): retrying would loop forever. Record it for an
			// operator and go on with the rest.
			if err := s.refusedRefund(ctx, d, i, pe); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := fault.Point(ctx, fault.DeletionAfterRefund); err != nil {
			return err
		}
		if err := s.transition(ctx, d.UserID, StateRefunding, func(tx *firestore.Transaction, cur *Deletion) error {
			if cur.Refunds[i].RefundID != "" {
				return nil
			}
			cur.Refunds[i].RefundID = made.ID
			if made.Amount < r.Amount {
				cur.Refunds[i].Refunded = made.Amount
			}
			return s.ledger.CompleteRefund(tx, d.UserID, r.EntryID, made.ID)
		}); err != nil {
			return err
		}
	}
	return s.transition(ctx, d.UserID, StateRefunding, func(tx *firestore.Transaction, cur *Deletion) error {
		for _, r := range cur.Refunds {
			if !r.settled() {
				return nil // another worker is mid-way; it finishes
			}
		}
		cur.State = StateCompleting
		return nil
	})
}

// refundMetadata and refundKey are those of the Stripe refund that carries
// out the user's refund entry: the metadata FindRefund looks it up by, and
// its idempotency key.
func refundMetadata(userID, entryID string) map[string]string {
	return map[string]string{payments.MetadataUserID: userID, payments.MetadataTransactionID: entryID}
}

func refundKey(userID, entryID string) string { return "refund:" + userID + ":" + entryID }

// refundWhatIsLeft answers Stripe's refusal of refund r (cause) when the
// charge has less left than planned: a refund made outside this service
// (the Dashboard) whose charge.refunded had not reached the ledger when the
// deletion was planned. The plan already counts that money as gone back to
// the card (the top-up's refunded total was raised by the whole amount, so
// the late event debits nothing), so what is left on the charge is
// refunded, under a key of its own, and the deletion goes on. Any other
// refusal (a disputed charge, nothing left) is returned as it came.
func (s *Service) refundWhatIsLeft(ctx context.Context, d Deletion, r Refund, cause error) (payments.Refund, error) {
	var pe *payments.Error
	if !errors.As(cause, &pe) || pe.Code == payments.CodeChargeDisputed {
		return payments.Refund{}, cause
	}
	left, err := s.stripe.Unrefunded(ctx, r.PaymentIntentID)
	if err != nil {
		return payments.Refund{}, err
	}
	if left <= 0 || left >= r.Amount {
		return payments.Refund{}, cause
	}
	logging.FromContext(ctx).WarnContext(ctx, "deletion refund reduced to what the charge has left; the rest was refunded outside this service",
		"payment_intent_id", r.PaymentIntentID, "planned", r.Amount, "left", left, "entry_id", r.EntryID)
	return s.stripe.RefundPayment(ctx, r.PaymentIntentID, left, refundMetadata(d.UserID, r.EntryID), fmt.Sprintf("%s:rest%d", refundKey(d.UserID, r.EntryID), left))
}

// refusedRefund records refund i of d as refused by Stripe for good: the
// deletion goes on without it, its ledger entry is marked failed with
// Stripe's code, and an error line tells the operators what to return.
func (s *Service) refusedRefund(ctx context.Context, d Deletion, i int, pe *payments.Error) error {
	r := d.Refunds[i]
	code := cmp.Or(pe.Code, "refund_refused")
	logging.FromContext(ctx).ErrorContext(ctx, "deletion refund refused by Stripe; an operator must return the money or record why",
		"payment_intent_id", r.PaymentIntentID, "amount", r.Amount, "entry_id", r.EntryID, "stripe_code", code)
	return s.transition(ctx, d.UserID, StateRefunding, func(tx *firestore.Transaction, cur *Deletion) error {
		if cur.Refunds[i].settled() {
			return nil
		}
		cur.Refunds[i].FailureCode = code
		return s.ledger.FailRefund(tx, d.UserID, r.EntryID, code, pe.Message)
	})
}

// complete detaches the saved cards and deletes the account, recording
// account-deleted for the satellite in the same transaction.
func (s *Service) complete(ctx context.Context, d Deletion) error {
	acct, err := s.customers.Get(ctx, d.UserID)
	if err != nil {
		return err
	}
	if acct.CustomerID != "" {
		if _, err := s.stripe.DetachCards(ctx, acct.CustomerID); err != nil {
			return err
		}
	}
	if err := fault.Point(ctx, fault.DeletionAfterDetach); err != nil {
		return err
	}
	var left int64
	err = s.transition(ctx, d.UserID, StateCompleting, func(tx *firestore.Transaction, cur *Deletion) error {
		// What moved the balance after the plan (a refund or chargeback
		// reported late, a dispute won) cannot be billed or returned any
		// more: a deleted account holds nothing, so it is written off.
		bal, err := s.ledger.BalanceIn(tx, d.UserID)
		if err != nil {
			return err
		}
		left = bal.Amount
		now := s.now()
		cur.State, cur.CompletedAt, cur.NextAttemptAt = StateDeleted, &now, nil
		if left != 0 {
			if err := s.ledger.Record(tx, ledger.Transaction{ID: fmt.Sprintf("del_%d_written_off", cur.Request), UserID: d.UserID,
				Type: ledger.TypeWrittenOff, Amount: -left, Status: ledger.StatusSucceeded}); err != nil {
				return err
			}
		}
		if err := s.accounts.MarkDeleted(tx, d.UserID, now); err != nil {
			return err
		}
		return s.outbox.Add(tx, deletedEventID(*cur), TopicDeleted, Event{
			EventID: deletedEventID(*cur), UserID: d.UserID, RequestedAt: cur.RequestedAt, FinalInvoiceID: cur.InvoiceID,
			FinalAmountDue: cur.InvoiceAmount, DeletedAt: &now, BillingStoppedAt: cur.RequestedAt,
		})
	})
	if err == nil {
		if left != 0 {
			logging.FromContext(ctx).ErrorContext(ctx, "deleted account's balance moved after its deletion was planned and was written off; an operator must pursue the debt or return the money",
				"user_id", d.UserID, "written_off", -left)
		}
		logging.FromContext(ctx).InfoContext(ctx, "account deleted", "final_invoice_id", d.InvoiceID)
	}
	return err
}

// Cancel stops a deletion whose final invoice is still unpaid. The invoice
// stays open: it bills usage that happened. Refunds and card detaching,
// once started, cannot be taken back, so those states are not cancelable.
func (s *Service) Cancel(ctx context.Context, userID string) (Deletion, error) {
	var d Deletion
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		var err error
		if d, err = s.Get(ctx, tx, userID); err != nil {
			return err
		}
		switch d.State {
		case StateInvoicing, StateAwaitingPayment:
		case "", StateCanceled:
			return ErrNoDeletion
		case StateDeleted:
			return ErrDeleted
		default:
			return ErrNotCancelable
		}
		now := s.now()
		d.State, d.CanceledAt, d.UpdatedAt, d.NextAttemptAt = StateCanceled, &now, now, nil
		if invoiceOwed(d) {
			// Canceled before its final invoice was recorded: the invoice
			// is still made and sent (it bills usage that happened), by the
			// advance below or the sweep.
			d.NextAttemptAt = &now
		}
		if err := s.accounts.Reopen(tx, userID, now); err != nil {
			return err
		}
		if err := s.outbox.Add(tx, canceledEventID(d), TopicDeletionCanceled, Event{
			EventID: canceledEventID(d), UserID: userID, RequestedAt: d.RequestedAt, FinalInvoiceID: d.InvoiceID,
			FinalAmountDue: d.InvoiceAmount, CanceledAt: &now, BillingStoppedAt: d.RequestedAt,
		}); err != nil {
			return err
		}
		return tx.Set(s.ref(userID), d)
	})
	if err != nil {
		return Deletion{}, err
	}
	logging.FromContext(ctx).InfoContext(ctx, "deletion canceled", "final_invoice_id", d.InvoiceID)
	if err := s.advance(ctx, userID); err != nil {
		logging.FromContext(ctx).WarnContext(ctx, "canceled deletion not settled yet (its final invoice, or its event); the sweep will finish it", "error", err.Error())
	}
	if cur, err := s.Get(ctx, nil, userID); err == nil {
		d = cur
	}
	return d, nil
}

// Sweep advances every deletion whose next step is due, oldest first, page
// read at a time, on the workers and within the time and Stripe budget of
// the run in ctx (sweep.From). Advancing is safe to repeat and to run
// concurrently, so overlapping runs need no claim.
func (s *Service) Sweep(ctx context.Context, page int) (advanced, failed int, err error) {
	var mu sync.Mutex
	due := func() firestore.Query {
		return s.fs.Collection(Collection).Where("nextAttemptAt", "<=", s.now()).OrderBy("nextAttemptAt", firestore.Asc)
	}
	err = sweep.From(ctx).Drain(ctx, due, page, func(ctx context.Context, snap *firestore.DocumentSnapshot) error {
		err := s.Advance(ctx, snap.Ref.ID)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			logging.FromContext(ctx).WarnContext(ctx, "deletion not advanced; it stays due after its backoff", "user_id", snap.Ref.ID, "error", err.Error())
			failed++
			return err
		}
		advanced++
		return nil
	})
	if err != nil {
		return advanced, failed, fmt.Errorf("find deletions to advance: %w", err)
	}
	return advanced, failed, nil
}
