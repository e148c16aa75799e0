package closing

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"example.com/billing/shared/ledger"
	"example.com/billing/shared/metering"
)

// topUp is a credited card top-up with left cents still refundable.
func topUp(id string, left int64) ledger.Refundable {
	return ledger.Refundable{Transaction: ledger.Transaction{ID: id, UserID: "u1", Type: ledger.TypeCardTopUp, Amount: 5000,
		RefundedAmount: 5000 - left, Currency: ledger.Currency, Status: ledger.StatusSucceeded, PaymentIntentID: "pi_" + id, Credited: true}, Left: left}
}

func TestSplitBalance(t *testing.T) {
	t.Parallel()
	newest, older := topUp("tx2", 2000), topUp("tx1", 5000)
	cases := []struct {
		name    string
		balance int64
		usage   int64
		sources []ledger.Refundable
		want    balanceSplit
	}{
		{name: "nothing at all", want: balanceSplit{}},
		{name: "usage and no balance", usage: 759, want: balanceSplit{Invoice: 759}},
		{name: "balance short of the usage", balance: 500, usage: 759, want: balanceSplit{Applied: 500, Invoice: 259}},
		{name: "balance exactly the usage", balance: 759, usage: 759, sources: []ledger.Refundable{newest}, want: balanceSplit{Applied: 759}},
		{name: "a debt is billed with the usage", balance: -300, usage: 759, want: balanceSplit{Debt: 300, Invoice: 1059}},
		{name: "a debt and no usage is billed alone", balance: -300, want: balanceSplit{Debt: 300, Invoice: 300}},
		{
			name: "the rest back to the newest card", balance: 2000, usage: 759, sources: []ledger.Refundable{newest, older},
			want: balanceSplit{Applied: 759, Refunds: []cardRefund{{Source: newest, Amount: 1241}}},
		},
		{
			name: "the newest card first, then the older", balance: 3500, usage: 0, sources: []ledger.Refundable{newest, older},
			want: balanceSplit{Refunds: []cardRefund{{Source: newest, Amount: 2000}, {Source: older, Amount: 1500}}},
		},
		{
			name: "more than the cards can take is forfeited", balance: 9000, usage: 500, sources: []ledger.Refundable{newest, older},
			want: balanceSplit{Applied: 500, Refunds: []cardRefund{{Source: newest, Amount: 2000}, {Source: older, Amount: 5000}}, Forfeited: 1500},
		},
		{name: "package credit only is forfeited", balance: 1500, usage: 759, want: balanceSplit{Applied: 759, Forfeited: 741}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := splitBalance(tc.balance, tc.usage, tc.sources)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("splitBalance(%d, %d) (-want +got):\n%s", tc.balance, tc.usage, diff)
			}
			refunded := int64(0)
			for _, r := range got.Refunds {
				refunded += r.Amount
			}
			if tc.balance > 0 && got.Applied+refunded+got.Forfeited != tc.balance {
				t.Errorf("applied %d + refunded %d + forfeited %d != balance %d", got.Applied, refunded, got.Forfeited, tc.balance)
			}
		})
	}
}

func TestLeftAfterUsageNeedsTheSources(t *testing.T) {
	t.Parallel()
	// readMoney reads the refundable top-ups only when this is positive:
	// exactly when splitBalance would give some of the balance back.
	for _, tc := range []struct{ balance, usage, want int64 }{
		{0, 0, 0}, {500, 759, 0}, {759, 759, 0}, {760, 759, 1}, {2000, 0, 2000}, {-300, 0, 0}, {-300, 759, 0},
	} {
		if got := leftAfterUsage(tc.balance, tc.usage); got != tc.want {
			t.Errorf("leftAfterUsage(%d, %d) = %d, want %d", tc.balance, tc.usage, got, tc.want)
		}
	}
}

func TestDecideRequest(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	start, end := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	usage := metering.Bill{Amount: 759, Lines: []metering.Line{
		{Kind: "storage", Description: "Storage: 1 TB-month", Amount: 400},
		{Kind: "egress", Description: "Egress: 0.5 TB", Amount: 350},
		{Kind: "segments", Description: "Segments: 10,000 segment-months", Amount: 9},
	}}
	lines := []Line{
		{Kind: "storage", Description: "Storage: 1 TB-month", Amount: 400},
		{Kind: "egress", Description: "Egress: 0.5 TB", Amount: 350},
		{Kind: "segments", Description: "Segments: 10,000 segment-months", Amount: 9},
	}
	received := end.Add(2 * time.Hour) // the last report's receipt: the bill's cursor
	period := metering.Period{Start: start, End: end, Reports: 30, ReceivedThrough: received}
	card := topUp("tx1", 2000)
	facts := func(change func(*requestFacts)) requestFacts {
		f := requestFacts{UserID: "u1", Now: now, Money: moneyFacts{Period: period, Bill: usage}}
		change(&f)
		return f
	}
	// deletion is the recorded deletion of request 1 with change applied.
	deletion := func(change func(*Deletion)) Deletion {
		d := Deletion{UserID: "u1", Request: 1, RequestedAt: now, UpdatedAt: now, PeriodStart: start, PeriodEnd: end,
			UsageAmount: 759, Lines: lines, Refunds: []Refund{}, NextAttemptAt: &now}
		change(&d)
		return d
	}
	cases := []struct {
		name  string
		facts requestFacts
		want  requestPlan
	}{
		{
			name:  "usage and no balance: the final invoice",
			facts: facts(func(*requestFacts) {}),
			want: requestPlan{BilledThrough: received,
				Deletion: deletion(func(d *Deletion) { d.State, d.InvoiceAmount = StateInvoicing, 759 })},
		},
		{
			name:  "the balance pays part of the usage",
			facts: facts(func(f *requestFacts) { f.Money.Balance = 500 }),
			want: requestPlan{BilledThrough: received,
				Deletion: deletion(func(d *Deletion) { d.State, d.BalanceApplied, d.InvoiceAmount = StateInvoicing, 500, 259 }),
				Entries:  []ledger.Transaction{{ID: "del_1_usage", UserID: "u1", Type: ledger.TypeUsageCharge, Amount: -500, Status: ledger.StatusSucceeded}}},
		},
		{
			name:  "the balance pays all and the rest goes back to the card",
			facts: facts(func(f *requestFacts) { f.Money.Balance, f.Money.Refundable = 2000, []ledger.Refundable{card} }),
			want: requestPlan{BilledThrough: received,
				Deletion: deletion(func(d *Deletion) {
					d.State, d.BalanceApplied = StateRefunding, 759
					d.Refunds = []Refund{{EntryID: "del_1_refund_0", SourceTransactionID: "tx1", PaymentIntentID: "pi_tx1", Amount: 1241}}
				}),
				Entries: []ledger.Transaction{
					{ID: "del_1_usage", UserID: "u1", Type: ledger.TypeUsageCharge, Amount: -759, Status: ledger.StatusSucceeded},
					{ID: "del_1_refund_0", UserID: "u1", Type: ledger.TypeRefund, Amount: -1241, Status: ledger.StatusPending,
						PaymentIntentID: "pi_tx1", SourceTransactionID: "tx1"},
				},
				Refunds: []cardRefund{{Source: card, Amount: 1241}}},
		},
		{
			name:  "package credit is forfeited and the account completes",
			facts: facts(func(f *requestFacts) { f.Money.Balance = 1500 }),
			want: requestPlan{BilledThrough: received,
				Deletion: deletion(func(d *Deletion) { d.State, d.BalanceApplied, d.Forfeited = StateCompleting, 759, 741 }),
				Entries: []ledger.Transaction{
					{ID: "del_1_usage", UserID: "u1", Type: ledger.TypeUsageCharge, Amount: -759, Status: ledger.StatusSucceeded},
					{ID: "del_1_forfeited", UserID: "u1", Type: ledger.TypeBalanceForfeited, Amount: -741, Status: ledger.StatusSucceeded},
				}},
		},
		{
			name: "nothing used, nothing held: straight to completing; the cursor stays",
			facts: facts(func(f *requestFacts) {
				f.Money = moneyFacts{Period: metering.Period{}, Bill: metering.Bill{}}
			}),
			want: requestPlan{
				Deletion: Deletion{UserID: "u1", Request: 1, State: StateCompleting, RequestedAt: now, UpdatedAt: now,
					Lines: []Line{}, Refunds: []Refund{}, NextAttemptAt: &now}},
		},
		{
			name: "a second request after a canceled one numbers its entries anew",
			facts: facts(func(f *requestFacts) {
				f.Previous, f.BilledThrough, f.Money.Balance = 1, start, 100
			}),
			want: requestPlan{BilledThrough: received,
				Deletion: deletion(func(d *Deletion) { d.Request, d.State, d.BalanceApplied, d.InvoiceAmount = 2, StateInvoicing, 100, 659 }),
				Entries:  []ledger.Transaction{{ID: "del_2_usage", UserID: "u1", Type: ledger.TypeUsageCharge, Amount: -100, Status: ledger.StatusSucceeded}}},
		},
		{
			name: "no report since the last bill: the cursor stays",
			facts: facts(func(f *requestFacts) {
				f.BilledThrough = received
				f.Money = moneyFacts{Period: metering.Period{}, Bill: metering.Bill{}}
			}),
			want: requestPlan{BilledThrough: received,
				Deletion: Deletion{UserID: "u1", Request: 1, State: StateCompleting, RequestedAt: now, UpdatedAt: now,
					Lines: []Line{}, Refunds: []Refund{}, NextAttemptAt: &now}},
		},
		{
			name: "late usage: a report for an earlier period received after the last bill is billed now",
			facts: facts(func(f *requestFacts) {
				f.Previous, f.BilledThrough = 1, received.Add(-time.Hour)
				f.Money.Period = metering.Period{Start: start, End: start.Add(time.Hour), Reports: 1, ReceivedThrough: received}
			}),
			want: requestPlan{BilledThrough: received,
				Deletion: deletion(func(d *Deletion) {
					d.Request, d.State, d.InvoiceAmount, d.PeriodEnd = 2, StateInvoicing, 759, start.Add(time.Hour)
				})},
		},
		{
			name:  "a negative balance is billed on the final invoice and the ledger brought to zero",
			facts: facts(func(f *requestFacts) { f.Money.Balance = -300 }),
			want: requestPlan{BilledThrough: received,
				Deletion: deletion(func(d *Deletion) {
					d.State, d.InvoiceAmount = StateInvoicing, 1059
					d.Lines = append(append([]Line{}, lines...), Line{Kind: LineDebt, Amount: 300,
						Description: "Outstanding balance (payments reversed after their credit was used)"})
				}),
				Entries: []ledger.Transaction{{ID: "del_1_debt", UserID: "u1", Type: ledger.TypeDebtInvoiced, Amount: 300, Status: ledger.StatusSucceeded}}},
		},
		{
			name: "the cursor never moves back",
			facts: facts(func(f *requestFacts) {
				f.BilledThrough = received.Add(time.Hour)
			}),
			want: requestPlan{BilledThrough: received.Add(time.Hour),
				Deletion: deletion(func(d *Deletion) { d.State, d.InvoiceAmount = StateInvoicing, 759 })},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := decideRequest(tc.facts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decideRequest (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideRequestBlockedByAPaymentUnderWay(t *testing.T) {
	t.Parallel()
	_, err := decideRequest(requestFacts{UserID: "u1", Now: time.Now(), PendingPayments: 2, Money: moneyFacts{Balance: 2000}})
	var blocked *BlockedError
	if !errors.As(err, &blocked) || !errors.Is(err, ErrBlocked) {
		t.Fatalf("err = %v, want a BlockedError", err)
	}
	want := Check{PendingPayments: 2, Reasons: []string{"A card payment is still in progress; wait until it finishes or expires."}}
	if diff := cmp.Diff(want, blocked.Check); diff != "" {
		t.Errorf("blocking check (-want +got):\n%s", diff)
	}
}
