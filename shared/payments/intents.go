package payments

import (
	"context"
	"errors"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// PaymentIntent is the part of a Stripe PaymentIntent we use.
type PaymentIntent struct {
	ID             string
	Status         string // Stripe's status, e.g. "requires_payment_method", "succeeded"
	ClientSecret   string
	Amount         int64
	AmountReceived int64
	Currency       string
	CustomerID     string
	Metadata       map[string]string
	// LastErrorCode and LastErrorMessage are Stripe's last_payment_error:
	// why the latest attempt failed (e.g. "card_declined"); empty when none
	// did.
	LastErrorCode    string
	LastErrorMessage string
	// CancellationReason is set once the intent is canceled, e.g.
	// "abandoned".
	CancellationReason string
}

// Stripe's PaymentIntent statuses we act on; the others mean it may still
// change.
const (
	IntentSucceeded = "succeeded"
	IntentCanceled  = "canceled"
)

// UserID is our user the intent's payment is for.
func (pi PaymentIntent) UserID() string { return pi.Metadata[MetadataUserID] }

// TransactionID is the ledger transaction the intent pays.
func (pi PaymentIntent) TransactionID() string { return pi.Metadata[MetadataTransactionID] }

// Kind is the transaction type the intent pays (a top-up or a package);
// empty for a payment this service did not start.
func (pi PaymentIntent) Kind() string { return pi.Metadata[MetadataKind] }

// paymentIntentFrom converts stripe-go's intent (also used for webhook
// payloads) to ours.
func paymentIntentFrom(pi *stripe.PaymentIntent) PaymentIntent {
	out := PaymentIntent{
		ID:                 pi.ID,
		Status:             string(pi.Status),
		ClientSecret:       pi.ClientSecret,
		Amount:             pi.Amount,
		AmountReceived:     pi.AmountReceived,
		Currency:           string(pi.Currency),
		Metadata:           pi.Metadata,
		CancellationReason: string(pi.CancellationReason),
	}
	if pi.Customer != nil {
		out.CustomerID = pi.Customer.ID
	}
	if pi.LastPaymentError != nil {
		out.LastErrorCode, out.LastErrorMessage = string(pi.LastPaymentError.Code), pi.LastPaymentError.Msg
	}
	return out
}

// NewPaymentIntent describes a card payment to create.
type NewPaymentIntent struct {
	CustomerID string
	Amount     int64
	Currency   string
	// PaymentMethodID, when set, is a saved card: the intent is confirmed at
	// once, server-side, and may come back requires_action (3-D Secure).
	PaymentMethodID string
	Description     string
	Metadata        map[string]string
}

// CreatePaymentIntent creates (and with a payment method, confirms) a card
// PaymentIntent. A declined card returns ErrCardDeclined with the intent id.
func (c *Client) CreatePaymentIntent(ctx context.Context, p NewPaymentIntent, idempotencyKey string) (PaymentIntent, error) {
	const op = "create payment intent"
	if err := c.ready(ctx, op); err != nil {
		return PaymentIntent{}, err
	}
	params := &stripe.PaymentIntentParams{
		Amount:             stripe.Int64(p.Amount),
		Currency:           stripe.String(p.Currency),
		Customer:           stripe.String(p.CustomerID),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
	}
	if p.Description != "" {
		params.Description = stripe.String(p.Description)
	}
	if p.PaymentMethodID != "" {
		params.PaymentMethod = stripe.String(p.PaymentMethodID)
		params.Confirm = stripe.Bool(true)
	}
	params.Context = ctx
	for k, v := range p.Metadata {
		params.AddMetadata(k, v)
	}
	params.SetIdempotencyKey(idempotencyKey)
	pi, err := c.api.PaymentIntents.New(params)
	if err != nil {
		return PaymentIntent{}, fail(ctx, op, err)
	}
	return paymentIntentFrom(pi), nil
}

// GetPaymentIntent retrieves an intent, client secret included.
func (c *Client) GetPaymentIntent(ctx context.Context, id string) (PaymentIntent, error) {
	const op = "retrieve payment intent"
	if err := c.ready(ctx, op); err != nil {
		return PaymentIntent{}, err
	}
	params := &stripe.PaymentIntentParams{}
	params.Context = ctx
	pi, err := c.api.PaymentIntents.Get(id, params)
	if err != nil {
		return PaymentIntent{}, fail(ctx, op, err)
	}
	return paymentIntentFrom(pi), nil
}

// PaymentIntentsSince calls fn for every PaymentIntent created at or after
// since, newest first, following Stripe's pagination. fn returning an error
// stops the listing.
func (c *Client) PaymentIntentsSince(ctx context.Context, since time.Time, fn func(PaymentIntent) error) error {
	const op = "list payment intents"
	if err := c.ready(ctx, op); err != nil {
		return err
	}
	params := &stripe.PaymentIntentListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: since.Unix()}}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	iter := c.api.PaymentIntents.List(params)
	for iter.Next() {
		if err := fn(paymentIntentFrom(iter.PaymentIntent())); err != nil {
			return err
		}
	}
	if err := iter.Err(); err != nil {
		return fail(ctx, op, err)
	}
	return nil
}

// ConfirmPaymentIntent confirms an intent with a payment method, as the card
// holder does through Stripe.js. The functions never call it (the console
// confirms in the browser); the local stack's /dev/pay plays the card holder
// with it. A declined card returns ErrCardDeclined with the intent id.
func (c *Client) ConfirmPaymentIntent(ctx context.Context, id, paymentMethodID string) (PaymentIntent, error) {
	const op = "confirm payment intent"
	if err := c.ready(ctx, op); err != nil {
		return PaymentIntent{}, err
	}
	params := &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String(paymentMethodID)}
	params.Context = ctx
	pi, err := c.api.PaymentIntents.Confirm(id, params)
	if err != nil {
		return PaymentIntent{}, fail(ctx, op, err)
	}
	return paymentIntentFrom(pi), nil
}

// CancelOpenPaymentIntents cancels every PaymentIntent of the customer that
// could still be paid (a declined one can be paid later with another card):
// those waiting for a payment method, a confirmation or an action. It
// returns how many it canceled.
func (c *Client) CancelOpenPaymentIntents(ctx context.Context, customerID string) (int, error) {
	const op = "list payment intents"
	if err := c.ready(ctx, op); err != nil {
		return 0, err
	}
	params := &stripe.PaymentIntentListParams{Customer: stripe.String(customerID)}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	var open []string
	iter := c.api.PaymentIntents.List(params)
	for iter.Next() {
		switch iter.PaymentIntent().Status {
		case stripe.PaymentIntentStatusRequiresPaymentMethod, stripe.PaymentIntentStatusRequiresConfirmation, stripe.PaymentIntentStatusRequiresAction:
			open = append(open, iter.PaymentIntent().ID)
		}
	}
	if err := iter.Err(); err != nil {
		return 0, fail(ctx, op, err)
	}
	for _, id := range open {
		if _, err := c.CancelPaymentIntent(ctx, id); err != nil {
			return 0, err
		}
	}
	return len(open), nil
}

// FindPaymentIntent returns the customer's PaymentIntent created at or
// after since whose metadata names the transaction, or ErrNotFound. It is
// the look-up before re-creating an intent whose idempotency key Stripe may
// have forgotten (24 h); a list, unlike a search, sees an intent at once.
func (c *Client) FindPaymentIntent(ctx context.Context, customerID, transactionID string, since time.Time) (PaymentIntent, error) {
	const op = "find payment intent"
	if err := c.ready(ctx, op); err != nil {
		return PaymentIntent{}, err
	}
	params := &stripe.PaymentIntentListParams{
		Customer:     stripe.String(customerID),
		CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: since.Unix()},
	}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	iter := c.api.PaymentIntents.List(params)
	for iter.Next() {
		if pi := paymentIntentFrom(iter.PaymentIntent()); pi.TransactionID() == transactionID {
			return pi, nil
		}
	}
	if err := iter.Err(); err != nil {
		return PaymentIntent{}, fail(ctx, op, err)
	}
	return PaymentIntent{}, &Error{Op: op, Kind: ErrNotFound, Message: "no payment intent names transaction " + transactionID}
}

// CancelPaymentIntent cancels an intent that can no longer complete
// usefully. An intent that already succeeded or was canceled is returned as
// it is (with its status), not as an error, so the caller can act on it.
func (c *Client) CancelPaymentIntent(ctx context.Context, id string) (PaymentIntent, error) {
	const op = "cancel payment intent"
	if err := c.ready(ctx, op); err != nil {
		return PaymentIntent{}, err
	}
	params := &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String(string(stripe.PaymentIntentCancellationReasonAbandoned))}
	params.Context = ctx
	params.SetIdempotencyKey("cancel:" + id)
	pi, err := c.api.PaymentIntents.Cancel(id, params)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.Code == stripe.ErrorCodePaymentIntentUnexpectedState {
			return c.GetPaymentIntent(ctx, id)
		}
		return PaymentIntent{}, fail(ctx, op, err)
	}
	return paymentIntentFrom(pi), nil
}
