package stripetest_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v76"
)

// creditParams is a balance transaction as the port creates one: a credit
// (negative amount) in usd, tagged with the ledger entry it carries out.
func creditParams(customerID string, amount int64, entryID string) *stripe.CustomerBalanceTransactionParams {
	p := &stripe.CustomerBalanceTransactionParams{Customer: stripe.String(customerID), Amount: stripe.Int64(amount),
		Currency: stripe.String("usd"), Description: stripe.String("Prepaid balance applied")}
	p.AddMetadata("ledger_entry", entryID)
	return p
}

func TestBalanceTransactionCreate(t *testing.T) {
	tests := []struct {
		name        string
		prior       int64 // a usd transaction made first, if not 0
		params      func(customerID string) *stripe.CustomerBalanceTransactionParams
		wantBalance int64
		wantErr     *apiErr
	}{
		{name: "a credit", params: func(cus string) *stripe.CustomerBalanceTransactionParams { return creditParams(cus, -2000, "e1") },
			wantBalance: -2000},
		{name: "a debit after a credit", prior: -2000, params: func(cus string) *stripe.CustomerBalanceTransactionParams { return creditParams(cus, 500, "e2") },
			wantBalance: -1500},
		{name: "zero", params: func(cus string) *stripe.CustomerBalanceTransactionParams { return creditParams(cus, 0, "e1") },
			wantErr: invalid("", "amount", "The amount of a customer balance transaction must be non-zero.")},
		{name: "no currency", params: func(cus string) *stripe.CustomerBalanceTransactionParams {
			return &stripe.CustomerBalanceTransactionParams{Customer: stripe.String(cus), Amount: stripe.Int64(-100)}
		}, wantErr: invalid("parameter_missing", "currency", "")},
		{name: "another currency than the balance's", prior: -100, params: func(cus string) *stripe.CustomerBalanceTransactionParams {
			p := creditParams(cus, -100, "e2")
			p.Currency = stripe.String("eur")
			return p
		}, wantBalance: -100, wantErr: invalid("", "currency", "")},
		{name: "unknown customer", params: func(string) *stripe.CustomerBalanceTransactionParams { return creditParams("cus_nope", -100, "e1") },
			wantErr: &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "customer", Msg: "No such customer: 'cus_nope'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			cus := mustCustomer(t, sc, nil)
			if tt.prior != 0 {
				if _, err := sc.CustomerBalanceTransactions.New(creditParams(cus.ID, tt.prior, "prior")); err != nil {
					t.Fatal(err)
				}
			}
			got, err := sc.CustomerBalanceTransactions.New(tt.params(cus.ID))
			checkErr(t, err, tt.wantErr)
			if b := srv.CustomerBalance(cus.ID); b != tt.wantBalance {
				t.Errorf("balance = %d, want %d", b, tt.wantBalance)
			}
			if err != nil {
				return
			}
			p := tt.params(cus.ID)
			if got.Amount != *p.Amount || got.Currency != "usd" || got.EndingBalance != tt.wantBalance || got.Type != "adjustment" ||
				got.Customer.ID != cus.ID || got.Description != "Prepaid balance applied" || got.Metadata["ledger_entry"] != p.Metadata["ledger_entry"] {
				t.Errorf("transaction = %+v", got)
			}
			if txns := srv.BalanceTransactions(cus.ID); len(txns) == 0 || txns[len(txns)-1].ID != got.ID {
				t.Errorf("BalanceTransactions() = %v", txns)
			}
			if len(srv.Events()) != 0 {
				t.Error("a balance transaction recorded an event")
			}
		})
	}
}

// TestBalanceTransactionList lists a customer's transactions, newest
// first, across pages, as the port does to find the one carrying out an
// entry.
func TestBalanceTransactionList(t *testing.T) {
	_, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	other := mustCustomer(t, sc, nil)
	for _, e := range []string{"e1", "e2", "e3"} {
		for _, c := range []string{cus.ID, other.ID} {
			if _, err := sc.CustomerBalanceTransactions.New(creditParams(c, -100, e+c)); err != nil {
				t.Fatal(err)
			}
		}
	}
	list := func(customerID string) ([]string, error) {
		p := &stripe.CustomerBalanceTransactionListParams{Customer: stripe.String(customerID)}
		p.Limit = stripe.Int64(2)
		var entries []string
		it := sc.CustomerBalanceTransactions.List(p)
		for it.Next() {
			entries = append(entries, it.CustomerBalanceTransaction().Metadata["ledger_entry"])
		}
		return entries, it.Err()
	}
	got, err := list(cus.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"e3" + cus.ID, "e2" + cus.ID, "e1" + cus.ID}, got); diff != "" {
		t.Errorf("transactions (-want +got):\n%s", diff)
	}
	_, err = list("cus_nope")
	checkErr(t, err, &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "customer", Msg: "No such customer: 'cus_nope'"})
}

// TestInvoiceAppliesCustomerBalance: finalizing an invoice uses the
// customer's balance as Stripe does, which is how the port's credits pay
// invoices.
func TestInvoiceAppliesCustomerBalance(t *testing.T) {
	tests := []struct {
		name        string
		balance     int64 // before finalization; negative is a credit
		lines       []int64
		wantDue     int64
		wantStatus  stripe.InvoiceStatus
		wantBalance int64 // after
		wantApplied []int64
	}{
		{name: "credit covers the invoice", balance: -3000, lines: []int64{2000}, wantDue: 0, wantStatus: "paid", wantBalance: -1000, wantApplied: []int64{2000}},
		{name: "credit covers part", balance: -1500, lines: []int64{2000}, wantDue: 500, wantStatus: "open", wantBalance: 0, wantApplied: []int64{1500}},
		{name: "a debt is collected whole", balance: 300, lines: []int64{2000}, wantDue: 2300, wantStatus: "open", wantBalance: 0, wantApplied: []int64{-300}},
		{name: "no balance", lines: []int64{2000}, wantDue: 2000, wantStatus: "open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newDouble(t)
			cus := mustCustomer(t, sc, nil)
			if tt.balance != 0 {
				if _, err := sc.CustomerBalanceTransactions.New(creditParams(cus.ID, tt.balance, "start")); err != nil {
					t.Fatal(err)
				}
			}
			inv := openInvoice(t, sc, cus.ID, tt.lines...)
			if inv.AmountDue != tt.wantDue || inv.Status != tt.wantStatus || inv.StartingBalance != tt.balance || inv.EndingBalance != tt.wantBalance {
				t.Errorf("invoice due %d %s, balance %d -> %d; want %d %s, %d -> %d", inv.AmountDue, inv.Status, inv.StartingBalance, inv.EndingBalance,
					tt.wantDue, tt.wantStatus, tt.balance, tt.wantBalance)
			}
			if b := srv.CustomerBalance(cus.ID); b != tt.wantBalance {
				t.Errorf("customer balance = %d, want %d", b, tt.wantBalance)
			}
			var applied []int64
			for _, bt := range srv.BalanceTransactions(cus.ID) {
				if bt.Type == "applied_to_invoice" {
					applied = append(applied, bt.Amount)
					if bt.Invoice == nil || bt.Invoice.ID != inv.ID {
						t.Errorf("applied to %v, want %s", bt.Invoice, inv.ID)
					}
				}
			}
			if diff := cmp.Diff(tt.wantApplied, applied); diff != "" {
				t.Errorf("applied_to_invoice amounts (-want +got):\n%s", diff)
			}
		})
	}
}
