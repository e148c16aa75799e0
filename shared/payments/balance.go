package payments

import (
	"context"

	"github.com/stripe/stripe-go/v76"
)

// CreditCustomer adds amount cents of credit to the customer's Stripe
// balance (a negative balance transaction), which Stripe applies to the
// customer's next finalized invoice. It returns the balance transaction id.
func (c *Client) CreditCustomer(ctx context.Context, customerID string, amount int64, description, entryID string) (string, error) {
	const op = "create customer balance transaction"
	if err := c.ready(ctx, op); err != nil {
		return "", err
	}
	params := &stripe.CustomerBalanceTransactionParams{
		Customer:    stripe.String(customerID),
		Amount:      stripe.Int64(-amount),
		Currency:    stripe.String(string(stripe.CurrencyUSD)),
		Description: stripe.String(description),
	}
	params.Context = ctx
	params.AddMetadata(MetadataLedgerEntry, entryID)
	params.SetIdempotencyKey("credit:" + entryID)
	txn, err := c.api.CustomerBalanceTransactions.New(params)
	if err != nil {
		return "", fail(ctx, op, err)
	}
	return txn.ID, nil
}

// FindCustomerCredit returns the balance transaction that carried out
// entryID, if one exists.
func (c *Client) FindCustomerCredit(ctx context.Context, customerID, entryID string) (string, bool, error) {
	const op = "list customer balance transactions"
	if err := c.ready(ctx, op); err != nil {
		return "", false, err
	}
	params := &stripe.CustomerBalanceTransactionListParams{Customer: stripe.String(customerID)}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	iter := c.api.CustomerBalanceTransactions.List(params)
	for iter.Next() {
		if txn := iter.CustomerBalanceTransaction(); txn.Metadata[MetadataLedgerEntry] == entryID {
			return txn.ID, true, nil
		}
	}
	if err := iter.Err(); err != nil {
		return "", false, fail(ctx, op, err)
	}
	return "", false, nil
}
