package stripetest_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// finalInvoiceParams is a draft as the port creates one: emailed to the
// customer, due in 30 days, holding only the lines added to it.
func finalInvoiceParams(customerID string) *stripe.InvoiceParams {
	p := &stripe.InvoiceParams{Customer: stripe.String(customerID), CollectionMethod: stripe.String("send_invoice"),
		DaysUntilDue: stripe.Int64(30), AutoAdvance: stripe.Bool(false), PendingInvoiceItemsBehavior: stripe.String("exclude"),
		Description: stripe.String("Final invoice")}
	p.AddMetadata("kind", "final_invoice")
	return p
}

func mustInvoice(t *testing.T, sc *client.API, p *stripe.InvoiceParams) *stripe.Invoice {
	t.Helper()
	inv, err := sc.Invoices.New(p)
	if err != nil {
		t.Fatalf("creating invoice: %v", err)
	}
	return inv
}

func mustItem(t *testing.T, sc *client.API, customerID, invoiceID string, amount int64) *stripe.InvoiceItem {
	t.Helper()
	p := &stripe.InvoiceItemParams{Customer: stripe.String(customerID), Amount: stripe.Int64(amount), Currency: stripe.String("usd")}
	if invoiceID != "" {
		p.Invoice = stripe.String(invoiceID)
	}
	ii, err := sc.InvoiceItems.New(p)
	if err != nil {
		t.Fatalf("creating invoice item: %v", err)
	}
	return ii
}

// openInvoice makes an open invoice of customerID with the given lines.
func openInvoice(t *testing.T, sc *client.API, customerID string, lines ...int64) *stripe.Invoice {
	t.Helper()
	inv := mustInvoice(t, sc, finalInvoiceParams(customerID))
	for _, amount := range lines {
		mustItem(t, sc, customerID, inv.ID, amount)
	}
	inv, err := sc.Invoices.FinalizeInvoice(inv.ID, &stripe.InvoiceFinalizeInvoiceParams{AutoAdvance: stripe.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestInvoiceCreate(t *testing.T) {
	type summary struct {
		Status           stripe.InvoiceStatus
		CollectionMethod stripe.InvoiceCollectionMethod
		DaysUntilDue     any
		AutoAdvance      bool
		Currency         stripe.Currency
		Description      string
		Metadata         map[string]string
		Lines            []int64
		Total, AmountDue int64
	}
	tests := []struct {
		name    string
		params  func(customerID string) *stripe.InvoiceParams
		want    *summary
		wantErr *apiErr
	}{
		{name: "as the port creates its final invoice", params: finalInvoiceParams,
			want: &summary{Status: "draft", CollectionMethod: "send_invoice", DaysUntilDue: 30.0, Currency: "usd", Description: "Final invoice",
				Metadata: map[string]string{"kind": "final_invoice"}}},
		{name: "taking the customer's pending items, charged automatically", params: func(cus string) *stripe.InvoiceParams {
			return &stripe.InvoiceParams{Customer: stripe.String(cus), PendingInvoiceItemsBehavior: stripe.String("include"), AutoAdvance: stripe.Bool(true)}
		}, want: &summary{Status: "draft", CollectionMethod: "charge_automatically", AutoAdvance: true, Currency: "usd", Metadata: map[string]string{},
			Lines: []int64{300, -100}, Total: 200, AmountDue: 200}},
		{name: "no customer", params: func(string) *stripe.InvoiceParams { return &stripe.InvoiceParams{} },
			wantErr: invalid("parameter_missing", "customer", "")},
		{name: "unknown customer", params: func(string) *stripe.InvoiceParams { return finalInvoiceParams("cus_nope") },
			wantErr: invalid("resource_missing", "customer", "No such customer: 'cus_nope'")},
		{name: "send_invoice without days_until_due", params: func(cus string) *stripe.InvoiceParams {
			return &stripe.InvoiceParams{Customer: stripe.String(cus), CollectionMethod: stripe.String("send_invoice")}
		}, wantErr: invalid("", "days_until_due", "")},
		{name: "days_until_due when charged automatically", params: func(cus string) *stripe.InvoiceParams {
			return &stripe.InvoiceParams{Customer: stripe.String(cus), DaysUntilDue: stripe.Int64(30)}
		}, wantErr: invalid("", "days_until_due", "You can only set days_until_due when collection_method is send_invoice.")},
		{name: "negative days_until_due", params: func(cus string) *stripe.InvoiceParams {
			p := finalInvoiceParams(cus)
			p.DaysUntilDue = stripe.Int64(-1)
			return p
		}, wantErr: invalid("", "days_until_due", "")},
		{name: "unknown collection method", params: func(cus string) *stripe.InvoiceParams {
			return &stripe.InvoiceParams{Customer: stripe.String(cus), CollectionMethod: stripe.String("by_carrier_pigeon")}
		}, wantErr: invalid("", "collection_method", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			cus := mustCustomer(t, sc, nil)
			mustItem(t, sc, cus.ID, "", 300)
			mustItem(t, sc, cus.ID, "", -100)
			mustItem(t, sc, mustCustomer(t, sc, nil).ID, "", 999) // someone else's
			inv, err := sc.Invoices.New(tt.params(cus.ID))
			checkErr(t, err, tt.wantErr)
			if err != nil {
				if n := len(srv.Invoices()); n != 0 || len(srv.Events()) != 0 {
					t.Errorf("a refused create stored %d invoices", n)
				}
				return
			}
			got := &summary{Status: inv.Status, CollectionMethod: inv.CollectionMethod, DaysUntilDue: rawField(t, inv.LastResponse, "days_until_due"),
				AutoAdvance: inv.AutoAdvance, Currency: inv.Currency, Description: inv.Description, Metadata: inv.Metadata, Total: inv.Total, AmountDue: inv.AmountDue}
			for _, l := range inv.Lines.Data {
				got.Lines = append(got.Lines, l.Amount)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("invoice (-want +got):\n%s", diff)
			}
			if inv.Customer.ID != cus.ID || inv.HostedInvoiceURL != "" || inv.PaymentIntent != nil {
				t.Errorf("customer %v, hosted URL %q, intent %v", inv.Customer, inv.HostedInvoiceURL, inv.PaymentIntent)
			}
			if diff := cmp.Diff([]string{"invoice.created"}, eventTypes(t, srv, inv.ID)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInvoiceItems(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	other := mustCustomer(t, sc, nil)
	draft := mustInvoice(t, sc, finalInvoiceParams(cus.ID))
	othersDraft := mustInvoice(t, sc, finalInvoiceParams(other.ID))
	open := openInvoice(t, sc, cus.ID, 100)

	item := func(customerID, invoiceID string, amount int64, currency string) (*stripe.InvoiceItem, error) {
		p := &stripe.InvoiceItemParams{Customer: stripe.String(customerID), Amount: stripe.Int64(amount), Description: stripe.String("Storage")}
		if currency != "" {
			p.Currency = stripe.String(currency)
		}
		if invoiceID != "" {
			p.Invoice = stripe.String(invoiceID)
		}
		p.AddMetadata("user_id", "u1")
		return sc.InvoiceItems.New(p)
	}
	tests := []struct {
		name              string
		customer, invoice string
		amount            int64
		currency          string
		wantErr           *apiErr
		wantOnInvoice     bool
	}{
		{name: "on a draft", customer: cus.ID, invoice: draft.ID, amount: 400, currency: "usd", wantOnInvoice: true},
		{name: "a credit line on a draft", customer: cus.ID, invoice: draft.ID, amount: -500, currency: "usd", wantOnInvoice: true},
		{name: "pending", customer: cus.ID, amount: 300, currency: "usd"},
		{name: "on a finalized invoice", customer: cus.ID, invoice: open.ID, amount: 1, currency: "usd",
			wantErr: invalid("invoice_not_editable", "invoice", "You can only add invoice items to draft invoices.")},
		{name: "on someone else's invoice", customer: cus.ID, invoice: othersDraft.ID, amount: 1, currency: "usd", wantErr: invalid("", "invoice", "")},
		{name: "on an unknown invoice", customer: cus.ID, invoice: "in_nope", amount: 1, currency: "usd",
			wantErr: invalid("resource_missing", "invoice", "No such invoice: 'in_nope'")},
		{name: "in another currency than its invoice", customer: cus.ID, invoice: draft.ID, amount: 1, currency: "eur", wantErr: invalid("", "currency", "")},
		{name: "without a currency", customer: cus.ID, amount: 1, wantErr: invalid("", "currency", "")},
		{name: "unknown customer", customer: "cus_nope", amount: 1, currency: "usd", wantErr: invalid("resource_missing", "customer", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ii, err := item(tt.customer, tt.invoice, tt.amount, tt.currency)
			checkErr(t, err, tt.wantErr)
			if err == nil && (ii.Amount != tt.amount || (ii.Invoice != nil) != tt.wantOnInvoice || ii.Metadata["user_id"] != "u1" || ii.Description != "Storage") {
				t.Errorf("item = %+v", ii)
			}
		})
	}
	// A credit line reduces the total; what is due never goes below zero.
	if got, _ := sc.Invoices.Get(draft.ID, nil); got.Total != -100 || got.AmountDue != 0 || len(got.Lines.Data) != 2 {
		t.Errorf("draft total %d, due %d, %d lines; want -100, 0, 2", got.Total, got.AmountDue, len(got.Lines.Data))
	}

	// The port counts a customer's pending items.
	mustItem(t, sc, other.ID, "", 50)
	p := &stripe.InvoiceItemListParams{Customer: stripe.String(cus.ID), Pending: stripe.Bool(true)}
	p.Limit = stripe.Int64(1)
	var pending []int64
	for it := sc.InvoiceItems.List(p); it.Next(); {
		pending = append(pending, it.InvoiceItem().Amount)
	}
	if diff := cmp.Diff([]int64{300}, pending); diff != "" {
		t.Errorf("pending items (-want +got):\n%s", diff)
	}
	if n := len(eventTypes(t, srv, draft.ID)); n != 1 {
		t.Errorf("%d events about the draft, want its invoice.created only", n)
	}
}

func TestInvoiceFinalizeAndSend(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)

	inv := openInvoice(t, sc, cus.ID, 400, 350, 9, -500)
	if inv.Status != "open" || inv.Total != 259 || inv.AmountDue != 259 || inv.AmountPaid != 0 || inv.AutoAdvance ||
		inv.HostedInvoiceURL == "" || inv.PaymentIntent == nil {
		t.Fatalf("finalized = %+v", inv)
	}
	if pi, ok := srv.PaymentIntent(inv.PaymentIntent.ID); !ok || pi.Amount != 259 || pi.Status != "requires_payment_method" ||
		pi.Invoice == nil || pi.Invoice.ID != inv.ID || pi.Customer.ID != cus.ID {
		t.Errorf("the invoice's PaymentIntent = %+v", pi)
	}
	sent, err := sc.Invoices.SendInvoice(inv.ID, nil)
	if err != nil || sent.Status != "open" {
		t.Errorf("send = %+v, %v", sent, err)
	}
	_, err = sc.Invoices.FinalizeInvoice(inv.ID, nil)
	checkErr(t, err, invalid("invoice_not_editable", "", "This invoice is already finalized, you can't re-finalize a non-draft invoice."))

	// Nothing due: paid at once, with no PaymentIntent.
	zero := openInvoice(t, sc, cus.ID, 500, -500)
	if zero.Status != "paid" || !zero.Paid || zero.AmountDue != 0 || zero.PaymentIntent != nil {
		t.Errorf("finalized with nothing due = %+v", zero)
	}
	if diff := cmp.Diff([]string{"invoice.created", "invoice.paid"}, eventTypes(t, srv, zero.ID)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	draft := mustInvoice(t, sc, finalInvoiceParams(cus.ID))
	_, err = sc.Invoices.SendInvoice(draft.ID, nil)
	checkErr(t, err, invalid("", "", "You can only send an invoice once it is finalized. Finalize invoice "+draft.ID+" first."))
	auto := mustInvoice(t, sc, &stripe.InvoiceParams{Customer: stripe.String(cus.ID)})
	mustItem(t, sc, cus.ID, auto.ID, 100)
	if _, err := sc.Invoices.FinalizeInvoice(auto.ID, nil); err != nil {
		t.Fatal(err)
	}
	_, err = sc.Invoices.SendInvoice(auto.ID, nil)
	checkErr(t, err, invalid("", "", "You can only manually send an invoice if its collection method is 'send_invoice'."))
	_, err = sc.Invoices.FinalizeInvoice("in_nope", nil)
	checkErr(t, err, &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "invoice", Msg: "No such invoice: 'in_nope'"})
}

func TestInvoiceTransitions(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)

	unc, err := sc.Invoices.MarkUncollectible(openInvoice(t, sc, cus.ID, 700).ID, nil)
	if err != nil || unc.Status != "uncollectible" {
		t.Fatalf("mark uncollectible = %+v, %v", unc, err)
	}
	_, err = sc.Invoices.MarkUncollectible(unc.ID, nil)
	checkErr(t, err, invalid("", "", "You can only mark an open invoice uncollectible; invoice "+unc.ID+" is uncollectible."))
	draft := mustInvoice(t, sc, finalInvoiceParams(cus.ID))
	_, err = sc.Invoices.MarkUncollectible(draft.ID, nil)
	checkErr(t, err, invalid("", "", ""))

	// The customer pays on the hosted page, open or uncollectible.
	for _, inv := range []*stripe.Invoice{openInvoice(t, sc, cus.ID, 1200), unc} {
		paid, err := srv.PayInvoice(inv.ID)
		if err != nil || paid.Status != "paid" || !paid.Paid || paid.AmountPaid != paid.AmountDue || paid.AmountRemaining != 0 {
			t.Errorf("pay %s = %+v, %v", inv.Status, paid, err)
		}
		if diff := cmp.Diff([]string{"payment_intent.succeeded"}, eventTypes(t, srv, inv.PaymentIntent.ID)); diff != "" {
			t.Errorf("PaymentIntent events (-want +got):\n%s", diff)
		}
		if ev, ok := srv.LastEvent("invoice.paid", inv.ID); !ok || parseEvent(t, ev.Payload).Data.Object["status"] != "paid" {
			t.Errorf("invoice.paid: %v", ok)
		}
		if _, err := srv.PayInvoice(inv.ID); err == nil {
			t.Error("paid a paid invoice")
		}
	}
	for _, id := range []string{draft.ID, "in_nope"} {
		if _, err := srv.PayInvoice(id); err == nil {
			t.Errorf("paid %s", id)
		}
	}
}

// TestInvoiceListAndSearch lists and searches as the port does: a
// customer's unpaid invoices by status, and an invoice by its metadata.
func TestInvoiceListAndSearch(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	other := mustCustomer(t, sc, nil)
	draft := mustInvoice(t, sc, finalInvoiceParams(cus.ID))
	open := openInvoice(t, sc, cus.ID, 100)
	open2 := openInvoice(t, sc, cus.ID, 200)
	openInvoice(t, sc, other.ID, 300)
	mine := finalInvoiceParams(cus.ID)
	mine.AddMetadata("deletion", "final-invoice-u'1-1")
	tagged := mustInvoice(t, sc, mine)
	theirs := finalInvoiceParams(other.ID)
	theirs.AddMetadata("deletion", "final-invoice-u'1-1")
	mustInvoice(t, sc, theirs)

	list := func(status string) []string {
		p := &stripe.InvoiceListParams{Customer: stripe.String(cus.ID), Status: stripe.String(status)}
		p.Limit = stripe.Int64(1)
		var ids []string
		it := sc.Invoices.List(p)
		for it.Next() {
			ids = append(ids, it.Invoice().ID)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if diff := cmp.Diff([]string{tagged.ID, draft.ID}, list("draft")); diff != "" {
		t.Errorf("drafts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{open2.ID, open.ID}, list("open")); diff != "" {
		t.Errorf("open (-want +got):\n%s", diff)
	}
	if got := list("uncollectible"); len(got) != 0 {
		t.Errorf("uncollectible = %v", got)
	}
	it := sc.Invoices.List(&stripe.InvoiceListParams{Status: stripe.String("lost")})
	for it.Next() {
	}
	checkErr(t, it.Err(), invalid("", "status", ""))

	search := func(query string) ([]string, error) {
		it := sc.Invoices.Search(&stripe.InvoiceSearchParams{SearchParams: stripe.SearchParams{Query: query}})
		var ids []string
		for it.Next() {
			ids = append(ids, it.Invoice().ID)
		}
		return ids, it.Err()
	}
	got, err := search(fmt.Sprintf(`customer:'%s' AND metadata['deletion']:'final-invoice-u\'1-1'`, cus.ID))
	if err != nil || !cmp.Equal([]string{tagged.ID}, got) {
		t.Errorf("search = %v, %v; want %s", got, err, tagged.ID)
	}
	_, err = search(`status:'open'`)
	checkErr(t, err, invalid("", "query", "stripetest does not support searching by status; add it to the double if a test needs it."))
	if n := len(srv.Invoices()); n != 6 {
		t.Errorf("Invoices() has %d, want 6", n)
	}
}

// TestInvoiceLines: an invoice embeds its first ten lines, as Stripe does.
func TestInvoiceLines(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	inv := mustInvoice(t, sc, finalInvoiceParams(cus.ID))
	var want []int64
	for i := range 12 {
		mustItem(t, sc, cus.ID, inv.ID, int64(100+i))
		if i < 10 {
			want = append(want, int64(100+i))
		}
	}
	got := srv.Invoices()[0]
	var amounts []int64
	for _, l := range got.Lines.Data {
		amounts = append(amounts, l.Amount)
	}
	if diff := cmp.Diff(want, amounts); diff != "" || !got.Lines.HasMore || got.Lines.TotalCount != 12 || got.Total != 1266 {
		t.Errorf("lines (-want +got):\n%s\nhas_more %v, total_count %d, total %d", diff, got.Lines.HasMore, got.Lines.TotalCount, got.Total)
	}
}
