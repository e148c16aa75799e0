package payments

import (
	"context"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/billing/shared/logging"
)

// EventsSince calls fn for every event of the given types (at most 20, as
// Stripe allows) created at or after since, newest first, 100 a page, each
// parsed into our types exactly as VerifyEvent parses a webhook delivery.
// Stripe lists events for 30 days. An event that does not parse is
// skipped (logged): it is one the webhook would refuse as malformed too. fn
// returning an error stops the listing.
func (c *Client) EventsSince(ctx context.Context, since time.Time, types []EventType, fn func(Event) error) error {
	const op = "list events"
	if err := c.ready(ctx, op); err != nil {
		return err
	}
	params := &stripe.EventListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: since.Unix()}}
	for _, t := range types {
		params.Types = append(params.Types, stripe.String(string(t)))
	}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	iter := c.api.Events.List(params)
	for iter.Next() {
		raw := iter.Event()
		if raw.Data == nil || len(raw.Data.Raw) == 0 {
			continue
		}
		ev, err := parseEvent(*raw)
		if err != nil {
			logging.FromContext(ctx).WarnContext(ctx, "listed stripe event skipped: malformed", "event_id", raw.ID, "event_type", string(raw.Type), "error", err.Error())
			continue
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	if err := iter.Err(); err != nil {
		return fail(ctx, op, err)
	}
	return nil
}
