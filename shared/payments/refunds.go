package payments

import (
	"context"

	"github.com/stripe/stripe-go/v76"
)

// Refund is the part of a Stripe refund we use.
type Refund struct {
	ID     string
	Status string
	Amount int64
}

// RefundPayment refunds amount of a PaymentIntent's charge.
func (c *Client) RefundPayment(ctx context.Context, paymentIntentID string, amount int64, metadata map[string]string, idempotencyKey string) (Refund, error) {
	const op = "create refund"
	if err := c.ready(ctx, op); err != nil {
		return Refund{}, err
	}
	params := &stripe.RefundParams{
		PaymentIntent: stripe.String(paymentIntentID),
		Amount:        stripe.Int64(amount),
		Reason:        stripe.String(string(stripe.RefundReasonRequestedByCustomer)),
	}
	params.Context = ctx
	for k, v := range metadata {
		params.AddMetadata(k, v)
	}
	params.SetIdempotencyKey(idempotencyKey)
	r, err := c.api.Refunds.New(params)
	if err != nil {
		return Refund{}, fail(ctx, op, err)
	}
	return Refund{ID: r.ID, Status: string(r.Status), Amount: r.Amount}, nil
}

// FindRefund returns the refund of the PaymentIntent whose metadata names
// transactionID (the ledger entry it carries out), or ErrNotFound: the
// look-up before making a refund again, since Stripe forgets the
// idempotency key after 24 h and a second refund would pay twice.
func (c *Client) FindRefund(ctx context.Context, paymentIntentID, transactionID string) (Refund, error) {
	var found *stripe.Refund
	err := c.eachRefund(ctx, paymentIntentID, func(r *stripe.Refund) bool {
		if r.Metadata[MetadataTransactionID] == transactionID {
			found = r
			return false
		}
		return true
	})
	if err != nil {
		return Refund{}, err
	}
	if found == nil {
		return Refund{}, &Error{Op: "list refunds", Kind: ErrNotFound, Message: "no refund carries out " + transactionID}
	}
	return Refund{ID: found.ID, Status: string(found.Status), Amount: found.Amount}, nil
}

// eachRefund calls fn for every refund of a PaymentIntent's charge, newest
// first, until fn returns false.
func (c *Client) eachRefund(ctx context.Context, paymentIntentID string, fn func(*stripe.Refund) bool) error {
	const op = "list refunds"
	if err := c.ready(ctx, op); err != nil {
		return err
	}
	params := &stripe.RefundListParams{PaymentIntent: stripe.String(paymentIntentID)}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	iter := c.api.Refunds.List(params)
	for iter.Next() {
		if !fn(iter.Refund()) {
			return nil
		}
	}
	if err := iter.Err(); err != nil {
		return fail(ctx, op, err)
	}
	return nil
}

// DetachCards detaches every card saved on the customer. Detaching is
// idempotent here: a card already detached is not an error.
func (c *Client) DetachCards(ctx context.Context, customerID string) (int, error) {
	const op = "list payment methods"
	if err := c.ready(ctx, op); err != nil {
		return 0, err
	}
	params := &stripe.PaymentMethodListParams{Customer: stripe.String(customerID), Type: stripe.String(string(stripe.PaymentMethodTypeCard))}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	iter := c.api.PaymentMethods.List(params)
	var ids []string
	for iter.Next() {
		ids = append(ids, iter.PaymentMethod().ID)
	}
	if err := iter.Err(); err != nil {
		return 0, fail(ctx, op, err)
	}
	for _, id := range ids {
		dp := &stripe.PaymentMethodDetachParams{}
		dp.Context = ctx
		dp.SetIdempotencyKey("detach:" + id)
		if _, err := c.api.PaymentMethods.Detach(id, dp); err != nil {
			// Someone detached it meanwhile: that is the outcome we want.
			if pm, gerr := c.api.PaymentMethods.Get(id, &stripe.PaymentMethodParams{Params: stripe.Params{Context: ctx}}); gerr == nil && pm.Customer == nil {
				continue
			}
			return 0, fail(ctx, "detach payment method", err)
		}
	}
	return len(ids), nil
}

// Unrefunded is what Stripe would still refund of a PaymentIntent's
// charge: what it received less every refund not failed or canceled, made
// here or anywhere else (the Dashboard). A refund refused as larger than
// that is retried for what is left.
func (c *Client) Unrefunded(ctx context.Context, paymentIntentID string) (int64, error) {
	pi, err := c.GetPaymentIntent(ctx, paymentIntentID)
	if err != nil {
		return 0, err
	}
	left := pi.AmountReceived
	err = c.eachRefund(ctx, paymentIntentID, func(r *stripe.Refund) bool {
		if r.Status != stripe.RefundStatusFailed && r.Status != stripe.RefundStatusCanceled {
			left -= r.Amount
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	return max(left, 0), nil
}
