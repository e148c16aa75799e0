package payments

import (
	"context"

	"github.com/stripe/stripe-go/v76"
)

// Metadata keys on our PaymentIntents, tying them to our user and ledger.
const (
	MetadataTransactionID = "transaction_id"
	MetadataKind          = "kind"
	MetadataPackageID     = "package_id"
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
}

// PaymentIntentFrom converts stripe-go's intent (also used for webhook
// payloads) to ours.
func PaymentIntentFrom(pi *stripe.PaymentIntent) PaymentIntent {
	out := PaymentIntent{
		ID:             pi.ID,
		Status:         string(pi.Status),
		ClientSecret:   pi.ClientSecret,
		Amount:         pi.Amount,
		AmountReceived: pi.AmountReceived,
		Currency:       string(pi.Currency),
		Metadata:       pi.Metadata,
	}
	if pi.Customer != nil {
		out.CustomerID = pi.Customer.ID
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
	return PaymentIntentFrom(pi), nil
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
	return PaymentIntentFrom(pi), nil
}
