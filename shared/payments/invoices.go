package payments

import (
	"context"
	"fmt"

	"github.com/stripe/stripe-go/v76"
)

// Invoice statuses that mean money is (or will be) owed.
const (
	InvoiceDraft         = "draft"
	InvoiceOpen          = "open"
	InvoiceUncollectible = "uncollectible"
	InvoicePaid          = "paid"
)

// Invoice is the part of a Stripe invoice we use.
type Invoice struct {
	ID               string
	CustomerID       string
	Status           string
	AmountDue        int64
	AmountPaid       int64
	Total            int64
	Currency         string
	HostedInvoiceURL string
	Metadata         map[string]string
	// Lines are the lines Stripe embeds in the invoice (the first ten).
	Lines []InvoiceLine
}

// InvoiceLine is one line of an invoice.
type InvoiceLine struct {
	Amount   int64
	Metadata map[string]string
}

// invoiceFrom converts stripe-go's invoice (also used for webhook payloads).
func invoiceFrom(inv *stripe.Invoice) Invoice {
	out := Invoice{
		ID: inv.ID, Status: string(inv.Status), AmountDue: inv.AmountDue, AmountPaid: inv.AmountPaid,
		Total: inv.Total, Currency: string(inv.Currency), HostedInvoiceURL: inv.HostedInvoiceURL, Metadata: inv.Metadata,
	}
	if inv.Customer != nil {
		out.CustomerID = inv.Customer.ID
	}
	if inv.Lines != nil {
		for _, l := range inv.Lines.Data {
			out.Lines = append(out.Lines, InvoiceLine{Amount: l.Amount, Metadata: l.Metadata})
		}
	}
	return out
}

// UnpaidInvoices lists the customer's draft, open and uncollectible
// invoices, one filtered list per status (a customer's paid history can be
// long; these three are short).
func (c *Client) UnpaidInvoices(ctx context.Context, customerID string) ([]Invoice, error) {
	const op = "list invoices"
	if err := c.ready(ctx, op); err != nil {
		return nil, err
	}
	var out []Invoice
	for _, st := range []string{InvoiceDraft, InvoiceOpen, InvoiceUncollectible} {
		params := &stripe.InvoiceListParams{Customer: stripe.String(customerID), Status: stripe.String(st)}
		params.Context = ctx
		params.Limit = stripe.Int64(100)
		iter := c.api.Invoices.List(params)
		for iter.Next() {
			out = append(out, invoiceFrom(iter.Invoice()))
		}
		if err := iter.Err(); err != nil {
			return nil, fail(ctx, op, err)
		}
	}
	return out, nil
}

// PendingInvoiceItems counts the customer's invoice items not yet on an
// invoice (they would be billed later) and their sum.
func (c *Client) PendingInvoiceItems(ctx context.Context, customerID string) (count int, amount int64, err error) {
	const op = "list invoice items"
	if err := c.ready(ctx, op); err != nil {
		return 0, 0, err
	}
	params := &stripe.InvoiceItemListParams{Customer: stripe.String(customerID), Pending: stripe.Bool(true)}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	iter := c.api.InvoiceItems.List(params)
	for iter.Next() {
		count++
		amount += iter.InvoiceItem().Amount
	}
	if err := iter.Err(); err != nil {
		return 0, 0, fail(ctx, op, err)
	}
	return count, amount, nil
}

// FindInvoice returns the invoice whose metadata key has value, or
// ErrNotFound: it finds an invoice created by an attempt that died before
// recording it, after Stripe has forgotten the idempotency key.
func (c *Client) FindInvoice(ctx context.Context, customerID, key, value string) (Invoice, error) {
	const op = "search invoices"
	if err := c.ready(ctx, op); err != nil {
		return Invoice{}, err
	}
	params := &stripe.InvoiceSearchParams{}
	params.Context = ctx
	params.Query = fmt.Sprintf("customer:'%s' AND metadata['%s']:'%s'", escapeSearch(customerID), escapeSearch(key), escapeSearch(value))
	iter := c.api.Invoices.Search(params)
	for iter.Next() {
		return invoiceFrom(iter.Invoice()), nil
	}
	if err := iter.Err(); err != nil {
		return Invoice{}, fail(ctx, op, err)
	}
	return Invoice{}, &Error{Op: op, Kind: ErrNotFound, Message: fmt.Sprintf("no invoice with %s=%s", key, value)}
}

// NewInvoice describes an invoice Stripe emails to the customer, to be paid
// on its hosted page within DaysUntilDue.
type NewInvoice struct {
	CustomerID   string
	DaysUntilDue int64
	Description  string
	Metadata     map[string]string
}

// CreateInvoice creates a draft send_invoice invoice that takes none of the
// customer's pending items: it holds exactly the lines added to it.
func (c *Client) CreateInvoice(ctx context.Context, p NewInvoice, idempotencyKey string) (Invoice, error) {
	const op = "create invoice"
	if err := c.ready(ctx, op); err != nil {
		return Invoice{}, err
	}
	params := &stripe.InvoiceParams{
		Customer:                    stripe.String(p.CustomerID),
		CollectionMethod:            stripe.String(string(stripe.InvoiceCollectionMethodSendInvoice)),
		DaysUntilDue:                stripe.Int64(p.DaysUntilDue),
		AutoAdvance:                 stripe.Bool(false),
		PendingInvoiceItemsBehavior: stripe.String("exclude"),
		Description:                 stripe.String(p.Description),
	}
	params.Context = ctx
	for k, v := range p.Metadata {
		params.AddMetadata(k, v)
	}
	params.SetIdempotencyKey(idempotencyKey)
	inv, err := c.api.Invoices.New(params)
	if err != nil {
		return Invoice{}, fail(ctx, op, err)
	}
	return invoiceFrom(inv), nil
}

// NewInvoiceItem is one line of an invoice; a negative amount is a credit.
type NewInvoiceItem struct {
	CustomerID  string
	InvoiceID   string
	Amount      int64
	Currency    string
	Description string
	Metadata    map[string]string
}

// AddInvoiceItem adds a line to a draft invoice.
func (c *Client) AddInvoiceItem(ctx context.Context, p NewInvoiceItem, idempotencyKey string) error {
	const op = "create invoice item"
	if err := c.ready(ctx, op); err != nil {
		return err
	}
	params := &stripe.InvoiceItemParams{
		Customer:    stripe.String(p.CustomerID),
		Invoice:     stripe.String(p.InvoiceID),
		Amount:      stripe.Int64(p.Amount),
		Currency:    stripe.String(p.Currency),
		Description: stripe.String(p.Description),
	}
	params.Context = ctx
	for k, v := range p.Metadata {
		params.AddMetadata(k, v)
	}
	params.SetIdempotencyKey(idempotencyKey)
	if _, err := c.api.InvoiceItems.New(params); err != nil {
		return fail(ctx, op, err)
	}
	return nil
}

// GetInvoice retrieves an invoice.
func (c *Client) GetInvoice(ctx context.Context, id string) (Invoice, error) {
	const op = "retrieve invoice"
	if err := c.ready(ctx, op); err != nil {
		return Invoice{}, err
	}
	params := &stripe.InvoiceParams{}
	params.Context = ctx
	inv, err := c.api.Invoices.Get(id, params)
	if err != nil {
		return Invoice{}, fail(ctx, op, err)
	}
	return invoiceFrom(inv), nil
}

// FinalizeAndSendInvoice finalizes a draft and has Stripe email it; an open
// invoice is sent; a paid or void one is returned as it is.
func (c *Client) FinalizeAndSendInvoice(ctx context.Context, id string) (Invoice, error) {
	inv, err := c.GetInvoice(ctx, id)
	if err != nil {
		return Invoice{}, err
	}
	if inv.Status == InvoiceDraft {
		const op = "finalize invoice"
		params := &stripe.InvoiceFinalizeInvoiceParams{AutoAdvance: stripe.Bool(false)}
		params.Context = ctx
		params.SetIdempotencyKey("finalize:" + id)
		got, err := c.api.Invoices.FinalizeInvoice(id, params)
		if err != nil {
			return Invoice{}, fail(ctx, op, err)
		}
		inv = invoiceFrom(got)
	}
	// An open invoice is sent, also when an earlier attempt finalized it and
	// died before sending: nothing else would ever email it. (Within 24 h the
	// key makes a second send a no-op; later it is one more reminder.)
	if inv.Status == InvoiceOpen {
		const op = "send invoice"
		params := &stripe.InvoiceSendInvoiceParams{}
		params.Context = ctx
		params.SetIdempotencyKey("send:" + id)
		got, err := c.api.Invoices.SendInvoice(id, params)
		if err != nil {
			return Invoice{}, fail(ctx, op, err)
		}
		inv = invoiceFrom(got)
	}
	return inv, nil
}
