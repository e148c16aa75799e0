// Package settlement is the one mapping from what Stripe reports about one
// of our PaymentIntents (payments.PaymentIntent) to what the ledger settles
// (ledger.Payment). The webhook (payment_intent.succeeded, payment_failed,
// canceled) and the reconciler (the intents it lists or cancels) both use
// it, so a payment is recorded alike whoever reports it first.
//
// It sits beside both sides rather than in either, so that the import graph
// stays one way: shared/ledger (the books) knows nothing of Stripe, and
// shared/payments (the Stripe port, an adapter) knows nothing of the books.
// This package is the only one that knows both, and only the packages that
// settle payments (functions/webhook, shared/reconciler) import it.
package settlement

import (
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/payments"
)

// failureCanceled is the failure code of a canceled payment; the reason
// Stripe gives (e.g. "abandoned") is its message.
const failureCanceled = "canceled"

// Payment is what the ledger settles for pi, reported as ended with status
// (ledger.StatusSucceeded, StatusFailed or StatusCanceled). The webhook
// knows the status from the event's type, the reconciler from Ended.
func Payment(pi payments.PaymentIntent, status string) ledger.Payment {
	p := ledger.Payment{
		UserID:          pi.UserID(),
		TransactionID:   pi.TransactionID(),
		PaymentIntentID: pi.ID,
		Status:          status,
		AmountReceived:  pi.AmountReceived,
		Currency:        pi.Currency,
	}
	if status == ledger.StatusCanceled {
		p.FailureCode, p.FailureMessage = failureCanceled, pi.CancellationReason
	} else {
		p.FailureCode, p.FailureMessage = pi.LastErrorCode, pi.LastErrorMessage
	}
	return p
}

// Ended is the ledger status of an intent that has ended in Stripe:
// succeeded or canceled. Any other status (requires_payment_method after a
// decline, requires_action, processing) may still change, and ok is false.
func Ended(pi payments.PaymentIntent) (status string, ok bool) {
	switch pi.Status {
	case payments.IntentSucceeded:
		return ledger.StatusSucceeded, true
	case payments.IntentCanceled:
		return ledger.StatusCanceled, true
	}
	return "", false
}
