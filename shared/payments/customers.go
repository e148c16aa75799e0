package payments

import (
	"context"
	"fmt"

	"github.com/stripe/stripe-go/v76"
)

// Customer is the part of a Stripe customer we use.
type Customer struct {
	ID     string
	Email  string
	UserID string
}

func customerFrom(c *stripe.Customer) Customer {
	return Customer{ID: c.ID, Email: c.Email, UserID: c.Metadata[MetadataUserID]}
}

// CreateCustomer creates the Stripe customer of userID. idempotencyKey must
// be derived from the user id so concurrent creators converge on one customer.
func (c *Client) CreateCustomer(ctx context.Context, userID, email, idempotencyKey string) (Customer, error) {
	const op = "create customer"
	if err := c.ready(ctx, op); err != nil {
		return Customer{}, err
	}
	params := &stripe.CustomerParams{}
	params.Context = ctx
	if email != "" {
		params.Email = stripe.String(email)
	}
	params.AddMetadata(MetadataUserID, userID)
	params.SetIdempotencyKey(idempotencyKey)
	cust, err := c.api.Customers.New(params)
	if err != nil {
		return Customer{}, fail(ctx, op, err)
	}
	return customerFrom(cust), nil
}

// FindCustomerByUserID returns the oldest live customer whose metadata names
// userID, or ErrNotFound. Stripe's search index lags writes by up to a
// minute, so a miss right after a create is possible; callers still create
// with the user's idempotency key, which covers that window.
func (c *Client) FindCustomerByUserID(ctx context.Context, userID string) (Customer, error) {
	const op = "search customers"
	if err := c.ready(ctx, op); err != nil {
		return Customer{}, err
	}
	params := &stripe.CustomerSearchParams{}
	params.Context = ctx
	params.Query = fmt.Sprintf("metadata['%s']:'%s'", MetadataUserID, escapeSearch(userID))
	iter := c.api.Customers.Search(params)
	var oldest *stripe.Customer
	for iter.Next() {
		cust := iter.Customer()
		if cust.Deleted {
			continue
		}
		if oldest == nil || cust.Created < oldest.Created {
			oldest = cust
		}
	}
	if err := iter.Err(); err != nil {
		return Customer{}, fail(ctx, op, err)
	}
	if oldest == nil {
		return Customer{}, &Error{Op: op, Kind: ErrNotFound, Message: "no customer with user_id " + userID}
	}
	return customerFrom(oldest), nil
}

// escapeSearch escapes a value for a single-quoted Stripe search string.
func escapeSearch(v string) string {
	out := make([]rune, 0, len(v))
	for _, r := range v {
		if r == '\'' || r == '\\' {
			out = append(out, '\\')
		}
		out = append(out, r)
	}
	return string(out)
}
