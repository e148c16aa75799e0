package ledger

import (
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/google/go-cmp/cmp"
)

func TestSettle(t *testing.T) {
	t.Parallel()
	pending := Transaction{ID: "tx1", UserID: "u1", Type: TypeCardTopUp, Amount: 2500, ChargeAmount: 2500, Currency: Currency,
		Status: StatusPending, PaymentIntentID: "pi_1"}
	with := func(t Transaction, change func(*Transaction)) *Transaction { change(&t); return &t }
	pkg := with(pending, func(t *Transaction) {
		t.Type, t.PackageID, t.Amount, t.ChargeAmount = TypePackagePurchase, "partner-pro", 15000, 10000
	})
	paid := Payment{UserID: "u1", TransactionID: "tx1", PaymentIntentID: "pi_1", Status: StatusSucceeded, AmountReceived: 2500, Currency: Currency}
	pay := func(change func(*Payment)) Payment { p := paid; change(&p); return p }
	failed := pay(func(p *Payment) {
		p.Status, p.AmountReceived, p.FailureCode, p.FailureMessage = StatusFailed, 0, "card_declined", "Your card was declined."
	})
	outcome := func(result, detail string, amount int64) Outcome {
		return Outcome{Result: result, Detail: detail, UserID: "u1", TransactionID: "tx1", Amount: amount}
	}
	cases := []struct {
		name    string
		payment Payment
		stored  *Transaction
		acct    accountFacts
		want    Settlement
	}{
		// Successes.
		{
			name: "card top-up paid in full", payment: paid, stored: &pending,
			want: Settlement{Outcome: outcome(ResultApplied, "", 2500), Credit: 2500,
				Change: &TopUpChange{Status: StatusSucceeded, Credited: true}},
		},
		{
			name: "card top-up credits what was received", payment: pay(func(p *Payment) { p.AmountReceived = 2400 }), stored: &pending,
			want: Settlement{Outcome: outcome(ResultApplied, "", 2400), Credit: 2400,
				Change: &TopUpChange{Status: StatusSucceeded, Credited: true, Amount: new(int64(2400))}},
		},
		{
			name: "paid before the intent was recorded", payment: paid, stored: with(pending, func(t *Transaction) { t.PaymentIntentID = "" }),
			want: Settlement{Outcome: outcome(ResultApplied, "", 2500), Credit: 2500, IndexIntent: true,
				Change: &TopUpChange{Status: StatusSucceeded, Credited: true, PaymentIntentID: new("pi_1")}},
		},
		{
			name: "success after a declined card clears the failure and indexes the intent", payment: paid,
			stored: with(pending, func(t *Transaction) {
				t.Status, t.FailureCode, t.FailureMessage = StatusFailed, "card_declined", "declined"
			}),
			want: Settlement{Outcome: outcome(ResultApplied, "", 2500), Credit: 2500, IndexIntent: true,
				Change: &TopUpChange{Status: StatusSucceeded, Credited: true, Failure: &Failure{}}},
		},
		{
			name: "package credits its credit and sets the plan", payment: pay(func(p *Payment) { p.AmountReceived = 10000 }), stored: pkg,
			want: Settlement{Outcome: outcome(ResultApplied, "", 15000), Credit: 15000, Plan: "partner-pro",
				Change: &TopUpChange{Status: StatusSucceeded, Credited: true}},
		},
		{
			name: "a second package paid while the account holds a plan is credited at its price", payment: pay(func(p *Payment) { p.AmountReceived = 10000 }),
			stored: pkg, acct: accountFacts{Plan: "partner-pro"},
			want: Settlement{Outcome: outcome(ResultApplied, "the account already holds plan partner-pro; credited at its price", 10000), Credit: 10000,
				Change: &TopUpChange{Status: StatusSucceeded, Credited: true, Amount: new(int64(10000))}},
		},
		{
			name: "package overpaid still credits its credit", payment: pay(func(p *Payment) { p.AmountReceived = 12000 }), stored: pkg,
			want: Settlement{Outcome: outcome(ResultApplied, "", 15000), Credit: 15000, Plan: "partner-pro",
				Change: &TopUpChange{Status: StatusSucceeded, Credited: true}},
		},
		{
			name: "a second report of a credited payment", payment: paid,
			stored: with(pending, func(t *Transaction) { t.Status, t.Credited = StatusSucceeded, true }),
			want:   Settlement{Outcome: outcome(ResultUnchanged, "already credited", 0)},
		},
		{
			name: "a success after a refund is not credited again", payment: paid,
			stored: with(pending, func(t *Transaction) { t.Status, t.Credited, t.RefundedAmount = StatusRefunded, true, 2500 }),
			want:   Settlement{Outcome: outcome(ResultUnchanged, "already credited", 0)},
		},
		// Successes that do not match their top-up.
		{
			name: "paid in another currency", payment: pay(func(p *Payment) { p.Currency = "eur" }), stored: &pending,
			want: Settlement{Outcome: outcome(ResultUnmatched, `paid in "eur", transaction is in "usd"`, 0)},
		},
		{
			name: "nothing received", payment: pay(func(p *Payment) { p.AmountReceived = 0 }), stored: &pending,
			want: Settlement{Outcome: outcome(ResultUnmatched, "succeeded with nothing received", 0)},
		},
		{
			name: "package underpaid", payment: pay(func(p *Payment) { p.AmountReceived = 9999 }), stored: pkg,
			want: Settlement{Outcome: outcome(ResultUnmatched, "received 9999, the package costs 10000", 0)},
		},
		{
			name: "another intent's transaction", payment: pay(func(p *Payment) { p.PaymentIntentID = "pi_2" }), stored: &pending,
			want: Settlement{Outcome: outcome(ResultUnmatched, "transaction belongs to payment intent pi_1", 0)},
		},
		{
			name: "no such transaction", payment: paid, stored: nil,
			want: Settlement{Outcome: outcome(ResultUnmatched, "no such transaction", 0)},
		},
		{
			name: "metadata without a user", payment: pay(func(p *Payment) { p.UserID = "" }), stored: nil,
			want: Settlement{Outcome: Outcome{Result: ResultUnmatched, Detail: "payment intent has no valid user_id/transaction_id metadata", TransactionID: "tx1"}},
		},
		{
			name: "metadata with a path for a transaction", payment: pay(func(p *Payment) { p.TransactionID = "tx1/x" }), stored: nil,
			want: Settlement{Outcome: Outcome{Result: ResultUnmatched, Detail: "payment intent has no valid user_id/transaction_id metadata", UserID: "u1", TransactionID: "tx1/x"}},
		},
		// Failures and cancellations.
		{
			name: "declined", payment: failed, stored: &pending,
			want: Settlement{Outcome: outcome(ResultApplied, "", 0),
				Change: &TopUpChange{Status: StatusFailed, Failure: &Failure{Code: "card_declined", Message: "Your card was declined."}}},
		},
		{
			name: "declined before the intent was recorded: recorded and indexed", payment: failed,
			stored: with(pending, func(t *Transaction) { t.PaymentIntentID = "" }),
			want: Settlement{Outcome: outcome(ResultApplied, "", 0), IndexIntent: true,
				Change: &TopUpChange{Status: StatusFailed, PaymentIntentID: new("pi_1"), Failure: &Failure{Code: "card_declined", Message: "Your card was declined."}}},
		},
		{
			name: "canceled without a reason", payment: pay(func(p *Payment) { p.Status, p.AmountReceived = StatusCanceled, 0 }), stored: &pending,
			want: Settlement{Outcome: outcome(ResultApplied, "", 0),
				Change: &TopUpChange{Status: StatusCanceled, Failure: &Failure{}}},
		},
		{
			name: "declined again with another code", payment: failed,
			stored: with(pending, func(t *Transaction) { t.Status, t.FailureCode = StatusFailed, "expired_card" }),
			want: Settlement{Outcome: outcome(ResultApplied, "", 0), IndexIntent: true,
				Change: &TopUpChange{Status: StatusFailed, Failure: &Failure{Code: "card_declined", Message: "Your card was declined."}}},
		},
		{
			name: "the same decline reported twice", payment: failed,
			stored: with(pending, func(t *Transaction) { t.Status, t.FailureCode = StatusFailed, "card_declined" }),
			want:   Settlement{Outcome: outcome(ResultUnchanged, "", 0)},
		},
		{
			name: "a late failure never undoes a success", payment: failed,
			stored: with(pending, func(t *Transaction) { t.Status, t.Credited = StatusSucceeded, true }),
			want:   Settlement{Outcome: outcome(ResultUnchanged, "already succeeded", 0)},
		},
		{
			name: "a late cancellation of a refunded top-up", payment: pay(func(p *Payment) { p.Status = StatusCanceled }),
			stored: with(pending, func(t *Transaction) { t.Status, t.Credited = StatusRefunded, true }),
			want:   Settlement{Outcome: outcome(ResultUnchanged, "already succeeded", 0)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := settle(tc.payment, tc.stored, tc.acct)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("settle (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSettleUnknownStatus(t *testing.T) {
	t.Parallel()
	stored := Transaction{ID: "tx1", UserID: "u1", Type: TypeCardTopUp, Amount: 2500, Currency: Currency, Status: StatusPending}
	_, err := settle(Payment{UserID: "u1", TransactionID: "tx1", Status: "requires_action"}, &stored, accountFacts{})
	if err == nil || !strings.Contains(err.Error(), `unknown payment status "requires_action"`) {
		t.Errorf("settle = %v, want an unknown status error", err)
	}
}

func TestTopUpChangeUpdates(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		change TopUpChange
		want   []firestore.Update
	}{
		{
			name:   "credit, the least written",
			change: TopUpChange{Status: StatusSucceeded, Credited: true},
			want: []firestore.Update{{Path: "status", Value: StatusSucceeded}, {Path: "credited", Value: true},
				{Path: "creditedAt", Value: now}, {Path: "updatedAt", Value: now}},
		},
		{
			name:   "credit with everything changing",
			change: TopUpChange{Status: StatusSucceeded, Credited: true, Amount: new(int64(2400)), PaymentIntentID: new("pi_1"), Failure: &Failure{}},
			want: []firestore.Update{{Path: "status", Value: StatusSucceeded}, {Path: "credited", Value: true},
				{Path: "creditedAt", Value: now}, {Path: "updatedAt", Value: now}, {Path: "amount", Value: int64(2400)},
				{Path: "paymentIntentId", Value: "pi_1"}, {Path: "failureCode", Value: firestore.Delete}, {Path: "failureMessage", Value: firestore.Delete}},
		},
		{
			name:   "failure with a code and no message",
			change: TopUpChange{Status: StatusFailed, PaymentIntentID: new("pi_1"), Failure: &Failure{Code: "card_declined"}},
			want: []firestore.Update{{Path: "status", Value: StatusFailed}, {Path: "updatedAt", Value: now},
				{Path: "paymentIntentId", Value: "pi_1"}, {Path: "failureCode", Value: "card_declined"}, {Path: "failureMessage", Value: firestore.Delete}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, tc.change.updates(now)); diff != "" {
				t.Errorf("updates (-want +got):\n%s", diff)
			}
		})
	}
}
