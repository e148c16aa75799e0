// Package dispatch applies a verified Stripe event: it chooses the event's
// effect, runs it through the ledger's exactly-once Process (the event id
// is recorded in the same Firestore transaction as the effect), then does
// the follow-up work that lies outside Firestore (completing a paid final
// invoice's deletion, applying an invoice credit in Stripe). The webhook
// and Reconcile both apply events through Apply, with the event's own id,
// so an event is applied alike whoever delivers it, and whichever delivers
// it second finds a duplicate.
package dispatch

import (
	"context"
	"errors"
	"fmt"

	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/settlement"
)

type (
	// Books is what applying an event needs of the ledger.
	Books interface {
		Process(ctx context.Context, ev ledger.Event, effect ledger.Effect) (ledger.Outcome, error)
		SettleTopUp(p ledger.Payment) ledger.Effect
		RefundCharge(r ledger.ChargeRefund) ledger.Effect
		DisputeChanged(d ledger.Dispute) ledger.Effect
		IntentIndexed(ctx context.Context, paymentIntentID string) (bool, error)
	}
	// Intents is what it needs of Stripe: a disputed intent's metadata.
	Intents interface {
		GetPaymentIntent(ctx context.Context, id string) (payments.PaymentIntent, error)
	}
	// Deletions is what it needs of the deletion service.
	Deletions interface {
		InvoicePaid(inv payments.Invoice) ledger.Effect
		Advance(ctx context.Context, userID string) error
		ReturnPayment(ctx context.Context, userID, entryID string) error
	}
	// Credits is what it needs of the invoice-credit service.
	Credits interface {
		Created(inv payments.Invoice) ledger.Effect
		Finish(ctx context.Context, userID, invoiceID string) error
	}
	// Customers is what it needs of the customer service.
	Customers interface {
		CustomerDeleted(customerID string) ledger.Effect
	}
)

// Service applies events.
type Service struct {
	ledger    Books
	deletions Deletions
	credits   Credits
	customers Customers
	intents   Intents
}

// New wires a Service. The deletion, invoice-credit and customer services
// may be nil in tests that send none of their events; intents may be nil
// where no dispute comes before its payment is recorded (see Apply).
func New(l Books, d Deletions, c Credits, cu Customers, i Intents) *Service {
	return &Service{ledger: l, deletions: d, credits: c, customers: cu, intents: i}
}

// Apply applies ev exactly once and returns what it did (ResultDuplicate
// when ev's id was applied before). An error means nothing was recorded:
// the sender retries.
func (s *Service) Apply(ctx context.Context, ev payments.Event) (ledger.Outcome, error) {
	effect := s.Effect(ev)
	if ev.Dispute != nil {
		d, err := s.disputeOwner(ctx, disputeOf(ev.Dispute, disputeStage(ev.Type)))
		if err != nil {
			return ledger.Outcome{}, err
		}
		effect = s.ledger.DisputeChanged(d)
	}
	out, err := s.Process(ctx, ledger.Event{ID: ev.ID, Type: string(ev.Type), ObjectID: ev.ObjectID}, effect)
	if err != nil {
		return ledger.Outcome{}, err
	}
	logger := logging.FromContext(ctx)
	// A paid final invoice has work outside Firestore (cards, the
	// account-deleted event). It runs from the recorded state, also on a
	// duplicate delivery (the first one may have died right after the
	// commit); what fails here the deletion sweep finishes.
	settled := out.UserID != "" && (out.Result == ledger.ResultApplied || out.Result == ledger.ResultDuplicate)
	if ev.Type == payments.EventInvoicePaid && settled {
		if err := s.deletions.Advance(ctx, out.UserID); err != nil {
			logger.WarnContext(ctx, "deletion not completed yet; the sweep will finish it", "user_id", out.UserID, "error", err.Error())
		}
	}
	// Likewise the credit recorded for a new invoice is applied in Stripe
	// from its ledger entry; Reconcile finishes what fails here.
	if ev.Type == payments.EventInvoiceCreated && settled {
		if err := s.credits.Finish(ctx, out.UserID, ev.ObjectID); err != nil {
			logger.WarnContext(ctx, "invoice credit not applied in Stripe yet; reconcile will finish it", "user_id", out.UserID, "error", err.Error())
		}
	}
	return out, nil
}

// Process applies effect once under ev's id (ledger.Process) and carries
// out what its outcome leaves to do in Stripe, whichever path reported
// the payment (a webhook event, Reconcile's or CancelStalePayments' look
// at an intent): a payment that succeeded on a closing or deleted account
// goes back to its card. What fails here the deletion sweep finishes.
func (s *Service) Process(ctx context.Context, ev ledger.Event, effect ledger.Effect) (ledger.Outcome, error) {
	out, err := s.ledger.Process(ctx, ev, effect)
	if err != nil {
		return ledger.Outcome{}, err
	}
	if out.ReturnEntryID != "" && out.Result == ledger.ResultApplied {
		if err := s.deletions.ReturnPayment(ctx, out.UserID, out.ReturnEntryID); err != nil {
			logging.FromContext(ctx).WarnContext(ctx, "payment to a closing account not returned yet; the deletion sweep will", "user_id", out.UserID, "error", err.Error())
		}
	}
	return out, nil
}

// Effect chooses what an event does (Apply runs it). The port has parsed
// the object of every type handled here (a malformed one never gets this
// far); unknown types are recorded as ignored, so that their redeliveries
// are recognised as duplicates too.
func (s *Service) Effect(ev payments.Event) ledger.Effect {
	switch ev.Type {
	case payments.EventPaymentIntentSucceeded:
		return s.ledger.SettleTopUp(settlement.Payment(*ev.PaymentIntent, ledger.StatusSucceeded))
	case payments.EventPaymentIntentPaymentFailed:
		return s.ledger.SettleTopUp(settlement.Payment(*ev.PaymentIntent, ledger.StatusFailed))
	case payments.EventPaymentIntentCanceled:
		return s.ledger.SettleTopUp(settlement.Payment(*ev.PaymentIntent, ledger.StatusCanceled))
	case payments.EventChargeRefunded:
		ch := ev.Charge
		return s.ledger.RefundCharge(ledger.ChargeRefund{PaymentIntentID: ch.PaymentIntentID, ChargeID: ch.ID, AmountRefunded: ch.AmountRefunded,
			AmountCaptured: ch.AmountCaptured, Currency: ch.Currency,
			UserID: ch.Metadata[payments.MetadataUserID], TransactionID: ch.Metadata[payments.MetadataTransactionID]})
	case payments.EventChargeDisputeCreated, payments.EventChargeDisputeUpdated, payments.EventChargeDisputeClosed,
		payments.EventChargeDisputeFundsWithdrawn, payments.EventChargeDisputeFundsReinstated:
		return s.ledger.DisputeChanged(disputeOf(ev.Dispute, disputeStage(ev.Type)))
	case payments.EventCustomerDeleted:
		if s.customers == nil {
			return ledger.Ignore("customer events are not wired here")
		}
		return s.customers.CustomerDeleted(ev.Customer.ID)
	case payments.EventInvoiceCreated:
		return s.credits.Created(*ev.Invoice)
	case payments.EventInvoicePaid:
		return s.deletions.InvoicePaid(*ev.Invoice)
	default:
		return ledger.Ignore("event type not handled")
	}
}

func disputeStage(t payments.EventType) string {
	switch t {
	case payments.EventChargeDisputeFundsWithdrawn:
		return ledger.DisputeFundsWithdrawn
	case payments.EventChargeDisputeFundsReinstated:
		return ledger.DisputeFundsReinstated
	}
	return ""
}

// disputeOwner adds to d the ids of the top-up its intent pays when the
// intent is not indexed yet, from the intent's metadata in Stripe: a
// dispute names only the intent, and checkout leaves a fresh payment's
// intent unrecorded until its outcome is reported, which may come after
// the dispute. An intent Stripe does not know, or one not ours, adds
// nothing (the ledger then finds no top-up); Stripe out of reach is an
// error, so the event is retried.
func (s *Service) disputeOwner(ctx context.Context, d ledger.Dispute) (ledger.Dispute, error) {
	if s.intents == nil || d.PaymentIntentID == "" {
		return d, nil
	}
	indexed, err := s.ledger.IntentIndexed(ctx, d.PaymentIntentID)
	if err != nil || indexed {
		return d, err
	}
	pi, err := s.intents.GetPaymentIntent(ctx, d.PaymentIntentID)
	if errors.Is(err, payments.ErrNotFound) {
		return d, nil
	}
	if err != nil {
		return d, fmt.Errorf("look up disputed payment intent %s: %w", d.PaymentIntentID, err)
	}
	d.UserID, d.TransactionID = pi.UserID(), pi.TransactionID()
	return d, nil
}

func disputeOf(d *payments.Dispute, stage string) ledger.Dispute {
	return ledger.Dispute{ID: d.ID, PaymentIntentID: d.PaymentIntentID, Amount: d.Amount, Currency: d.Currency, Status: d.Status,
		Stage: stage, Withdrawals: d.Withdrawals, Reinstatements: d.Reinstatements}
}
