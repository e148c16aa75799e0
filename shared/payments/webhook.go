package payments

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// ErrBadSignature: the Stripe-Signature header is missing, malformed, stale,
// or matches none of the configured secrets.
var ErrBadSignature = errors.New("invalid stripe signature")

// ErrMalformedEvent: the body is signed but is not a Stripe event, or the
// object of an event type we handle is not one we can read.
var ErrMalformedEvent = errors.New("malformed stripe event")

// EventType is the type of a Stripe event, e.g. "payment_intent.succeeded".
type EventType string

// The event types the webhook handles. VerifyEvent parses each into its
// object; any other type is still a valid Event, with no object.
const (
	EventPaymentIntentSucceeded       EventType = "payment_intent.succeeded"
	EventPaymentIntentPaymentFailed   EventType = "payment_intent.payment_failed"
	EventPaymentIntentCanceled        EventType = "payment_intent.canceled"
	EventInvoicePaid                  EventType = "invoice.paid"
	EventInvoiceCreated               EventType = "invoice.created"
	EventChargeRefunded               EventType = "charge.refunded"
	EventChargeDisputeCreated         EventType = "charge.dispute.created"
	EventChargeDisputeUpdated         EventType = "charge.dispute.updated"
	EventChargeDisputeFundsWithdrawn  EventType = "charge.dispute.funds_withdrawn"
	EventChargeDisputeFundsReinstated EventType = "charge.dispute.funds_reinstated"
	EventChargeDisputeClosed          EventType = "charge.dispute.closed"
	EventCustomerDeleted              EventType = "customer.deleted"
)

var handledEventTypes = []EventType{
	EventPaymentIntentSucceeded, EventPaymentIntentPaymentFailed, EventPaymentIntentCanceled,
	EventInvoicePaid, EventInvoiceCreated,
	EventChargeRefunded, EventChargeDisputeCreated, EventChargeDisputeUpdated,
	EventChargeDisputeFundsWithdrawn, EventChargeDisputeFundsReinstated, EventChargeDisputeClosed,
	EventCustomerDeleted,
}

// HandledEventTypes lists the event types VerifyEvent parses into an
// object: the ones the Stripe endpoint must be configured to send (infra's
// tests hold local.stripe_webhook_events to exactly this list).
func HandledEventTypes() []EventType { return slices.Clone(handledEventTypes) }

// Event is a verified Stripe event in our own types.
type Event struct {
	ID   string
	Type EventType
	// ObjectID is data.object's id, for the record (possibly empty for a
	// type we do not handle).
	ObjectID string
	// Exactly one of these is set for a handled type, by its prefix:
	// payment_intent.*, charge.refunded, charge.dispute.*, invoice.*,
	// customer.*. None is set for any other type.
	PaymentIntent *PaymentIntent
	Charge        *Charge
	Dispute       *Dispute
	Invoice       *Invoice
	Customer      *Customer
}

// Charge is the part of a refunded charge we use.
type Charge struct {
	ID              string
	PaymentIntentID string
	AmountRefunded  int64 // cumulative, in the charge's cents
	// AmountCaptured is what the charge received (its amount, for a charge
	// captured in full), in Currency.
	AmountCaptured int64
	Currency       string
	// Metadata is the charge's, copied by Stripe from its PaymentIntent.
	Metadata map[string]string
}

// Dispute is the part of a dispute we use.
type Dispute struct {
	ID              string
	PaymentIntentID string
	Amount          int64
	Currency        string
	Status          string // Stripe's, e.g. "warning_needs_response", "needs_response", "won", "lost"
	// Withdrawals and Reinstatements count the dispute's balance
	// transactions that took the funds (negative) and gave them back
	// (positive).
	Withdrawals, Reinstatements int
}

// VerifyEvent checks header against every secret (several during a
// rotation) with Stripe's 300 s tolerance, and parses the event into our
// types. Events of any API version are accepted: the fields we read are
// stable across them.
func VerifyEvent(payload []byte, header string, secrets []string) (Event, error) {
	lastErr := webhook.ErrNotSigned
	for _, secret := range secrets {
		ev, err := webhook.ConstructEventWithOptions(payload, header, secret, webhook.ConstructEventOptions{
			Tolerance:                webhook.DefaultTolerance,
			IgnoreAPIVersionMismatch: true,
		})
		switch {
		case isSignatureError(err):
			lastErr = err
			continue
		case err != nil:
			return Event{}, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
		case ev.ID == "" || ev.Type == "" || ev.Data == nil || len(ev.Data.Raw) == 0:
			return Event{}, fmt.Errorf("%w: id, type or data missing", ErrMalformedEvent)
		}
		return parseEvent(ev)
	}
	return Event{}, fmt.Errorf("%w: %v", ErrBadSignature, lastErr)
}

func isSignatureError(err error) bool {
	return errors.Is(err, webhook.ErrNotSigned) || errors.Is(err, webhook.ErrInvalidHeader) ||
		errors.Is(err, webhook.ErrNoValidSignature) || errors.Is(err, webhook.ErrTooOld)
}

// parseEvent reads data.object of a handled type with stripe-go's own
// decoding (which also accepts an expandable object given as a bare id);
// an object that does not decode, or has no id, is malformed.
func parseEvent(ev stripe.Event) (Event, error) {
	out := Event{ID: ev.ID, Type: EventType(ev.Type)}
	raw := ev.Data.Raw
	switch out.Type {
	case EventPaymentIntentSucceeded, EventPaymentIntentPaymentFailed, EventPaymentIntentCanceled:
		var pi stripe.PaymentIntent
		if err := json.Unmarshal(raw, &pi); err != nil || pi.ID == "" {
			return Event{}, malformed(out.Type, "payment intent", err)
		}
		p := paymentIntentFrom(&pi)
		out.ObjectID, out.PaymentIntent = pi.ID, &p
	case EventChargeRefunded:
		var ch stripe.Charge
		if err := json.Unmarshal(raw, &ch); err != nil || ch.ID == "" {
			return Event{}, malformed(out.Type, "charge", err)
		}
		captured := ch.AmountCaptured
		if captured == 0 && ch.Status == stripe.ChargeStatusSucceeded {
			captured = ch.Amount // captured in full: our intents capture automatically
		}
		out.ObjectID, out.Charge = ch.ID, &Charge{ID: ch.ID, PaymentIntentID: intentID(ch.PaymentIntent), AmountRefunded: ch.AmountRefunded,
			AmountCaptured: captured, Currency: string(ch.Currency), Metadata: ch.Metadata}
	case EventChargeDisputeCreated, EventChargeDisputeUpdated, EventChargeDisputeFundsWithdrawn,
		EventChargeDisputeFundsReinstated, EventChargeDisputeClosed:
		var dp stripe.Dispute
		if err := json.Unmarshal(raw, &dp); err != nil || dp.ID == "" {
			return Event{}, malformed(out.Type, "dispute", err)
		}
		d := &Dispute{ID: dp.ID, PaymentIntentID: intentID(dp.PaymentIntent), Amount: dp.Amount, Currency: string(dp.Currency), Status: string(dp.Status)}
		for _, bt := range dp.BalanceTransactions {
			switch {
			case bt == nil:
			case bt.Amount < 0:
				d.Withdrawals++
			case bt.Amount > 0:
				d.Reinstatements++
			}
		}
		out.ObjectID, out.Dispute = dp.ID, d
	case EventCustomerDeleted:
		var cu stripe.Customer
		if err := json.Unmarshal(raw, &cu); err != nil || cu.ID == "" {
			return Event{}, malformed(out.Type, "customer", err)
		}
		c := customerFrom(&cu)
		out.ObjectID, out.Customer = cu.ID, &c
	case EventInvoicePaid, EventInvoiceCreated:
		var inv stripe.Invoice
		if err := json.Unmarshal(raw, &inv); err != nil || inv.ID == "" {
			return Event{}, malformed(out.Type, "invoice", err)
		}
		in := invoiceFrom(&inv)
		out.ObjectID, out.Invoice = inv.ID, &in
	default:
		// Any object will do: its id is only recorded.
		var obj struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(raw, &obj)
		out.ObjectID = obj.ID
	}
	return out, nil
}

func malformed(typ EventType, what string, err error) error {
	return fmt.Errorf("%w: %s: data.object is not a %s: %v", ErrMalformedEvent, typ, what, err)
}

func intentID(pi *stripe.PaymentIntent) string {
	if pi == nil {
		return ""
	}
	return pi.ID
}
