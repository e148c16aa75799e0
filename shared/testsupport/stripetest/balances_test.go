package stripetest_test

import (
	"encoding/json"
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

// balanceParams credits (negative amount) or debits customerID in usd.
func balanceParams(customerID string, amount int64) *stripe.CustomerBalanceTransactionParams {
	return &stripe.CustomerBalanceTransactionParams{Customer: stripe.String(customerID), Amount: stripe.Int64(amount),
		Currency: stripe.String("usd")}
}

func mustBalanceTxn(t *testing.T, sc *client.API, p *stripe.CustomerBalanceTransactionParams) *stripe.CustomerBalanceTransaction {
	t.Helper()
	bt, err := sc.CustomerBalanceTransactions.New(p)
	if err != nil {
		t.Fatalf("creating balance transaction: %v", err)
	}
	return bt
}

// customerUpdates lists the previous_attributes of the customer.updated
// events recorded about customerID since event number from.
func customerUpdates(t *testing.T, srv *stripetest.Server, customerID string, from int) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range srv.Events()[from:] {
		ev := parseEvent(t, e.Payload)
		if ev.Type == "customer.updated" && objectIDOf(t, ev) == customerID {
			out = append(out, ev.Data.PreviousAttributes)
		}
	}
	return out
}

func TestBalanceTransactionCreate(t *testing.T) {
	withCurrency := func(amount int64, currency string) *stripe.CustomerBalanceTransactionParams {
		return &stripe.CustomerBalanceTransactionParams{Amount: stripe.Int64(amount), Currency: stripe.String(currency)}
	}
	tests := []struct {
		name string
		// prior is a transaction made first, if any.
		prior        *stripe.CustomerBalanceTransactionParams
		params       *stripe.CustomerBalanceTransactionParams
		customer     string // "gone" for a deleted customer, another value for an unknown one
		want         *stripe.CustomerBalanceTransaction
		wantBalance  int64
		wantCurrency stripe.Currency
		wantPrevious []map[string]any // of the customer.updated events of params
		wantErr      *apiErr
	}{
		{
			name: "credit with description and metadata",
			params: func() *stripe.CustomerBalanceTransactionParams {
				p := withCurrency(-500, "usd")
				p.Description = stripe.String("Goodwill")
				p.AddMetadata("ticket", "T-1")
				return p
			}(),
			want: &stripe.CustomerBalanceTransaction{Amount: -500, Currency: "usd", Description: "Goodwill", EndingBalance: -500,
				Metadata: map[string]string{"ticket": "T-1"}},
			wantBalance: -500, wantCurrency: "usd",
			wantPrevious: []map[string]any{{"balance": float64(0), "currency": nil}},
		},
		{
			name: "debit", params: withCurrency(1200, "usd"),
			want:        &stripe.CustomerBalanceTransaction{Amount: 1200, Currency: "usd", EndingBalance: 1200, Metadata: map[string]string{}},
			wantBalance: 1200, wantCurrency: "usd",
			wantPrevious: []map[string]any{{"balance": float64(0), "currency": nil}},
		},
		{
			name: "moves an existing balance", prior: withCurrency(-300, "usd"), params: withCurrency(100, "usd"),
			want:        &stripe.CustomerBalanceTransaction{Amount: 100, Currency: "usd", EndingBalance: -200, Metadata: map[string]string{}},
			wantBalance: -200, wantCurrency: "usd",
			wantPrevious: []map[string]any{{"balance": float64(-300)}},
		},
		{
			name: "first currency becomes the customer's, in lower case", params: withCurrency(-700, "EUR"),
			want:        &stripe.CustomerBalanceTransaction{Amount: -700, Currency: "eur", EndingBalance: -700, Metadata: map[string]string{}},
			wantBalance: -700, wantCurrency: "eur",
			wantPrevious: []map[string]any{{"balance": float64(0), "currency": nil}},
		},
		{
			name: "another currency than the customer's", prior: withCurrency(-300, "usd"), params: withCurrency(-100, "eur"),
			wantBalance: -300, wantCurrency: "usd",
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "currency"},
		},
		{
			name: "zero amount", params: withCurrency(0, "usd"),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "amount",
				Msg: "The amount of a customer balance transaction must be non-zero."},
		},
		{
			name: "missing amount", params: &stripe.CustomerBalanceTransactionParams{Currency: stripe.String("usd")},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "parameter_missing", Param: "amount"},
		},
		{
			name: "missing currency", params: &stripe.CustomerBalanceTransactionParams{Amount: stripe.Int64(-100)},
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "parameter_missing", Param: "currency"},
		},
		{
			name: "invalid currency", params: withCurrency(-100, "dollars"),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "currency"},
		},
		{
			name: "unknown customer", params: withCurrency(-100, "usd"), customer: "cus_nope",
			wantErr: &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "customer",
				Msg: "No such customer: 'cus_nope'"},
		},
		{
			name: "deleted customer", params: withCurrency(-100, "usd"), customer: "gone",
			wantErr: &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "customer"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			cus := mustCustomer(t, sc, nil)
			if tt.prior != nil {
				tt.prior.Customer = stripe.String(cus.ID)
				mustBalanceTxn(t, sc, tt.prior)
			}
			target := cus.ID
			switch tt.customer {
			case "":
			case "gone":
				if _, err := sc.Customers.Del(cus.ID, nil); err != nil {
					t.Fatal(err)
				}
			default:
				target = tt.customer
			}
			before, events := len(srv.BalanceTransactions(cus.ID)), len(srv.Events())
			srv.Advance(time.Minute)

			tt.params.Customer = stripe.String(target)
			got, err := sc.CustomerBalanceTransactions.New(tt.params)
			checkErr(t, err, tt.wantErr)

			if b := srv.CustomerBalance(cus.ID); b != tt.wantBalance {
				t.Errorf("CustomerBalance = %d, want %d", b, tt.wantBalance)
			}
			stored, _ := srv.Customer(cus.ID)
			if stored.Currency != tt.wantCurrency || stored.Balance != tt.wantBalance {
				t.Errorf("customer currency %q balance %d, want %q and %d", stored.Currency, stored.Balance, tt.wantCurrency, tt.wantBalance)
			}
			if diff := cmp.Diff(tt.wantPrevious, customerUpdates(t, srv, cus.ID, events)); diff != "" {
				t.Errorf("customer.updated previous_attributes (-want +got):\n%s", diff)
			}
			if err != nil {
				if n := len(srv.BalanceTransactions(cus.ID)); n != before {
					t.Errorf("a refused create stored a transaction: %d, was %d", n, before)
				}
				return
			}
			if !regexp.MustCompile(`^cbtxn_[A-Za-z0-9]{24}$`).MatchString(got.ID) {
				t.Errorf("id %q does not look like Stripe's", got.ID)
			}
			want := *tt.want
			want.ID, want.Object, want.Created, want.Customer, want.Type = got.ID, "customer_balance_transaction", srv.Now().Unix(),
				&stripe.Customer{ID: cus.ID}, "adjustment"
			if diff := cmp.Diff(&want, got, ignoreResponse); diff != "" {
				t.Errorf("created transaction (-want +got):\n%s", diff)
			}
			all := srv.BalanceTransactions(cus.ID)
			if diff := cmp.Diff(&want, all[len(all)-1], ignoreResponse); diff != "" {
				t.Errorf("BalanceTransactions() last (-want +got):\n%s", diff)
			}
			var raw map[string]any
			if err := json.Unmarshal(got.LastResponse.RawJSON, &raw); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"invoice", "credit_note"} {
				if v, ok := raw[k]; !ok || v != nil {
					t.Errorf("%s = %v (present %v), want null", k, v, ok)
				}
			}
			if v, ok := raw["livemode"]; v != false || !ok {
				t.Errorf("livemode = %v (present %v), want false", v, ok)
			}
			if tt.want.Description == "" && raw["description"] != nil {
				t.Errorf("description = %v, want null", raw["description"])
			}
			got2, err := sc.Customers.Get(cus.ID, nil)
			if err != nil || got2.Balance != tt.wantBalance {
				t.Errorf("retrieved customer balance = %d (%v), want %d", got2.Balance, err, tt.wantBalance)
			}
		})
	}
}

func TestCustomerBalanceDefaults(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	var raw map[string]any
	if err := json.Unmarshal(cus.LastResponse.RawJSON, &raw); err != nil {
		t.Fatal(err)
	}
	if b, ok := raw["balance"]; !ok || b != float64(0) {
		t.Errorf("balance = %v (present %v), want 0", b, ok)
	}
	if c, ok := raw["currency"]; !ok || c != nil {
		t.Errorf("currency = %v (present %v), want null", c, ok)
	}
	if srv.CustomerBalance(cus.ID) != 0 || srv.CustomerBalance("cus_nope") != 0 || srv.BalanceTransactions(cus.ID) != nil {
		t.Errorf("helpers of a customer without a balance: %d, %d, %v", srv.CustomerBalance(cus.ID), srv.CustomerBalance("cus_nope"), srv.BalanceTransactions(cus.ID))
	}

	// Setting the balance directly is not modelled.
	unsupported := &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "balance"}
	_, err := sc.Customers.New(&stripe.CustomerParams{Balance: stripe.Int64(-100)})
	checkErr(t, err, unsupported)
	_, err = sc.Customers.Update(cus.ID, &stripe.CustomerParams{Balance: stripe.Int64(-100)})
	checkErr(t, err, unsupported)
	if len(srv.Customers()) != 1 || srv.CustomerBalance(cus.ID) != 0 {
		t.Errorf("a refused balance changed something")
	}
}

func TestBalanceTransactionIdempotency(t *testing.T) {
	tests := []struct {
		name         string
		second       int64 // amount of the retry
		wantErr      *apiErr
		wantReplayed bool
	}{
		{name: "same key and body replays", second: -500, wantReplayed: true},
		{name: "same key, other body", second: -600, wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeIdempotency,
			Msg: "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'credit-1' if you meant to execute a different request."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			cus := mustCustomer(t, sc, nil)
			p := balanceParams(cus.ID, -500)
			p.SetIdempotencyKey("credit-1")
			first := mustBalanceTxn(t, sc, p)
			events := len(srv.Events())

			retry := balanceParams(cus.ID, tt.second)
			retry.SetIdempotencyKey("credit-1")
			second, err := sc.CustomerBalanceTransactions.New(retry)
			checkErr(t, err, tt.wantErr)
			if err == nil && (second.ID != first.ID || string(second.LastResponse.RawJSON) != string(first.LastResponse.RawJSON)) {
				t.Errorf("replay answered %s, want %s with the same body", second.ID, first.ID)
			}
			reqs := srv.Requests()
			if last := reqs[len(reqs)-1]; last.Replayed != tt.wantReplayed {
				t.Errorf("retry replayed = %v, want %v", last.Replayed, tt.wantReplayed)
			}
			if n, b := len(srv.BalanceTransactions(cus.ID)), srv.CustomerBalance(cus.ID); n != 1 || b != -500 {
				t.Errorf("%d transactions, balance %d; want 1 and -500", n, b)
			}
			if n := len(srv.Events()); n != events {
				t.Errorf("retry recorded %d events", n-events)
			}
		})
	}
}

func TestBalanceTransactionGetAndUpdate(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	other := mustCustomer(t, sc, nil)
	p := balanceParams(cus.ID, -500)
	p.Description = stripe.String("old")
	p.AddMetadata("a", "1")
	p.AddMetadata("b", "2")
	bt := mustBalanceTxn(t, sc, p)

	got, err := sc.CustomerBalanceTransactions.Get(bt.ID, &stripe.CustomerBalanceTransactionParams{Customer: stripe.String(cus.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(bt, got, ignoreResponse); diff != "" {
		t.Errorf("retrieved (-created +retrieved):\n%s", diff)
	}

	missingTxn := func(id string) *apiErr {
		return &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "transaction",
			Msg: "No such customer balance transaction: '" + id + "'"}
	}
	tests := []struct {
		name            string
		id              string
		params          *stripe.CustomerBalanceTransactionParams
		wantDescription string
		wantMetadata    map[string]string
		wantErr         *apiErr
	}{
		{
			name: "description", id: bt.ID, params: &stripe.CustomerBalanceTransactionParams{Description: stripe.String("new")},
			wantDescription: "new", wantMetadata: map[string]string{"a": "1", "b": "2"},
		},
		{
			name: "metadata merges", id: bt.ID,
			params: func() *stripe.CustomerBalanceTransactionParams {
				p := &stripe.CustomerBalanceTransactionParams{}
				p.AddMetadata("a", "")
				p.AddMetadata("c", "3")
				return p
			}(),
			wantDescription: "new", wantMetadata: map[string]string{"b": "2", "c": "3"},
		},
		{
			name: "empty description unsets it", id: bt.ID, params: &stripe.CustomerBalanceTransactionParams{Description: stripe.String("")},
			wantMetadata: map[string]string{"b": "2", "c": "3"},
		},
		{
			name: "amount cannot change", id: bt.ID, params: &stripe.CustomerBalanceTransactionParams{Amount: stripe.Int64(-1)},
			wantMetadata: map[string]string{"b": "2", "c": "3"},
			wantErr:      &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "amount", Msg: "Received unknown parameter: amount"},
		},
		{name: "unknown transaction", id: "cbtxn_nope", params: &stripe.CustomerBalanceTransactionParams{}, wantErr: missingTxn("cbtxn_nope")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := len(srv.Events())
			tt.params.Customer = stripe.String(cus.ID)
			got, err := sc.CustomerBalanceTransactions.Update(tt.id, tt.params)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			stored := srv.BalanceTransactions(cus.ID)[0]
			if diff := cmp.Diff(stored, got, ignoreResponse); diff != "" {
				t.Errorf("returned and stored differ (-stored +returned):\n%s", diff)
			}
			if got.Description != tt.wantDescription || got.Amount != -500 || got.EndingBalance != -500 {
				t.Errorf("description %q amount %d ending_balance %d", got.Description, got.Amount, got.EndingBalance)
			}
			if diff := cmp.Diff(tt.wantMetadata, got.Metadata); diff != "" {
				t.Errorf("metadata (-want +got):\n%s", diff)
			}
			if n := len(srv.Events()); n != events {
				t.Errorf("update recorded %d events, want none", n-events)
			}
		})
	}

	errTests := []struct {
		name     string
		customer string
		id       string
		want     *apiErr
	}{
		{name: "another customer's transaction", customer: other.ID, id: bt.ID, want: missingTxn(bt.ID)},
		{name: "unknown transaction", customer: cus.ID, id: "cbtxn_nope", want: missingTxn("cbtxn_nope")},
		{name: "unknown customer", customer: "cus_nope", id: bt.ID, want: &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest,
			Code: "resource_missing", Param: "customer", Msg: "No such customer: 'cus_nope'"}},
	}
	for _, tt := range errTests {
		t.Run("get "+tt.name, func(t *testing.T) {
			_, err := sc.CustomerBalanceTransactions.Get(tt.id, &stripe.CustomerBalanceTransactionParams{Customer: stripe.String(tt.customer)})
			checkErr(t, err, tt.want)
		})
	}

	t.Run("expand", func(t *testing.T) {
		p := &stripe.CustomerBalanceTransactionParams{Customer: stripe.String(cus.ID)}
		p.AddExpand("customer")
		got, err := sc.CustomerBalanceTransactions.Get(bt.ID, p)
		if err != nil || got.Customer.Object != "customer" || got.Customer.Balance != -500 {
			t.Errorf("expanded customer = %+v, %v", got.Customer, err)
		}
		p = &stripe.CustomerBalanceTransactionParams{Customer: stripe.String(cus.ID)}
		p.AddExpand("credit_note")
		_, err = sc.CustomerBalanceTransactions.Get(bt.ID, p)
		checkErr(t, err, &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "expand"})
	})
}

func TestBalanceTransactionList(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	other := mustCustomer(t, sc, nil)
	var all []string // newest first
	for i := range 5 {
		all = append([]string{mustBalanceTxn(t, sc, balanceParams(cus.ID, int64(-100*(i+1)))).ID}, all...)
		mustBalanceTxn(t, sc, balanceParams(other.ID, 100))
		srv.Advance(time.Minute)
	}

	tests := []struct {
		name        string
		customer    string
		list        stripe.ListParams
		want        []string
		wantHasMore bool
		wantErr     *apiErr
	}{
		{name: "newest first, two per page", list: stripe.ListParams{Limit: stripe.Int64(2)}, want: all},
		{name: "one page", list: stripe.ListParams{Limit: stripe.Int64(3), Single: true}, want: all[:3], wantHasMore: true},
		{name: "starting_after", list: stripe.ListParams{StartingAfter: stripe.String(all[1])}, want: all[2:]},
		{name: "ending_before page", list: stripe.ListParams{EndingBefore: stripe.String(all[3]), Limit: stripe.Int64(2), Single: true},
			want: []string{all[2], all[1]}, wantHasMore: true},
		{name: "ending_before iterator", list: stripe.ListParams{EndingBefore: stripe.String(all[2]), Limit: stripe.Int64(1)},
			want: []string{all[1], all[0]}},
		{name: "unknown customer", customer: "cus_nope", wantErr: &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest,
			Code: "resource_missing", Param: "customer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			customer := cus.ID
			if tt.customer != "" {
				customer = tt.customer
			}
			it := sc.CustomerBalanceTransactions.List(&stripe.CustomerBalanceTransactionListParams{Customer: stripe.String(customer), ListParams: tt.list})
			var got []string
			for it.Next() {
				got = append(got, it.CustomerBalanceTransaction().ID)
			}
			checkErr(t, it.Err(), tt.wantErr)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if tt.list.Single {
				l := it.CustomerBalanceTransactionList()
				if l.HasMore != tt.wantHasMore || l.URL != "/v1/customers/"+cus.ID+"/balance_transactions" {
					t.Errorf("has_more %v url %q", l.HasMore, l.URL)
				}
			}
		})
	}
}

// TestInvoiceAppliesCustomerBalance finalizes a $10.00 invoice of a
// customer with a balance.
func TestInvoiceAppliesCustomerBalance(t *testing.T) {
	type balance struct {
		Starting  int64
		Ending    int64
		AmountDue int64
		Status    stripe.InvoiceStatus
		PI        int64 // amount of the invoice's PaymentIntent, 0 for none
		Customer  int64
	}
	tests := []struct {
		name        string
		balance     int64 // 0: no transaction
		currency    string
		invCurrency string
		want        balance
		wantApplied int64 // amount of the applied_to_invoice transaction, 0 for none
	}{
		{name: "no balance", want: balance{0, 0, 1000, "open", 1000, 0}},
		{name: "credit smaller than the total", balance: -300, want: balance{-300, 0, 700, "open", 700, 0}, wantApplied: 300},
		{name: "credit equal to the total", balance: -1000, want: balance{-1000, 0, 0, "paid", 0, 0}, wantApplied: 1000},
		{name: "credit larger than the total", balance: -1500, want: balance{-1500, -500, 0, "paid", 0, -500}, wantApplied: 1000},
		{name: "debt is added to amount_due", balance: 250, want: balance{250, 0, 1250, "open", 1250, 0}, wantApplied: -250},
		{name: "balance in another currency stays", balance: -300, currency: "eur",
			want: balance{0, 0, 1000, "open", 1000, -300}},
		{name: "invoice takes the customer's currency", balance: -300, currency: "eur", invCurrency: "default",
			want: balance{-300, 0, 700, "open", 700, 0}, wantApplied: 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			cus := mustCustomer(t, sc, nil)
			currency := "usd"
			if tt.currency != "" {
				currency = tt.currency
			}
			var credit *stripe.CustomerBalanceTransaction
			if tt.balance != 0 {
				p := balanceParams(cus.ID, tt.balance)
				p.Currency = stripe.String(currency)
				credit = mustBalanceTxn(t, sc, p)
			}
			ip := sendInvoiceParams(cus.ID)
			ip.Currency = stripe.String("usd")
			if tt.invCurrency == "default" {
				ip.Currency = nil
			}
			inv := mustInvoice(t, sc, ip)
			mustInvoiceItem(t, sc, &stripe.InvoiceItemParams{Customer: stripe.String(cus.ID), Invoice: stripe.String(inv.ID), Amount: stripe.Int64(1000)})

			// A draft shows the balance it would start from, and nothing
			// applied yet.
			draft, err := sc.Invoices.Get(inv.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			var raw map[string]any
			if err := json.Unmarshal(draft.LastResponse.RawJSON, &raw); err != nil {
				t.Fatal(err)
			}
			if ending, ok := raw["ending_balance"]; draft.StartingBalance != tt.want.Starting || draft.AmountDue != 1000 || !ok || ending != nil {
				t.Errorf("draft starting_balance %d amount_due %d ending_balance %v; want %d, 1000, null", draft.StartingBalance, draft.AmountDue,
					ending, tt.want.Starting)
			}

			events := len(srv.Events())
			got, err := sc.Invoices.FinalizeInvoice(inv.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			var pi int64
			if got.PaymentIntent != nil {
				p, _ := srv.PaymentIntent(got.PaymentIntent.ID)
				pi = p.Amount
			}
			gotBalance := balance{got.StartingBalance, got.EndingBalance, got.AmountDue, got.Status, pi, srv.CustomerBalance(cus.ID)}
			if diff := cmp.Diff(tt.want, gotBalance); diff != "" {
				t.Errorf("balance (-want +got):\n%s", diff)
			}
			if got.Total != 1000 || got.AmountRemaining != map[bool]int64{true: got.AmountDue}[got.Status == "open"] {
				t.Errorf("total %d amount_remaining %d", got.Total, got.AmountRemaining)
			}
			if got.Status == "paid" && got.AmountPaid != 0 {
				t.Errorf("amount_paid = %d, want 0 when the balance paid it", got.AmountPaid)
			}

			var want []*stripe.CustomerBalanceTransaction
			if credit != nil {
				want = append(want, credit)
			}
			if tt.wantApplied != 0 {
				want = append(want, &stripe.CustomerBalanceTransaction{Object: "customer_balance_transaction", Amount: tt.wantApplied,
					Created: srv.Now().Unix(), Currency: stripe.Currency(currency), Customer: &stripe.Customer{ID: cus.ID},
					EndingBalance: tt.want.Ending, Invoice: &stripe.Invoice{ID: inv.ID}, Metadata: map[string]string{}, Type: "applied_to_invoice"})
			}
			opts := cmp.Options{ignoreResponse, cmpopts.IgnoreFields(stripe.CustomerBalanceTransaction{}, "ID")}
			if diff := cmp.Diff(want, srv.BalanceTransactions(cus.ID), opts); diff != "" {
				t.Errorf("BalanceTransactions (-want +got):\n%s", diff)
			}

			// What a webhook handler sees: the customer's balance moving and
			// the finalized invoice with its balance fields.
			var wantPrevious []map[string]any
			if tt.wantApplied != 0 {
				wantPrevious = []map[string]any{{"balance": float64(tt.balance)}}
			}
			if diff := cmp.Diff(wantPrevious, customerUpdates(t, srv, cus.ID, events)); diff != "" {
				t.Errorf("customer.updated previous_attributes (-want +got):\n%s", diff)
			}
			ev, ok := srv.LastEvent("invoice.finalized", inv.ID)
			if !ok {
				t.Fatal("no invoice.finalized")
			}
			var finalized stripe.Invoice
			if err := json.Unmarshal(parseEvent(t, ev.Payload).Data.Raw, &finalized); err != nil {
				t.Fatal(err)
			}
			if finalized.StartingBalance != tt.want.Starting || finalized.EndingBalance != tt.want.Ending || finalized.AmountDue != tt.want.AmountDue ||
				finalized.Status != "open" {
				t.Errorf("invoice.finalized starting %d ending %d amount_due %d status %s", finalized.StartingBalance, finalized.EndingBalance,
					finalized.AmountDue, finalized.Status)
			}
		})
	}
}

// TestDraftsFollowTheBalance checks a draft's starting_balance moves with the
// customer's balance until it is finalized, and no longer after.
func TestDraftsFollowTheBalance(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	first := invoiceIn(t, sc, sendInvoiceParams(cus.ID), "draft")
	second := invoiceIn(t, sc, sendInvoiceParams(cus.ID), "draft")
	mustBalanceTxn(t, sc, balanceParams(cus.ID, -1500))
	events := len(srv.Events())
	startingOf := func(id string) int64 {
		inv, err := sc.Invoices.Get(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		return inv.StartingBalance
	}
	if a, b := startingOf(first.ID), startingOf(second.ID); a != -1500 || b != -1500 {
		t.Errorf("drafts start from %d and %d, want -1500", a, b)
	}
	if _, err := sc.Invoices.FinalizeInvoice(first.ID, nil); err != nil {
		t.Fatal(err)
	}
	if a, b := startingOf(first.ID), startingOf(second.ID); a != -1500 || b != -500 {
		t.Errorf("after finalizing the first: %d and %d, want -1500 and -500", a, b)
	}
	if got, _ := sc.Invoices.FinalizeInvoice(second.ID, nil); got.AmountDue != 500 || got.EndingBalance != 0 {
		t.Errorf("second invoice amount_due %d ending_balance %d, want 500 and 0", got.AmountDue, got.EndingBalance)
	}
	// The drafts' starting_balance follows without invoice.updated.
	for _, e := range srv.Events()[events:] {
		if e.Type == "invoice.updated" {
			t.Errorf("recorded %s", e.Type)
		}
	}
}

func TestVoidGivesBalanceBack(t *testing.T) {
	tests := []struct {
		name        string
		balance     int64
		wantTypes   []stripe.CustomerBalanceTransactionType
		wantAmounts []int64
	}{
		{name: "credit", balance: -300, wantTypes: []stripe.CustomerBalanceTransactionType{"adjustment", "applied_to_invoice", "unapplied_from_invoice"},
			wantAmounts: []int64{-300, 300, -300}},
		{name: "debt", balance: 400, wantTypes: []stripe.CustomerBalanceTransactionType{"adjustment", "applied_to_invoice", "unapplied_from_invoice"},
			wantAmounts: []int64{400, -400, 400}},
		{name: "nothing applied", wantTypes: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			cus := mustCustomer(t, sc, nil)
			if tt.balance != 0 {
				mustBalanceTxn(t, sc, balanceParams(cus.ID, tt.balance))
			}
			inv := invoiceIn(t, sc, sendInvoiceParams(cus.ID), "open")
			if srv.CustomerBalance(cus.ID) != 0 {
				t.Fatalf("balance after finalization = %d, want 0", srv.CustomerBalance(cus.ID))
			}
			events := len(srv.Events())
			srv.Advance(time.Minute)
			voided, err := sc.Invoices.VoidInvoice(inv.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if b := srv.CustomerBalance(cus.ID); b != tt.balance {
				t.Errorf("balance after void = %d, want %d back", b, tt.balance)
			}
			if voided.StartingBalance != tt.balance || voided.EndingBalance != 0 {
				t.Errorf("voided invoice starting %d ending %d, want its finalization values %d and 0", voided.StartingBalance, voided.EndingBalance, tt.balance)
			}
			var types []stripe.CustomerBalanceTransactionType
			var amounts []int64
			txns := srv.BalanceTransactions(cus.ID)
			for _, bt := range txns {
				types, amounts = append(types, bt.Type), append(amounts, bt.Amount)
			}
			if diff := cmp.Diff(tt.wantTypes, types); diff != "" {
				t.Errorf("types (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantAmounts, amounts); diff != "" {
				t.Errorf("amounts (-want +got):\n%s", diff)
			}
			if tt.balance == 0 {
				if p := customerUpdates(t, srv, cus.ID, events); p != nil {
					t.Errorf("void recorded customer.updated %v", p)
				}
				return
			}
			last := txns[len(txns)-1]
			if last.Invoice == nil || last.Invoice.ID != inv.ID || last.EndingBalance != tt.balance || last.Created != srv.Now().Unix() {
				t.Errorf("unapplied transaction = %+v", last)
			}
			if diff := cmp.Diff([]map[string]any{{"balance": float64(0)}}, customerUpdates(t, srv, cus.ID, events)); diff != "" {
				t.Errorf("customer.updated previous_attributes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBalanceEvents checks the events of a flow with a credit verify as
// webhooks and carry what a handler needs.
func TestBalanceEvents(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	bp := balanceParams(cus.ID, -300)
	bp.SetIdempotencyKey("credit")
	mustBalanceTxn(t, sc, bp)
	ip := &stripe.InvoiceParams{Customer: stripe.String(cus.ID)}
	ip.AddMetadata("order", "o-1")
	inv := mustInvoice(t, sc, ip)
	mustInvoiceItem(t, sc, &stripe.InvoiceItemParams{Customer: stripe.String(cus.ID), Invoice: stripe.String(inv.ID), Amount: stripe.Int64(1000)})
	if _, err := sc.Invoices.FinalizeInvoice(inv.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Invoices.VoidInvoice(inv.ID, nil); err != nil {
		t.Fatal(err)
	}

	type seen struct {
		Type     string
		ObjectID string
		Balance  int64 // customer balance, or invoice starting_balance
		Key      string
	}
	want := []seen{
		{"customer.created", cus.ID, 0, ""},
		{"customer.updated", cus.ID, -300, "credit"},
		{"invoice.created", inv.ID, -300, ""},
		{"invoiceitem.created", "", 0, ""},
		{"invoice.updated", inv.ID, -300, ""},
		{"customer.updated", cus.ID, 0, ""},
		{"payment_intent.created", "", 0, ""},
		{"invoice.finalized", inv.ID, -300, ""},
		{"payment_intent.canceled", "", 0, ""},
		{"customer.updated", cus.ID, -300, ""},
		{"invoice.voided", inv.ID, -300, ""},
	}
	var got []seen
	for _, e := range srv.Events() {
		ev, err := webhook.ConstructEvent(e.Payload, stripetest.SignatureHeader(e.Payload, whsec, time.Now()), whsec)
		if err != nil {
			t.Fatalf("event %s does not verify: %v", e.Type, err)
		}
		s := seen{Type: e.Type, Key: ev.Request.IdempotencyKey}
		if s.Key != "credit" {
			s.Key = ""
		}
		switch ev.Data.Object["object"] {
		case "customer":
			var cu stripe.Customer
			if err := json.Unmarshal(ev.Data.Raw, &cu); err != nil {
				t.Fatal(err)
			}
			s.ObjectID, s.Balance = cu.ID, cu.Balance
		case "invoice":
			var inv stripe.Invoice
			if err := json.Unmarshal(ev.Data.Raw, &inv); err != nil {
				t.Fatal(err)
			}
			s.ObjectID, s.Balance = inv.ID, inv.StartingBalance
		}
		got = append(got, s)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	// invoice.created carries what a handler acts on.
	ev, _ := srv.LastEvent("invoice.created", inv.ID)
	obj := parseEvent(t, ev.Payload).Data.Object
	wantCreated := map[string]any{"customer": cus.ID, "status": "draft", "amount_due": float64(0), "total": float64(0),
		"metadata": map[string]any{"order": "o-1"}, "collection_method": "charge_automatically", "starting_balance": float64(-300),
		"ending_balance": nil}
	for k, v := range wantCreated {
		if diff := cmp.Diff(v, obj[k]); diff != "" {
			t.Errorf("invoice.created %s (-want +got):\n%s", k, diff)
		}
	}
}
