package stripetest_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"

	"example.com/billing/shared/testsupport/stripetest"
)

func mustInvoice(t *testing.T, sc *client.API, p *stripe.InvoiceParams) *stripe.Invoice {
	t.Helper()
	inv, err := sc.Invoices.New(p)
	if err != nil {
		t.Fatalf("creating invoice: %v", err)
	}
	return inv
}

// sendInvoiceParams describes a draft emailed to the customer, due in 30
// days.
func sendInvoiceParams(customerID string) *stripe.InvoiceParams {
	return &stripe.InvoiceParams{Customer: stripe.String(customerID), CollectionMethod: stripe.String("send_invoice"),
		DaysUntilDue: stripe.Int64(30)}
}

// invoiceIn makes an invoice of customerID with one $10.00 line and brings
// it to status: draft, open, paid (out of band), uncollectible or void.
func invoiceIn(t *testing.T, sc *client.API, p *stripe.InvoiceParams, status string) *stripe.Invoice {
	t.Helper()
	inv := mustInvoice(t, sc, p)
	mustInvoiceItem(t, sc, &stripe.InvoiceItemParams{Customer: p.Customer, Invoice: stripe.String(inv.ID), Amount: stripe.Int64(1000)})
	if status == "draft" {
		inv, _ = sc.Invoices.Get(inv.ID, nil)
		return inv
	}
	inv, err := sc.Invoices.FinalizeInvoice(inv.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	switch status {
	case "paid":
		inv, err = sc.Invoices.Pay(inv.ID, &stripe.InvoicePayParams{PaidOutOfBand: stripe.Bool(true)})
	case "uncollectible":
		inv, err = sc.Invoices.MarkUncollectible(inv.ID, nil)
	case "void":
		inv, err = sc.Invoices.VoidInvoice(inv.ID, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// rawField reads a field of a response that stripe-go's type does not have
// (Invoice has no days_until_due in v76), or def when it is null.
func rawField[T any](t *testing.T, resp *stripe.APIResponse, key string, def T) T {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(resp.RawJSON, &m); err != nil {
		t.Fatal(err)
	}
	v, ok := m[key].(T)
	if !ok {
		return def
	}
	return v
}

func TestInvoiceCreateObject(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, &stripe.CustomerParams{Email: stripe.String("ada@example.com"), Name: stripe.String("Ada")})
	p := &stripe.InvoiceParams{Customer: stripe.String(cus.ID), Description: stripe.String("October")}
	p.AddMetadata("period", "2026-10")
	created := mustInvoice(t, sc, p)
	if !regexp.MustCompile(`^in_[A-Za-z0-9]{24}$`).MatchString(created.ID) {
		t.Errorf("id %q does not look like Stripe's", created.ID)
	}
	now := srv.Now().Unix()
	none := stripe.CustomerTaxExemptNone
	want := &stripe.Invoice{
		ID:                created.ID,
		Object:            "invoice",
		AccountCountry:    "US",
		AutomaticTax:      &stripe.InvoiceAutomaticTax{},
		BillingReason:     "manual",
		CollectionMethod:  "charge_automatically",
		Created:           now,
		Currency:          "usd",
		Customer:          &stripe.Customer{ID: cus.ID},
		CustomerEmail:     "ada@example.com",
		CustomerName:      "Ada",
		CustomerTaxExempt: &none,
		Description:       "October",
		Issuer:            &stripe.InvoiceIssuer{Type: "self"},
		Lines:             &stripe.InvoiceLineItemList{ListMeta: stripe.ListMeta{URL: "/v1/invoices/" + created.ID + "/lines"}},
		Metadata:          map[string]string{"period": "2026-10"},
		PeriodEnd:         now,
		PeriodStart:       now,
		Status:            "draft",
		StatusTransitions: &stripe.InvoiceStatusTransitions{},
	}
	opts := cmp.Options{ignoreResponse, cmpopts.EquateEmpty()}
	if diff := cmp.Diff(want, created, opts); diff != "" {
		t.Errorf("created invoice (-want +got):\n%s", diff)
	}
	got, err := sc.Invoices.Get(created.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("retrieved invoice (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]*stripe.Invoice{want}, srv.Invoices(), opts); diff != "" {
		t.Errorf("Invoices() (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"invoice.created"}, eventTypes(t, srv, created.ID)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// Fields that are null until finalization.
	var raw map[string]any
	if err := json.Unmarshal(got.LastResponse.RawJSON, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"number", "hosted_invoice_url", "invoice_pdf", "due_date", "days_until_due", "payment_intent", "charge"} {
		if v, ok := raw[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	_, err = sc.Invoices.Get("in_nope", nil)
	checkErr(t, err, &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "invoice", Msg: "No such invoice: 'in_nope'"})
}

func TestInvoiceCreate(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	gone := mustCustomer(t, sc, nil)
	if _, err := sc.Customers.Del(gone.ID, nil); err != nil {
		t.Fatal(err)
	}
	// Pending items the include cases pick up: two in usd, one in eur.
	pendingUSD := []string{mustInvoiceItem(t, sc, item(cus.ID, 700)).ID, mustInvoiceItem(t, sc, item(cus.ID, -200)).ID}
	eur := item(cus.ID, 900)
	eur.Currency = stripe.String("eur")
	pendingEUR := mustInvoiceItem(t, sc, eur).ID

	type summary struct {
		Method      stripe.InvoiceCollectionMethod
		Days        int64
		AutoAdvance bool
		Currency    stripe.Currency
		Items       []string
		Total       int64
		AmountDue   int64
	}
	tests := []struct {
		name    string
		params  *stripe.InvoiceParams
		want    summary
		wantErr *apiErr
	}{
		{name: "defaults", params: &stripe.InvoiceParams{Customer: stripe.String(cus.ID)},
			want: summary{Method: "charge_automatically", Currency: "usd"}},
		{name: "send_invoice", params: sendInvoiceParams(cus.ID), want: summary{Method: "send_invoice", Days: 30, Currency: "usd"}},
		{name: "auto_advance", params: &stripe.InvoiceParams{Customer: stripe.String(cus.ID), AutoAdvance: stripe.Bool(true)},
			want: summary{Method: "charge_automatically", AutoAdvance: true, Currency: "usd"}},
		{name: "exclude leaves pending items", params: &stripe.InvoiceParams{Customer: stripe.String(cus.ID), PendingInvoiceItemsBehavior: stripe.String("exclude")},
			want: summary{Method: "charge_automatically", Currency: "usd"}},
		{name: "include takes pending items in its currency", params: &stripe.InvoiceParams{Customer: stripe.String(cus.ID), PendingInvoiceItemsBehavior: stripe.String("include")},
			want: summary{Method: "charge_automatically", Currency: "usd", Items: pendingUSD, Total: 500, AmountDue: 500}},
		{name: "include in another currency", params: &stripe.InvoiceParams{Customer: stripe.String(cus.ID), Currency: stripe.String("EUR"), PendingInvoiceItemsBehavior: stripe.String("include")},
			want: summary{Method: "charge_automatically", Currency: "eur", Items: []string{pendingEUR}, Total: 900, AmountDue: 900}},
		{
			name:    "days_until_due with charge_automatically",
			params:  &stripe.InvoiceParams{Customer: stripe.String(cus.ID), DaysUntilDue: stripe.Int64(30)},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "days_until_due"},
		},
		{
			name:    "send_invoice without days_until_due",
			params:  &stripe.InvoiceParams{Customer: stripe.String(cus.ID), CollectionMethod: stripe.String("send_invoice")},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "days_until_due"},
		},
		{
			name:    "invalid collection_method",
			params:  &stripe.InvoiceParams{Customer: stripe.String(cus.ID), CollectionMethod: stripe.String("carrier_pigeon")},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "collection_method"},
		},
		{
			name:    "invalid pending_invoice_items_behavior",
			params:  &stripe.InvoiceParams{Customer: stripe.String(cus.ID), PendingInvoiceItemsBehavior: stripe.String("include_and_require")},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "pending_invoice_items_behavior"},
		},
		{
			name:    "due_date is not modelled",
			params:  &stripe.InvoiceParams{Customer: stripe.String(cus.ID), CollectionMethod: stripe.String("send_invoice"), DueDate: stripe.Int64(srv.Now().Unix())},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "due_date"},
		},
		{
			name:    "missing customer",
			params:  &stripe.InvoiceParams{},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "parameter_missing", Param: "customer"},
		},
		{
			name:    "unknown customer",
			params:  &stripe.InvoiceParams{Customer: stripe.String("cus_nope")},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "customer", Msg: "No such customer: 'cus_nope'"},
		},
		{
			name:    "deleted customer",
			params:  &stripe.InvoiceParams{Customer: stripe.String(gone.ID)},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "customer"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.Invoices())
			inv, err := sc.Invoices.New(tt.params)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				if len(srv.Invoices()) != before {
					t.Error("a refused create stored an invoice")
				}
				return
			}
			got := summary{Method: inv.CollectionMethod, Days: int64(rawField(t, inv.LastResponse, "days_until_due", 0.0)), AutoAdvance: inv.AutoAdvance, Currency: inv.Currency,
				Total: inv.Total, AmountDue: inv.AmountDue}
			for _, l := range inv.Lines.Data {
				got.Items = append(got.Items, l.InvoiceItem.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("invoice (-want +got):\n%s", diff)
			}
			for _, id := range got.Items {
				ii, _ := sc.InvoiceItems.Get(id, nil)
				if ii.Invoice == nil || ii.Invoice.ID != inv.ID {
					t.Errorf("item %s is on %v, want %s", id, ii.Invoice, inv.ID)
				}
			}
		})
	}
}

func TestInvoiceTotalsAndLines(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	inv := mustInvoice(t, sc, &stripe.InvoiceParams{Customer: stripe.String(cus.ID)})
	start, end := srv.Now().Add(-time.Hour).Unix(), srv.Now().Unix()
	p := &stripe.InvoiceItemParams{Customer: stripe.String(cus.ID), Invoice: stripe.String(inv.ID), UnitAmountDecimal: stripe.Float64(0.5),
		Quantity: stripe.Int64(2001), Description: stripe.String("API calls"), Period: &stripe.InvoiceItemPeriodParams{Start: &start, End: &end}}
	p.AddMetadata("meter", "calls")
	calls := mustInvoiceItem(t, sc, p)
	credit := mustInvoiceItem(t, sc, &stripe.InvoiceItemParams{Customer: stripe.String(cus.ID), Invoice: stripe.String(inv.ID),
		Amount: stripe.Int64(-250), Description: stripe.String("Goodwill credit")})

	got, err := sc.Invoices.Get(inv.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	type totals struct{ Subtotal, Total, AmountDue, AmountPaid, AmountRemaining int64 }
	if diff := cmp.Diff(totals{751, 751, 751, 0, 751}, totals{got.Subtotal, got.Total, got.AmountDue, got.AmountPaid, got.AmountRemaining}); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	wantLines := []*stripe.InvoiceLineItem{
		{Object: "line_item", Amount: 1001, AmountExcludingTax: 1001, Currency: "usd", Description: "API calls", Discountable: true,
			Invoice: inv.ID, InvoiceItem: &stripe.InvoiceItem{ID: calls.ID}, Metadata: map[string]string{"meter": "calls"},
			Period: &stripe.Period{Start: start, End: end}, ProrationDetails: &stripe.InvoiceLineItemProrationDetails{}, Quantity: 2001, Type: "invoiceitem", UnitAmountExcludingTax: 0.5},
		{Object: "line_item", Amount: -250, AmountExcludingTax: -250, Currency: "usd", Description: "Goodwill credit",
			Invoice: inv.ID, InvoiceItem: &stripe.InvoiceItem{ID: credit.ID}, Metadata: map[string]string{},
			Period: &stripe.Period{Start: end, End: end}, ProrationDetails: &stripe.InvoiceLineItemProrationDetails{}, Quantity: 1, Type: "invoiceitem", UnitAmountExcludingTax: -250},
	}
	opts := cmp.Options{ignoreResponse, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(stripe.InvoiceLineItem{}, "ID")}
	if diff := cmp.Diff(wantLines, got.Lines.Data, opts); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	for _, l := range got.Lines.Data {
		if !regexp.MustCompile(`^il_[A-Za-z0-9]{24}$`).MatchString(l.ID) {
			t.Errorf("line id %q does not look like Stripe's", l.ID)
		}
	}

	t.Run("credits beyond the total leave nothing due", func(t *testing.T) {
		mustInvoiceItem(t, sc, &stripe.InvoiceItemParams{Customer: stripe.String(cus.ID), Invoice: stripe.String(inv.ID), Amount: stripe.Int64(-1000)})
		got, _ := sc.Invoices.Get(inv.ID, nil)
		if got.Total != -249 || got.AmountDue != 0 || got.AmountRemaining != 0 {
			t.Errorf("total %d, amount_due %d, amount_remaining %d; want -249, 0, 0", got.Total, got.AmountDue, got.AmountRemaining)
		}
	})

	t.Run("lines beyond ten are paged", func(t *testing.T) {
		big := mustInvoice(t, sc, &stripe.InvoiceParams{Customer: stripe.String(cus.ID)})
		var want []string // in the order they were added
		for i := range 13 {
			ii := mustInvoiceItem(t, sc, &stripe.InvoiceItemParams{Customer: stripe.String(cus.ID), Invoice: stripe.String(big.ID), Amount: stripe.Int64(int64(i + 1))})
			want = append(want, ii.ID)
		}
		got, _ := sc.Invoices.Get(big.ID, nil)
		var embedded []string
		for _, l := range got.Lines.Data {
			embedded = append(embedded, l.InvoiceItem.ID)
		}
		if diff := cmp.Diff(want[:10], embedded); diff != "" || !got.Lines.HasMore || got.Lines.TotalCount != 13 || got.Total != 91 {
			t.Errorf("embedded lines has_more %v total_count %d total %d (-want +got):\n%s", got.Lines.HasMore, got.Lines.TotalCount, got.Total, diff)
		}
		it := sc.Invoices.ListLines(&stripe.InvoiceListLinesParams{Invoice: stripe.String(big.ID), ListParams: stripe.ListParams{Limit: stripe.Int64(4)}})
		var paged []string
		for it.Next() {
			paged = append(paged, it.InvoiceLineItem().InvoiceItem.ID)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, paged); diff != "" {
			t.Errorf("ListLines (-want +got):\n%s", diff)
		}
	})
}

func TestInvoiceFinalize(t *testing.T) {
	tests := []struct {
		name       string
		params     func(cusID string) *stripe.InvoiceParams
		amounts    []int64
		finalize   *stripe.InvoiceFinalizeInvoiceParams
		wantStatus stripe.InvoiceStatus
		wantDue    bool
		wantPI     bool
		wantEvents []string
	}{
		{
			name: "send_invoice", params: sendInvoiceParams, amounts: []int64{1000, 500},
			wantStatus: "open", wantDue: true, wantPI: true,
			wantEvents: []string{"invoice.created", "invoice.updated", "invoice.updated", "invoice.finalized"},
		},
		{
			name:       "charge_automatically",
			params:     func(cusID string) *stripe.InvoiceParams { return &stripe.InvoiceParams{Customer: stripe.String(cusID)} },
			amounts:    []int64{1000},
			finalize:   &stripe.InvoiceFinalizeInvoiceParams{AutoAdvance: stripe.Bool(false)},
			wantStatus: "open", wantPI: true,
			wantEvents: []string{"invoice.created", "invoice.updated", "invoice.finalized"},
		},
		{
			name: "nothing due is paid at once", params: sendInvoiceParams, wantStatus: "paid", wantDue: true,
			wantEvents: []string{"invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_succeeded"},
		},
		{
			name: "a credit larger than the charges", params: sendInvoiceParams, amounts: []int64{500, -800},
			wantStatus: "paid", wantDue: true,
			wantEvents: []string{"invoice.created", "invoice.updated", "invoice.updated", "invoice.finalized", "invoice.paid", "invoice.payment_succeeded"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			cus := mustCustomer(t, sc, &stripe.CustomerParams{Email: stripe.String("a@example.com")})
			inv := mustInvoice(t, sc, tt.params(cus.ID))
			for _, a := range tt.amounts {
				mustInvoiceItem(t, sc, &stripe.InvoiceItemParams{Customer: stripe.String(cus.ID), Invoice: stripe.String(inv.ID), Amount: stripe.Int64(a)})
			}
			srv.Advance(time.Hour)
			got, err := sc.Invoices.FinalizeInvoice(inv.ID, tt.finalize)
			if err != nil {
				t.Fatal(err)
			}
			now := srv.Now().Unix()
			if got.Status != tt.wantStatus || got.StatusTransitions.FinalizedAt != now || got.EffectiveAt != now {
				t.Errorf("status %s finalized_at %d effective_at %d, want %s and %d", got.Status, got.StatusTransitions.FinalizedAt, got.EffectiveAt, tt.wantStatus, now)
			}
			if want := cus.InvoicePrefix + "-0001"; got.Number != want {
				t.Errorf("number = %q, want %q", got.Number, want)
			}
			if want := "https://invoice.stripe.com/i/acct_test/test_" + inv.ID; got.HostedInvoiceURL != want || got.InvoicePDF == "" {
				t.Errorf("hosted_invoice_url %q invoice_pdf %q, want %q and a PDF", got.HostedInvoiceURL, got.InvoicePDF, want)
			}
			wantDue := int64(0)
			if tt.wantDue {
				wantDue = now + 30*86400
			}
			if got.DueDate != wantDue {
				t.Errorf("due_date = %d, want %d", got.DueDate, wantDue)
			}
			if (got.PaymentIntent != nil) != tt.wantPI {
				t.Fatalf("payment_intent = %v, want one: %v", got.PaymentIntent, tt.wantPI)
			}
			if tt.wantPI {
				pi, _ := srv.PaymentIntent(got.PaymentIntent.ID)
				if pi.Amount != got.AmountDue || pi.Invoice.ID != inv.ID || pi.Customer.ID != cus.ID || pi.Status != "requires_payment_method" {
					t.Errorf("invoice PaymentIntent = amount %d invoice %v customer %v status %s", pi.Amount, pi.Invoice, pi.Customer, pi.Status)
				}
			}
			if tt.wantStatus == "paid" && (!got.Paid || got.StatusTransitions.PaidAt != now || got.AmountRemaining != 0) {
				t.Errorf("paid %v paid_at %d amount_remaining %d", got.Paid, got.StatusTransitions.PaidAt, got.AmountRemaining)
			}
			if diff := cmp.Diff(tt.wantEvents, eventTypes(t, srv, inv.ID)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}

			_, err = sc.Invoices.FinalizeInvoice(inv.ID, nil)
			checkErr(t, err, &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "invoice_not_editable",
				Msg: "This invoice is already finalized, you can't re-finalize a non-draft invoice."})

			// The customer's invoice numbers run on.
			next := invoiceIn(t, sc, sendInvoiceParams(cus.ID), "open")
			if want := cus.InvoicePrefix + "-0002"; next.Number != want {
				t.Errorf("next number = %q, want %q", next.Number, want)
			}
		})
	}
}

// TestInvoiceTransitions applies each action to an invoice in each status.
func TestInvoiceTransitions(t *testing.T) {
	type action struct {
		name  string
		do    func(sc *client.API, id string) (*stripe.Invoice, error)
		event string
	}
	send := action{"send", func(sc *client.API, id string) (*stripe.Invoice, error) { return sc.Invoices.SendInvoice(id, nil) }, "invoice.sent"}
	void := action{"void", func(sc *client.API, id string) (*stripe.Invoice, error) { return sc.Invoices.VoidInvoice(id, nil) }, "invoice.voided"}
	uncollectible := action{"mark_uncollectible", func(sc *client.API, id string) (*stripe.Invoice, error) {
		return sc.Invoices.MarkUncollectible(id, nil)
	}, "invoice.marked_uncollectible"}
	outOfBand := action{"pay out of band", func(sc *client.API, id string) (*stripe.Invoice, error) {
		return sc.Invoices.Pay(id, &stripe.InvoicePayParams{PaidOutOfBand: stripe.Bool(true)})
	}, "invoice.paid"}
	refused := &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest}

	tests := []struct {
		from       string
		chargeAuto bool
		action     action
		wantStatus stripe.InvoiceStatus
		wantErr    *apiErr
	}{
		{from: "open", action: send, wantStatus: "open"},
		{from: "paid", action: send, wantStatus: "paid"},
		{from: "draft", action: send, wantStatus: "draft", wantErr: refused},
		{from: "void", action: send, wantStatus: "void", wantErr: refused},
		{from: "open", chargeAuto: true, action: send, wantStatus: "open",
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Msg: "You can only manually send an invoice if its collection method is 'send_invoice'."}},
		{from: "open", action: void, wantStatus: "void"},
		{from: "uncollectible", action: void, wantStatus: "void"},
		{from: "draft", action: void, wantStatus: "draft", wantErr: refused},
		{from: "paid", action: void, wantStatus: "paid", wantErr: refused},
		{from: "void", action: void, wantStatus: "void", wantErr: refused},
		{from: "open", action: uncollectible, wantStatus: "uncollectible"},
		{from: "draft", action: uncollectible, wantStatus: "draft", wantErr: refused},
		{from: "paid", action: uncollectible, wantStatus: "paid", wantErr: refused},
		{from: "uncollectible", action: uncollectible, wantStatus: "uncollectible", wantErr: refused},
		{from: "open", action: outOfBand, wantStatus: "paid"},
		{from: "uncollectible", action: outOfBand, wantStatus: "paid"},
		{from: "draft", action: outOfBand, wantStatus: "draft", wantErr: refused},
		{from: "paid", action: outOfBand, wantStatus: "paid", wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Msg: "Invoice is already paid"}},
		{from: "void", action: outOfBand, wantStatus: "void", wantErr: refused},
	}
	for _, tt := range tests {
		name := tt.action.name + " " + tt.from
		if tt.chargeAuto {
			name += " charge_automatically"
		}
		t.Run(name, func(t *testing.T) {
			srv, sc := newDouble(t)
			cus := mustCustomer(t, sc, nil)
			p := sendInvoiceParams(cus.ID)
			if tt.chargeAuto {
				p = &stripe.InvoiceParams{Customer: stripe.String(cus.ID)}
			}
			inv := invoiceIn(t, sc, p, tt.from)
			srv.Advance(time.Minute)
			before := eventTypes(t, srv, inv.ID)
			got, err := tt.action.do(sc, inv.ID)
			checkErr(t, err, tt.wantErr)
			stored, _ := srv.Invoice(inv.ID)
			if stored.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s", stored.Status, tt.wantStatus)
			}
			var wantEvents []string
			if err == nil {
				wantEvents = []string{tt.action.event}
				if diff := cmp.Diff(stored, got, ignoreResponse); diff != "" {
					t.Errorf("returned and stored invoice differ (-stored +returned):\n%s", diff)
				}
			}
			if diff := cmp.Diff(wantEvents, eventTypes(t, srv, inv.ID)[len(before):], cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			now := srv.Now().Unix()
			st := got.StatusTransitions
			switch tt.wantStatus {
			case "void":
				pi, _ := srv.PaymentIntent(got.PaymentIntent.ID)
				if st.VoidedAt != now || pi.Status != "canceled" || pi.CancellationReason != "void_invoice" {
					t.Errorf("voided_at %d, PaymentIntent %s (%s)", st.VoidedAt, pi.Status, pi.CancellationReason)
				}
			case "uncollectible":
				if st.MarkedUncollectibleAt != now {
					t.Errorf("marked_uncollectible_at = %d, want %d", st.MarkedUncollectibleAt, now)
				}
			case "paid":
				if tt.from == "paid" {
					break
				}
				pi, _ := srv.PaymentIntent(got.PaymentIntent.ID)
				if !got.Paid || !got.PaidOutOfBand || got.AmountPaid != 1000 || got.AmountRemaining != 0 || st.PaidAt != now || pi.Status != "canceled" {
					t.Errorf("paid %v out of band %v amount_paid %d remaining %d paid_at %d PaymentIntent %s",
						got.Paid, got.PaidOutOfBand, got.AmountPaid, got.AmountRemaining, st.PaidAt, pi.Status)
				}
			}
		})
	}
}

func TestInvoicePay(t *testing.T) {
	noSource := &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest,
		Msg: "This customer has no attached payment source or default payment method. Please consider adding a default payment method. " +
			"For more information, visit https://stripe.com/docs/billing/subscriptions/payment-methods-setting#payment-method-priority."}
	tests := []struct {
		name       string
		chargeAuto bool
		attach     string // attached to the customer
		makeDef    bool   // and made its default
		params     *stripe.InvoicePayParams
		wantErr    *apiErr
		wantStatus stripe.InvoiceStatus
		wantEvents []string // about the invoice, after finalization
		wantPI     stripe.PaymentIntentStatus
	}{
		{
			name: "customer's default card", chargeAuto: true, attach: "pm_card_visa", makeDef: true,
			wantStatus: "paid", wantPI: "succeeded", wantEvents: []string{"invoice.paid", "invoice.payment_succeeded"},
		},
		{
			name: "send_invoice paid by the default card", attach: "pm_card_visa", makeDef: true,
			wantStatus: "paid", wantPI: "succeeded", wantEvents: []string{"invoice.paid", "invoice.payment_succeeded"},
		},
		{
			name: "explicit attached card", chargeAuto: true, attach: "pm_card_mastercard",
			params:     &stripe.InvoicePayParams{PaymentMethod: stripe.String("pm_card_mastercard")},
			wantStatus: "paid", wantPI: "succeeded", wantEvents: []string{"invoice.paid", "invoice.payment_succeeded"},
		},
		{
			name: "attached card that is not the default", chargeAuto: true, attach: "pm_card_visa",
			wantErr: noSource, wantStatus: "open", wantPI: "requires_payment_method",
		},
		{name: "no card", chargeAuto: true, wantErr: noSource, wantStatus: "open", wantPI: "requires_payment_method"},
		{
			name: "card of someone else", chargeAuto: true,
			params:  &stripe.InvoicePayParams{PaymentMethod: stripe.String("pm_card_visa")},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "payment_method"}, wantStatus: "open", wantPI: "requires_payment_method",
		},
		{
			name: "declined", chargeAuto: true, attach: "pm_card_chargeDeclined", makeDef: true,
			wantErr:    &apiErr{Status: 402, Type: stripe.ErrorTypeCard, Code: "card_declined", DeclineCode: "generic_decline", Msg: "Your card was declined."},
			wantStatus: "open", wantPI: "requires_payment_method", wantEvents: []string{"invoice.payment_failed"},
		},
		{
			name: "authentication off session", chargeAuto: true, attach: "pm_card_authenticationRequired", makeDef: true,
			wantErr:    &apiErr{Status: 402, Type: stripe.ErrorTypeCard, Code: "authentication_required", DeclineCode: "authentication_required"},
			wantStatus: "open", wantPI: "requires_payment_method", wantEvents: []string{"invoice.payment_failed"},
		},
		{
			name: "authentication on session", chargeAuto: true, attach: "pm_card_authenticationRequired", makeDef: true,
			params:     &stripe.InvoicePayParams{OffSession: stripe.Bool(false)},
			wantErr:    &apiErr{Status: 402, Type: stripe.ErrorTypeCard, Code: "invoice_payment_intent_requires_action"},
			wantStatus: "open", wantPI: "requires_action", wantEvents: []string{"invoice.payment_action_required"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			cus := mustCustomer(t, sc, nil)
			if tt.attach != "" {
				mustAttach(t, sc, tt.attach, cus.ID)
			}
			if tt.makeDef {
				if _, err := sc.Customers.Update(cus.ID, &stripe.CustomerParams{InvoiceSettings: &stripe.CustomerInvoiceSettingsParams{
					DefaultPaymentMethod: stripe.String(tt.attach)}}); err != nil {
					t.Fatal(err)
				}
			}
			p := sendInvoiceParams(cus.ID)
			if tt.chargeAuto {
				p = &stripe.InvoiceParams{Customer: stripe.String(cus.ID)}
			}
			inv := invoiceIn(t, sc, p, "open")
			before := len(eventTypes(t, srv, inv.ID))
			got, err := sc.Invoices.Pay(inv.ID, tt.params)
			checkErr(t, err, tt.wantErr)

			stored, _ := srv.Invoice(inv.ID)
			pi, _ := srv.PaymentIntent(inv.PaymentIntent.ID)
			if stored.Status != tt.wantStatus || pi.Status != tt.wantPI {
				t.Errorf("invoice %s, PaymentIntent %s; want %s, %s", stored.Status, pi.Status, tt.wantStatus, tt.wantPI)
			}
			if diff := cmp.Diff(tt.wantEvents, eventTypes(t, srv, inv.ID)[before:], cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			attempted := tt.wantEvents != nil
			if stored.Attempted != attempted || stored.AttemptCount != map[bool]int64{true: 1}[attempted] {
				t.Errorf("attempted %v (%d), want %v", stored.Attempted, stored.AttemptCount, attempted)
			}
			if err != nil {
				if attempted && (stored.Charge == nil || stored.Charge.ID != pi.LatestCharge.ID) && tt.wantPI != "requires_action" {
					t.Errorf("invoice charge = %v, want the failed charge", stored.Charge)
				}
				return
			}
			if diff := cmp.Diff(stored, got, ignoreResponse); diff != "" {
				t.Errorf("returned and stored invoice differ (-stored +returned):\n%s", diff)
			}
			ch, _ := srv.Charge(got.Charge.ID)
			if !got.Paid || got.PaidOutOfBand || got.AmountPaid != 1000 || got.AmountRemaining != 0 || got.StatusTransitions.PaidAt != srv.Now().Unix() ||
				ch.Invoice.ID != inv.ID || ch.Amount != 1000 || ch.PaymentIntent.ID != pi.ID {
				t.Errorf("paid invoice %+v, charge %+v", got, ch)
			}
		})
	}
}

func TestInvoicePaidThroughItsPaymentIntent(t *testing.T) {
	tests := []struct {
		name string
		pay  func(t *testing.T, srv *stripetest.Server, sc *client.API, inv *stripe.Invoice) error
	}{
		{"hosted invoice page", func(t *testing.T, srv *stripetest.Server, _ *client.API, inv *stripe.Invoice) error {
			got, err := srv.PayInvoice(inv.ID)
			if err == nil && got.Status != "paid" {
				t.Errorf("PayInvoice returned status %s", got.Status)
			}
			return err
		}},
		{"PaymentIntent confirmed by the integration", func(t *testing.T, _ *stripetest.Server, sc *client.API, inv *stripe.Invoice) error {
			_, err := sc.PaymentIntents.Confirm(inv.PaymentIntent.ID, &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa")})
			return err
		}},
		{"3-D Secure completed after an on-session attempt", func(t *testing.T, srv *stripetest.Server, sc *client.API, inv *stripe.Invoice) error {
			if _, err := sc.PaymentIntents.Confirm(inv.PaymentIntent.ID, &stripe.PaymentIntentConfirmParams{
				PaymentMethod: stripe.String("pm_card_authenticationRequired")}); err != nil {
				return err
			}
			_, err := srv.SucceedPaymentIntent(inv.PaymentIntent.ID)
			return err
		}},
	}
	for _, tt := range tests {
		for _, from := range []string{"open", "uncollectible"} {
			t.Run(tt.name+" "+from, func(t *testing.T) {
				srv, sc := newDouble(t)
				cus := mustCustomer(t, sc, nil)
				inv := invoiceIn(t, sc, sendInvoiceParams(cus.ID), from)
				before := len(eventTypes(t, srv, inv.ID))
				if err := tt.pay(t, srv, sc, inv); err != nil {
					t.Fatal(err)
				}
				got, _ := srv.Invoice(inv.ID)
				if got.Status != "paid" || !got.Paid || got.AmountPaid != 1000 || got.Charge == nil {
					t.Errorf("invoice status %s paid %v amount_paid %d charge %v", got.Status, got.Paid, got.AmountPaid, got.Charge)
				}
				events := eventTypes(t, srv, inv.ID)[before:]
				if n := len(events); n < 2 || events[n-2] != "invoice.paid" || events[n-1] != "invoice.payment_succeeded" {
					t.Errorf("events = %v, want them to end with invoice.paid, invoice.payment_succeeded", events)
				}
				if _, err := srv.PayInvoice(inv.ID); err == nil {
					t.Error("paying a paid invoice again succeeded")
				}
			})
		}
	}

	t.Run("PayInvoice refuses what cannot be paid", func(t *testing.T) {
		srv, sc := newDouble(t)
		cus := mustCustomer(t, sc, nil)
		for _, status := range []string{"draft", "paid", "void"} {
			inv := invoiceIn(t, sc, sendInvoiceParams(cus.ID), status)
			if _, err := srv.PayInvoice(inv.ID); err == nil {
				t.Errorf("PayInvoice of a %s invoice succeeded", status)
			}
		}
		if _, err := srv.PayInvoice("in_nope"); err == nil {
			t.Error("PayInvoice of a missing invoice succeeded")
		}
	})
	t.Run("its PaymentIntent cannot be canceled directly", func(t *testing.T) {
		_, sc := newDouble(t)
		cus := mustCustomer(t, sc, nil)
		inv := invoiceIn(t, sc, sendInvoiceParams(cus.ID), "open")
		_, err := sc.PaymentIntents.Cancel(inv.PaymentIntent.ID, nil)
		checkErr(t, err, &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "payment_intent_unexpected_state"})
	})
	t.Run("its payment can be refunded", func(t *testing.T) {
		srv, sc := newDouble(t)
		cus := mustCustomer(t, sc, nil)
		inv := invoiceIn(t, sc, sendInvoiceParams(cus.ID), "open")
		if _, err := srv.PayInvoice(inv.ID); err != nil {
			t.Fatal(err)
		}
		r, err := sc.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(inv.PaymentIntent.ID), Amount: stripe.Int64(400)})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := srv.Invoice(inv.ID)
		ch, _ := srv.Charge(got.Charge.ID)
		if r.Charge.ID != ch.ID || ch.AmountRefunded != 400 || got.Status != "paid" {
			t.Errorf("refund of charge %s; charge refunded %d, invoice %s", r.Charge.ID, ch.AmountRefunded, got.Status)
		}
	})
}

func TestInvoiceUpdate(t *testing.T) {
	notEditable := &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "invoice_not_editable",
		Msg: "Finalized invoices can't be updated in this way"}
	tests := []struct {
		name         string
		status       string
		params       *stripe.InvoiceParams
		wantPrevious map[string]any // nil: no invoice.updated
		wantErr      *apiErr
	}{
		{
			name: "draft description", status: "draft", params: &stripe.InvoiceParams{Description: stripe.String("new")},
			wantPrevious: map[string]any{"description": "old"},
		},
		{
			name: "draft days_until_due and auto_advance", status: "draft",
			params:       &stripe.InvoiceParams{DaysUntilDue: stripe.Int64(7), AutoAdvance: stripe.Bool(true)},
			wantPrevious: map[string]any{"days_until_due": float64(30), "auto_advance": false},
		},
		{
			name: "draft to charge_automatically drops days_until_due", status: "draft",
			params:       &stripe.InvoiceParams{CollectionMethod: stripe.String("charge_automatically")},
			wantPrevious: map[string]any{"collection_method": "send_invoice", "days_until_due": float64(30)},
		},
		{
			name: "metadata on an open invoice", status: "open",
			params: func() *stripe.InvoiceParams {
				p := &stripe.InvoiceParams{}
				p.AddMetadata("k", "v")
				return p
			}(),
			wantPrevious: map[string]any{"metadata": map[string]any{"k": nil}},
		},
		{name: "no change", status: "draft", params: &stripe.InvoiceParams{Description: stripe.String("old")}},
		{name: "description of an open invoice", status: "open", params: &stripe.InvoiceParams{Description: stripe.String("new")}, wantErr: notEditable},
		{name: "days_until_due of a paid invoice", status: "paid", params: &stripe.InvoiceParams{DaysUntilDue: stripe.Int64(1)}, wantErr: notEditable},
		{
			name: "days_until_due with charge_automatically", status: "draft",
			params:  &stripe.InvoiceParams{CollectionMethod: stripe.String("charge_automatically"), DaysUntilDue: stripe.Int64(3)},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "days_until_due"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			cus := mustCustomer(t, sc, nil)
			p := sendInvoiceParams(cus.ID)
			p.Description = stripe.String("old")
			inv := invoiceIn(t, sc, p, tt.status)
			before := len(eventTypes(t, srv, inv.ID))
			_, err := sc.Invoices.Update(inv.ID, tt.params)
			checkErr(t, err, tt.wantErr)
			var prev []map[string]any
			for _, e := range srv.Events()[len(srv.Events())-(len(eventTypes(t, srv, inv.ID))-before):] {
				ev := parseEvent(t, e.Payload)
				if ev.Type == "invoice.updated" {
					prev = append(prev, ev.Data.PreviousAttributes)
				}
			}
			var want []map[string]any
			if tt.wantPrevious != nil {
				want = []map[string]any{tt.wantPrevious}
			}
			if diff := cmp.Diff(want, prev, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("invoice.updated previous_attributes (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("missing invoice", func(t *testing.T) {
		_, sc := newDouble(t)
		_, err := sc.Invoices.Update("in_nope", &stripe.InvoiceParams{})
		checkErr(t, err, &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "invoice"})
	})
}

func TestInvoiceDelete(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	pending := mustInvoiceItem(t, sc, item(cus.ID, 300))
	inv := mustInvoice(t, sc, &stripe.InvoiceParams{Customer: stripe.String(cus.ID), PendingInvoiceItemsBehavior: stripe.String("include")})
	own := mustInvoiceItem(t, sc, &stripe.InvoiceItemParams{Customer: stripe.String(cus.ID), Invoice: stripe.String(inv.ID), Amount: stripe.Int64(500)})

	got, err := sc.Invoices.Del(inv.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&stripe.Invoice{ID: inv.ID, Object: "invoice", Deleted: true}, got, ignoreResponse); diff != "" {
		t.Errorf("delete response (-want +got):\n%s", diff)
	}
	missing := &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "invoice", Msg: "No such invoice: '" + inv.ID + "'"}
	_, err = sc.Invoices.Get(inv.ID, nil)
	checkErr(t, err, missing)
	_, err = sc.Invoices.FinalizeInvoice(inv.ID, nil)
	checkErr(t, err, missing)

	// The item created on the draft went with it; the pending one it had
	// taken is pending again.
	_, err = sc.InvoiceItems.Get(own.ID, nil)
	checkErr(t, err, &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "invoiceitem"})
	back, err := sc.InvoiceItems.Get(pending.ID, nil)
	if err != nil || back.Invoice != nil {
		t.Errorf("pulled-in item = %+v, %v; want pending again", back, err)
	}
	if diff := cmp.Diff([]string{"invoice.created", "invoice.updated", "invoice.deleted"}, eventTypes(t, srv, inv.ID)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if stored, ok := srv.Invoice(inv.ID); !ok || !stored.Deleted || stored.Total != 800 {
		t.Errorf("Invoice() = %+v, want the deleted invoice with its last fields", stored)
	}

	for _, status := range []string{"open", "paid", "void"} {
		t.Run(status+" cannot be deleted", func(t *testing.T) {
			inv := invoiceIn(t, sc, sendInvoiceParams(cus.ID), status)
			_, err := sc.Invoices.Del(inv.ID, nil)
			checkErr(t, err, &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest})
		})
	}
}

func TestInvoiceList(t *testing.T) {
	srv, sc := newDouble(t)
	start := srv.Now()
	alice := mustCustomer(t, sc, nil)
	bob := mustCustomer(t, sc, nil)
	statuses := []string{"draft", "open", "paid", "uncollectible", "open", "void", "draft"}
	var all, alices, open, charged []string // newest first
	for i, status := range statuses {
		cus := []string{alice.ID, bob.ID}[i%2]
		p := sendInvoiceParams(cus)
		if i == 1 || i == 6 {
			p = &stripe.InvoiceParams{Customer: stripe.String(cus)}
		}
		inv := invoiceIn(t, sc, p, status)
		all = append([]string{inv.ID}, all...)
		if cus == alice.ID {
			alices = append([]string{inv.ID}, alices...)
		}
		if status == "open" {
			open = append([]string{inv.ID}, open...)
		}
		if p.CollectionMethod == nil {
			charged = append([]string{inv.ID}, charged...)
		}
		srv.Advance(time.Hour)
	}
	deleted := mustInvoice(t, sc, &stripe.InvoiceParams{Customer: stripe.String(alice.ID)})
	if _, err := sc.Invoices.Del(deleted.ID, nil); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		params  *stripe.InvoiceListParams
		single  bool
		want    []string
		wantErr *apiErr
	}{
		{name: "all newest first, two per page", params: &stripe.InvoiceListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(2)}}, want: all},
		{name: "customer", params: &stripe.InvoiceListParams{Customer: stripe.String(alice.ID)}, want: alices},
		{name: "status", params: &stripe.InvoiceListParams{Status: stripe.String("open")}, want: open},
		{name: "customer and status", params: &stripe.InvoiceListParams{Customer: stripe.String(bob.ID), Status: stripe.String("open")}, want: open[1:]},
		{name: "collection_method", params: &stripe.InvoiceListParams{CollectionMethod: stripe.String("charge_automatically")}, want: charged},
		{name: "created range", params: &stripe.InvoiceListParams{CreatedRange: &stripe.RangeQueryParams{
			GreaterThanOrEqual: start.Add(2 * time.Hour).Unix(), LesserThan: start.Add(4 * time.Hour).Unix()}}, want: all[3:5]},
		{name: "starting_after", params: &stripe.InvoiceListParams{ListParams: stripe.ListParams{StartingAfter: stripe.String(all[4])}}, want: all[5:]},
		{name: "ending_before page", params: &stripe.InvoiceListParams{ListParams: stripe.ListParams{EndingBefore: stripe.String(all[4]), Limit: stripe.Int64(2)}},
			single: true, want: []string{all[3], all[2]}},
		{
			name:    "invalid status",
			params:  &stripe.InvoiceListParams{Status: stripe.String("deleted")},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "status"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.params.Single = tt.single
			it := sc.Invoices.List(tt.params)
			var got []string
			for it.Next() {
				got = append(got, it.Invoice().ID)
			}
			checkErr(t, it.Err(), tt.wantErr)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("expand data.customer", func(t *testing.T) {
		p := &stripe.InvoiceListParams{Customer: stripe.String(bob.ID)}
		p.AddExpand("data.customer")
		it := sc.Invoices.List(p)
		for it.Next() {
			if c := it.Invoice().Customer; c.ID != bob.ID || c.Object != "customer" {
				t.Errorf("customer = %+v", c)
			}
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestInvoiceSearch(t *testing.T) {
	_, sc := newDouble(t)
	alice := mustCustomer(t, sc, nil)
	bob := mustCustomer(t, sc, nil)
	var ids []string // oldest first
	for i, c := range []struct {
		cus, order, status string
	}{
		{alice.ID, "o-1", "open"},
		{alice.ID, "o-2", "draft"},
		{bob.ID, "o-1", "open"},
		{alice.ID, "o-3", "paid"},
	} {
		p := sendInvoiceParams(c.cus)
		p.AddMetadata("order", c.order)
		p.AddMetadata("n", fmt.Sprint(i))
		ids = append(ids, invoiceIn(t, sc, p, c.status).ID)
	}
	deleted := sendInvoiceParams(alice.ID)
	deleted.AddMetadata("order", "o-1")
	gone := mustInvoice(t, sc, deleted)
	if _, err := sc.Invoices.Del(gone.ID, nil); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		query   string
		want    []string
		wantErr *apiErr
	}{
		{name: "customer and metadata", query: fmt.Sprintf("customer:'%s' AND metadata['order']:'o-1'", alice.ID), want: []string{ids[0]}},
		{name: "metadata across customers", query: "metadata['order']:'o-1'", want: []string{ids[2], ids[0]}},
		{name: "status", query: "status:'open'", want: []string{ids[2], ids[0]}},
		{name: "customer and status", query: fmt.Sprintf(`customer:"%s" AND status:"draft"`, alice.ID), want: []string{ids[1]}},
		{name: "no match", query: "metadata['order']:'o-9'"},
		{name: "unmodelled field", query: "total:'1000'", wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "query"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := sc.Invoices.Search(&stripe.InvoiceSearchParams{SearchParams: stripe.SearchParams{Query: tt.query, Limit: stripe.Int64(1)}})
			var got []string
			for it.Next() {
				got = append(got, it.Invoice().ID)
			}
			checkErr(t, it.Err(), tt.wantErr)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInvoiceExpand(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, &stripe.CustomerParams{Email: stripe.String("a@example.com")})
	inv := invoiceIn(t, sc, sendInvoiceParams(cus.ID), "open")
	if _, err := srv.PayInvoice(inv.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path    string
		check   func(*stripe.Invoice) bool
		wantErr *apiErr
	}{
		{path: "customer", check: func(inv *stripe.Invoice) bool { return inv.Customer.Email == "a@example.com" }},
		{path: "payment_intent", check: func(inv *stripe.Invoice) bool { return inv.PaymentIntent.Status == "succeeded" }},
		{path: "charge", check: func(inv *stripe.Invoice) bool { return inv.Charge.Paid }},
		{path: "subscription", wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "expand"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := &stripe.InvoiceParams{}
			p.AddExpand(tt.path)
			got, err := sc.Invoices.Get(inv.ID, p)
			checkErr(t, err, tt.wantErr)
			if err == nil && !tt.check(got) {
				t.Errorf("%s not expanded: %+v", tt.path, got)
			}
		})
	}
}

// TestDeletedCustomerInvoices checks that deleting a customer leaves its
// invoices and items readable.
func TestDeletedCustomerInvoices(t *testing.T) {
	_, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	inv := invoiceIn(t, sc, sendInvoiceParams(cus.ID), "open")
	pending := mustInvoiceItem(t, sc, item(cus.ID, 100))
	if _, err := sc.Customers.Del(cus.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := sc.Invoices.Get(inv.ID, nil); err != nil || got.Customer.ID != cus.ID {
		t.Errorf("invoice = %v, %v", got, err)
	}
	if got, err := sc.InvoiceItems.Get(pending.ID, nil); err != nil || got.Customer.ID != cus.ID {
		t.Errorf("invoice item = %v, %v", got, err)
	}
	it := sc.Invoices.List(&stripe.InvoiceListParams{Customer: stripe.String(cus.ID)})
	n := 0
	for it.Next() {
		n++
	}
	if it.Err() != nil || n != 1 {
		t.Errorf("listed %d invoices (%v), want 1", n, it.Err())
	}
	p := &stripe.InvoiceParams{}
	p.AddExpand("customer")
	if got, err := sc.Invoices.Get(inv.ID, p); err != nil || !got.Customer.Deleted {
		t.Errorf("expanded customer = %+v, %v; want the deletion stub", got.Customer, err)
	}
	// Nobody is left to create anything for.
	_, err := sc.InvoiceItems.New(item(cus.ID, 100))
	checkErr(t, err, &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "customer"})
}

// TestInvoiceEvents runs an invoicing flow and checks the events it records
// verify as webhooks and carry the invoice as it was at each step.
func TestInvoiceEvents(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	mustAttach(t, sc, "pm_card_visa", cus.ID)
	if _, err := sc.Customers.Update(cus.ID, &stripe.CustomerParams{InvoiceSettings: &stripe.CustomerInvoiceSettingsParams{
		DefaultPaymentMethod: stripe.String("pm_card_visa")}}); err != nil {
		t.Fatal(err)
	}
	ip := &stripe.InvoiceParams{Customer: stripe.String(cus.ID)}
	ip.SetIdempotencyKey("create-invoice")
	inv := mustInvoice(t, sc, ip)
	ii := mustInvoiceItem(t, sc, &stripe.InvoiceItemParams{Customer: stripe.String(cus.ID), Invoice: stripe.String(inv.ID), Amount: stripe.Int64(2500)})
	if _, err := sc.Invoices.FinalizeInvoice(inv.ID, nil); err != nil {
		t.Fatal(err)
	}
	paid, err := sc.Invoices.Pay(inv.ID, nil)
	if err != nil {
		t.Fatal(err)
	}

	type seen struct {
		Type     string
		ObjectID string
		Status   string
		Due      int64
		Key      string
	}
	want := []seen{
		{"invoice.created", inv.ID, "draft", 0, "create-invoice"},
		{"invoiceitem.created", ii.ID, "", 0, ""},
		{"invoice.updated", inv.ID, "draft", 2500, ""},
		{"payment_intent.created", paid.PaymentIntent.ID, "requires_payment_method", 0, ""},
		{"invoice.finalized", inv.ID, "open", 2500, ""},
		{"charge.succeeded", paid.Charge.ID, "succeeded", 0, ""},
		{"payment_intent.succeeded", paid.PaymentIntent.ID, "succeeded", 0, ""},
		{"invoice.paid", inv.ID, "paid", 2500, ""},
		{"invoice.payment_succeeded", inv.ID, "paid", 2500, ""},
	}
	var got []seen
	for _, e := range srv.Events() {
		ev, err := webhook.ConstructEvent(e.Payload, stripetest.SignatureHeader(e.Payload, whsec, time.Now()), whsec)
		if err != nil {
			t.Fatalf("event %s does not verify: %v", e.Type, err)
		}
		s := seen{Type: e.Type, ObjectID: objectIDOf(t, ev), Key: ev.Request.IdempotencyKey}
		if s.Key != "create-invoice" {
			s.Key = ""
		}
		switch ev.Data.Object["object"] {
		case "invoice":
			var inv stripe.Invoice
			if err := json.Unmarshal(ev.Data.Raw, &inv); err != nil {
				t.Fatal(err)
			}
			s.Status, s.Due = string(inv.Status), inv.AmountDue
		case "payment_intent":
			s.Status, _ = ev.Data.Object["status"].(string)
		case "charge":
			s.Status, _ = ev.Data.Object["status"].(string)
		case "customer", "payment_method":
			continue
		}
		got = append(got, s)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
