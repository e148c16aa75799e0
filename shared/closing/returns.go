package closing

import (
	"cmp"
	"context"
	"errors"
	"strings"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
)

// ReturnPayment sends back to its card a payment that succeeded on a
// closing or deleted account: the ledger recorded it with a pending refund
// entry of the same amount (settle's rule that money lands only on a live
// account), and this makes that refund in Stripe and marks the entry. It
// looks for the refund before making it (keys are kept 24 h), and a refusal
// for good (the charge was refunded or disputed meanwhile) is recorded on
// the entry and logged for an operator. Safe to run any number of times.
func (s *Service) ReturnPayment(ctx context.Context, userID, entryID string) error {
	e, err := s.ledger.Transaction(ctx, userID, entryID)
	if err != nil {
		return err
	}
	if e.Status != ledger.StatusPending || e.Type != ledger.TypeRefund {
		return nil
	}
	made, err := s.stripe.FindRefund(ctx, e.PaymentIntentID, entryID)
	if errors.Is(err, payments.ErrNotFound) {
		made, err = s.stripe.RefundPayment(ctx, e.PaymentIntentID, -e.Amount,
			refundMetadata(userID, entryID), refundKey(userID, entryID))
	}
	var pe *payments.Error
	switch {
	case errors.Is(err, payments.ErrRejected) && errors.As(err, &pe):
		code := cmp.Or(pe.Code, "refund_refused")
		logging.FromContext(ctx).ErrorContext(ctx, "a payment to a closing account could not go back to its card; an operator must return the money or record why",
			"user_id", userID, "payment_intent_id", e.PaymentIntentID, "amount", -e.Amount, "entry_id", entryID, "stripe_code", code)
		return s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
			return s.ledger.FailRefund(tx, userID, entryID, code, pe.Message)
		})
	case err != nil:
		return err
	}
	logging.FromContext(ctx).InfoContext(ctx, "payment to a closing account returned to its card",
		"user_id", userID, "payment_intent_id", e.PaymentIntentID, "amount", -e.Amount, "refund_id", made.ID)
	return s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		return s.ledger.CompleteRefund(tx, userID, entryID, made.ID)
	})
}

// FinishReturns makes the refunds of payments to closing accounts that a
// dead process, or Stripe being down, left pending (at most limit).
func (s *Service) FinishReturns(ctx context.Context, limit int) (finished int, err error) {
	pending, err := s.ledger.PendingEntries(ctx, ledger.TypeRefund, limit)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, e := range pending {
		if !strings.HasPrefix(e.ID, ledger.ReturnEntryPrefix) {
			continue // a deletion's own refund: its state machine makes it
		}
		if err := s.ReturnPayment(ctx, e.UserID, e.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		finished++
	}
	return finished, errors.Join(errs...)
}
