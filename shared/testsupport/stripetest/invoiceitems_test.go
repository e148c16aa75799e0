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
)

func mustInvoiceItem(t *testing.T, sc *client.API, p *stripe.InvoiceItemParams) *stripe.InvoiceItem {
	t.Helper()
	ii, err := sc.InvoiceItems.New(p)
	if err != nil {
		t.Fatalf("creating invoice item: %v", err)
	}
	return ii
}

// item is the invoice item params most tests need.
func item(customerID string, amount int64) *stripe.InvoiceItemParams {
	return &stripe.InvoiceItemParams{Customer: stripe.String(customerID), Amount: stripe.Int64(amount)}
}

func TestInvoiceItemCreate(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	other := mustCustomer(t, sc, nil)
	gone := mustCustomer(t, sc, nil)
	if _, err := sc.Customers.Del(gone.ID, nil); err != nil {
		t.Fatal(err)
	}
	draft := mustInvoice(t, sc, &stripe.InvoiceParams{Customer: stripe.String(cus.ID), Currency: stripe.String("eur")})
	othersDraft := mustInvoice(t, sc, &stripe.InvoiceParams{Customer: stripe.String(other.ID)})
	open := mustInvoice(t, sc, &stripe.InvoiceParams{Customer: stripe.String(cus.ID)})
	if _, err := sc.Invoices.FinalizeInvoice(open.ID, nil); err != nil {
		t.Fatal(err)
	}

	// summary is what each case checks of the created item.
	type summary struct {
		Amount            int64
		UnitAmount        int64
		UnitAmountDecimal float64
		Quantity          int64
		Currency          stripe.Currency
		Invoice           string
		Discountable      bool
	}
	decimal := func(d string, quantity int64) *stripe.InvoiceItemParams {
		p := &stripe.InvoiceItemParams{Customer: stripe.String(cus.ID)}
		// stripe-go sends a float64 with as few digits as it takes.
		var f float64
		if _, err := fmt.Sscan(d, &f); err != nil {
			t.Fatal(err)
		}
		p.UnitAmountDecimal = stripe.Float64(f)
		if quantity != 0 {
			p.Quantity = stripe.Int64(quantity)
		}
		return p
	}
	with := func(p *stripe.InvoiceItemParams, f func(*stripe.InvoiceItemParams)) *stripe.InvoiceItemParams {
		f(p)
		return p
	}
	tests := []struct {
		name    string
		params  *stripe.InvoiceItemParams
		want    summary
		wantErr *apiErr
	}{
		{name: "amount", params: item(cus.ID, 1250), want: summary{1250, 1250, 1250, 1, "usd", "", true}},
		{name: "negative amount is a credit", params: item(cus.ID, -300), want: summary{-300, -300, -300, 1, "usd", "", false}},
		{name: "unit_amount and quantity", params: &stripe.InvoiceItemParams{Customer: stripe.String(cus.ID), UnitAmount: stripe.Int64(250), Quantity: stripe.Int64(3)},
			want: summary{750, 250, 250, 3, "usd", "", true}},
		{name: "decimal, default quantity", params: decimal("12.5", 0), want: summary{13, 0, 12.5, 1, "usd", "", true}},
		{name: "decimal rounds half up", params: decimal("0.125", 4), want: summary{1, 0, 0.125, 4, "usd", "", true}},
		{name: "decimal rounds down below half", params: decimal("0.0123", 40), want: summary{0, 0, 0.0123, 40, "usd", "", true}},
		{name: "twelve decimals", params: decimal("33.333333333333", 3), want: summary{100, 0, 33.333333333333, 3, "usd", "", true}},
		{name: "negative decimal rounds away from zero", params: decimal("-2.5", 1), want: summary{-3, 0, -2.5, 1, "usd", "", false}},
		{name: "upper-case currency", params: with(item(cus.ID, 100), func(p *stripe.InvoiceItemParams) { p.Currency = stripe.String("GBP") }),
			want: summary{100, 100, 100, 1, "gbp", "", true}},
		{name: "on a draft takes its currency", params: with(item(cus.ID, 100), func(p *stripe.InvoiceItemParams) { p.Invoice = stripe.String(draft.ID) }),
			want: summary{100, 100, 100, 1, "eur", draft.ID, true}},
		{
			name:    "missing customer",
			params:  &stripe.InvoiceItemParams{Amount: stripe.Int64(100)},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "parameter_missing", Param: "customer"},
		},
		{
			name:    "unknown customer",
			params:  item("cus_nope", 100),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "customer", Msg: "No such customer: 'cus_nope'"},
		},
		{
			name:    "deleted customer",
			params:  item(gone.ID, 100),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "customer"},
		},
		{
			name:    "no amount",
			params:  &stripe.InvoiceItemParams{Customer: stripe.String(cus.ID)},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "parameter_missing", Param: "amount"},
		},
		{
			name:    "amount and decimal",
			params:  with(decimal("1.5", 0), func(p *stripe.InvoiceItemParams) { p.Amount = stripe.Int64(100) }),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "amount"},
		},
		{
			name:    "amount and quantity",
			params:  with(item(cus.ID, 100), func(p *stripe.InvoiceItemParams) { p.Quantity = stripe.Int64(2) }),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "quantity"},
		},
		{
			name:    "more than twelve decimals",
			params:  decimal("0.1234567890123", 1),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "unit_amount_decimal"},
		},
		{
			name:    "negative quantity",
			params:  decimal("1", -1),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "quantity"},
		},
		{
			name:   "finalized invoice",
			params: with(item(cus.ID, 100), func(p *stripe.InvoiceItemParams) { p.Invoice = stripe.String(open.ID) }),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "invoice_not_editable", Param: "invoice",
				Msg: "You can only add invoice items to draft invoices."},
		},
		{
			name:    "another customer's invoice",
			params:  with(item(cus.ID, 100), func(p *stripe.InvoiceItemParams) { p.Invoice = stripe.String(othersDraft.ID) }),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "invoice"},
		},
		{
			name:    "unknown invoice",
			params:  with(item(cus.ID, 100), func(p *stripe.InvoiceItemParams) { p.Invoice = stripe.String("in_nope") }),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "invoice", Msg: "No such invoice: 'in_nope'"},
		},
		{
			name: "currency differs from the invoice's",
			params: with(item(cus.ID, 100), func(p *stripe.InvoiceItemParams) {
				p.Invoice = stripe.String(draft.ID)
				p.Currency = stripe.String("usd")
			}),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "currency"},
		},
		{
			name:    "prices are not modelled",
			params:  &stripe.InvoiceItemParams{Customer: stripe.String(cus.ID), Price: stripe.String("price_123")},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "price"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.InvoiceItems())
			ii, err := sc.InvoiceItems.New(tt.params)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				if len(srv.InvoiceItems()) != before {
					t.Error("a refused create stored an item")
				}
				return
			}
			got := summary{ii.Amount, ii.UnitAmount, ii.UnitAmountDecimal, ii.Quantity, ii.Currency, "", ii.Discountable}
			if ii.Invoice != nil {
				got.Invoice = ii.Invoice.ID
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("item (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"invoiceitem.created"}, eventTypes(t, srv, ii.ID)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInvoiceItemObject(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	start, end := srv.Now().Add(-24*time.Hour).Unix(), srv.Now().Unix()
	p := &stripe.InvoiceItemParams{Customer: stripe.String(cus.ID), Amount: stripe.Int64(4200), Currency: stripe.String("usd"),
		Description: stripe.String("Storage, October"), Period: &stripe.InvoiceItemPeriodParams{Start: &start, End: &end}}
	p.AddMetadata("usage_id", "u-1")
	created := mustInvoiceItem(t, sc, p)
	if !regexp.MustCompile(`^ii_[A-Za-z0-9]{24}$`).MatchString(created.ID) {
		t.Errorf("id %q does not look like Stripe's", created.ID)
	}
	want := &stripe.InvoiceItem{
		ID:                created.ID,
		Object:            "invoiceitem",
		Amount:            4200,
		Currency:          "usd",
		Customer:          &stripe.Customer{ID: cus.ID},
		Date:              srv.Now().Unix(),
		Description:       "Storage, October",
		Discountable:      true,
		Metadata:          map[string]string{"usage_id": "u-1"},
		Period:            &stripe.Period{Start: start, End: end},
		Quantity:          1,
		UnitAmount:        4200,
		UnitAmountDecimal: 4200,
	}
	opts := cmp.Options{ignoreResponse, cmpopts.EquateEmpty()}
	if diff := cmp.Diff(want, created, opts); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	got, err := sc.InvoiceItems.Get(created.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("retrieved (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]*stripe.InvoiceItem{want}, srv.InvoiceItems(), opts); diff != "" {
		t.Errorf("InvoiceItems() (-want +got):\n%s", diff)
	}
	var raw map[string]any
	if err := json.Unmarshal(got.LastResponse.RawJSON, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["invoice"] != nil || raw["unit_amount_decimal"] != "4200" || raw["proration"] != false {
		t.Errorf("invoice %v, unit_amount_decimal %v, proration %v; want null, \"4200\", false", raw["invoice"], raw["unit_amount_decimal"], raw["proration"])
	}

	_, err = sc.InvoiceItems.Get("ii_nope", nil)
	checkErr(t, err, &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "invoiceitem", Msg: "No such invoiceitem: 'ii_nope'"})

	t.Run("expand", func(t *testing.T) {
		p := &stripe.InvoiceItemParams{}
		p.AddExpand("customer")
		got, err := sc.InvoiceItems.Get(created.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		if got.Customer.Object != "customer" {
			t.Errorf("customer not expanded: %+v", got.Customer)
		}
	})
}

func TestInvoiceItemUpdateAndDelete(t *testing.T) {
	type where int
	const (
		pending where = iota
		onDraft
		onOpen
	)
	tests := []struct {
		name   string
		where  where
		update *stripe.InvoiceItemParams // nil: delete
		// wantAmount is the item's amount after the change; wantInvoice
		// the invoice's total.
		wantAmount  int64
		wantInvoice int64
		wantEvents  []string // about the item
		wantErr     *apiErr
	}{
		{
			name: "pending: description, amount, metadata", where: pending,
			update: func() *stripe.InvoiceItemParams {
				p := &stripe.InvoiceItemParams{Description: stripe.String("corrected"), Amount: stripe.Int64(900)}
				p.AddMetadata("k", "v")
				return p
			}(),
			wantAmount: 900, wantEvents: []string{"invoiceitem.created", "invoiceitem.updated"},
		},
		{
			name: "on a draft the invoice follows", where: onDraft, update: &stripe.InvoiceItemParams{Amount: stripe.Int64(-200)},
			wantAmount: -200, wantInvoice: 300, wantEvents: []string{"invoiceitem.created", "invoiceitem.updated"},
		},
		{
			name: "quantity alone reprices", where: onDraft, update: &stripe.InvoiceItemParams{Quantity: stripe.Int64(3)},
			wantAmount: 3000, wantInvoice: 3500, wantEvents: []string{"invoiceitem.created", "invoiceitem.updated"},
		},
		{
			name: "no change, no event", where: pending, update: &stripe.InvoiceItemParams{Amount: stripe.Int64(1000)},
			wantAmount: 1000, wantEvents: []string{"invoiceitem.created"},
		},
		{
			name: "on a finalized invoice", where: onOpen, update: &stripe.InvoiceItemParams{Amount: stripe.Int64(1)},
			wantAmount: 1000, wantInvoice: 1500, wantEvents: []string{"invoiceitem.created"},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "invoice_not_editable"},
		},
		{name: "delete pending", where: pending, wantEvents: []string{"invoiceitem.created", "invoiceitem.deleted"}},
		{name: "delete from a draft", where: onDraft, wantInvoice: 500, wantEvents: []string{"invoiceitem.created", "invoiceitem.deleted"}},
		{
			name: "delete from a finalized invoice", where: onOpen, wantAmount: 1000, wantInvoice: 1500, wantEvents: []string{"invoiceitem.created"},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "invoice_not_editable"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			cus := mustCustomer(t, sc, nil)
			inv := mustInvoice(t, sc, &stripe.InvoiceParams{Customer: stripe.String(cus.ID)})
			mustInvoiceItem(t, sc, &stripe.InvoiceItemParams{Customer: stripe.String(cus.ID), Amount: stripe.Int64(500), Invoice: stripe.String(inv.ID)})
			p := item(cus.ID, 1000)
			if tt.where != pending {
				p.Invoice = stripe.String(inv.ID)
			}
			ii := mustInvoiceItem(t, sc, p)
			if tt.where == onOpen {
				if _, err := sc.Invoices.FinalizeInvoice(inv.ID, nil); err != nil {
					t.Fatal(err)
				}
			}
			updatesBefore := len(eventTypes(t, srv, inv.ID))

			var err error
			if tt.update != nil {
				var got *stripe.InvoiceItem
				got, err = sc.InvoiceItems.Update(ii.ID, tt.update)
				if err == nil && got.Amount != tt.wantAmount {
					t.Errorf("amount = %d, want %d", got.Amount, tt.wantAmount)
				}
			} else {
				var got *stripe.InvoiceItem
				got, err = sc.InvoiceItems.Del(ii.ID, nil)
				if err == nil {
					if diff := cmp.Diff(&stripe.InvoiceItem{ID: ii.ID, Object: "invoiceitem", Deleted: true}, got, ignoreResponse); diff != "" {
						t.Errorf("delete response (-want +got):\n%s", diff)
					}
					_, gerr := sc.InvoiceItems.Get(ii.ID, nil)
					checkErr(t, gerr, &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "invoiceitem"})
					_, uerr := sc.InvoiceItems.Update(ii.ID, &stripe.InvoiceItemParams{Amount: stripe.Int64(1)})
					checkErr(t, uerr, &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "invoiceitem"})
				}
			}
			checkErr(t, err, tt.wantErr)
			if diff := cmp.Diff(tt.wantEvents, eventTypes(t, srv, ii.ID)); diff != "" {
				t.Errorf("item events (-want +got):\n%s", diff)
			}
			if tt.where == pending {
				return
			}
			got, _ := srv.Invoice(inv.ID)
			if got.Total != tt.wantInvoice || got.Lines.TotalCount != uint32(len(got.Lines.Data)) {
				t.Errorf("invoice total %d with %d lines, want %d", got.Total, got.Lines.TotalCount, tt.wantInvoice)
			}
			wantUpdated := 0
			if tt.wantErr == nil {
				wantUpdated = 1
			}
			if n := len(eventTypes(t, srv, inv.ID)) - updatesBefore; n != wantUpdated {
				t.Errorf("%d invoice events after the change, want %d invoice.updated", n, wantUpdated)
			}
		})
	}
}

func TestInvoiceItemList(t *testing.T) {
	srv, sc := newDouble(t)
	alice := mustCustomer(t, sc, nil)
	bob := mustCustomer(t, sc, nil)
	inv := mustInvoice(t, sc, &stripe.InvoiceParams{Customer: stripe.String(alice.ID)})
	var all, alices, pending, onInvoice []string // newest first
	for i := range 6 {
		cus := []string{alice.ID, bob.ID}[i%2]
		p := item(cus, int64(100*(i+1)))
		if i == 2 || i == 4 {
			p.Invoice = stripe.String(inv.ID)
		}
		ii := mustInvoiceItem(t, sc, p)
		all = append([]string{ii.ID}, all...)
		if cus == alice.ID {
			alices = append([]string{ii.ID}, alices...)
		}
		if p.Invoice != nil {
			onInvoice = append([]string{ii.ID}, onInvoice...)
		} else {
			pending = append([]string{ii.ID}, pending...)
		}
		srv.Advance(time.Minute)
	}
	deleted := mustInvoiceItem(t, sc, item(alice.ID, 1))
	if _, err := sc.InvoiceItems.Del(deleted.ID, nil); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		params  *stripe.InvoiceItemListParams
		want    []string
		wantErr *apiErr
	}{
		{name: "all, two per page", params: &stripe.InvoiceItemListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(2)}}, want: all},
		{name: "customer", params: &stripe.InvoiceItemListParams{Customer: stripe.String(alice.ID)}, want: alices},
		{name: "invoice", params: &stripe.InvoiceItemListParams{Invoice: stripe.String(inv.ID)}, want: onInvoice},
		{name: "pending", params: &stripe.InvoiceItemListParams{Pending: stripe.Bool(true)}, want: pending},
		{name: "not pending", params: &stripe.InvoiceItemListParams{Pending: stripe.Bool(false)}, want: onInvoice},
		{name: "customer and pending", params: &stripe.InvoiceItemListParams{Customer: stripe.String(alice.ID), Pending: stripe.Bool(true)}, want: []string{all[5]}},
		{name: "starting_after", params: &stripe.InvoiceItemListParams{ListParams: stripe.ListParams{StartingAfter: stripe.String(all[3])}}, want: all[4:]},
		{
			name:    "unknown cursor",
			params:  &stripe.InvoiceItemListParams{ListParams: stripe.ListParams{StartingAfter: stripe.String("ii_nope")}},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "starting_after"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := sc.InvoiceItems.List(tt.params)
			var got []string
			for it.Next() {
				got = append(got, it.InvoiceItem().ID)
			}
			checkErr(t, it.Err(), tt.wantErr)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
	if items := srv.InvoiceItems(); len(items) != 7 || !items[6].Deleted {
		t.Errorf("InvoiceItems() = %d items, last deleted %v; want 7 with the deleted one", len(items), items[len(items)-1].Deleted)
	}
}
