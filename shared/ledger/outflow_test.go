package ledger

import (
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A top-up of 5000 paid by pi_1, credited, and the same not credited yet.
var (
	creditedTopUp = Transaction{ID: "tx1", UserID: "u1", Type: TypeCardTopUp, Amount: 5000, ChargeAmount: 5000, Currency: Currency,
		Status: StatusSucceeded, Credited: true, PaymentIntentID: "pi_1"}
	pendingTopUp = Transaction{ID: "tx1", UserID: "u1", Type: TypeCardTopUp, Amount: 5000, ChargeAmount: 5000, Currency: Currency,
		Status: StatusPending, PaymentIntentID: "pi_1"}
	creditedPackage = Transaction{ID: "tx1", UserID: "u1", Type: TypePackagePurchase, PackageID: "partner-pro", Amount: 15000, ChargeAmount: 10000,
		Currency: Currency, Status: StatusSucceeded, Credited: true, PaymentIntentID: "pi_1"}
)

func with(t Transaction, change func(*Transaction)) Transaction { change(&t); return t }

func refundEntry(amountRefunded, debit int64) Transaction {
	return Transaction{ID: "refund_tx1_" + strconv.FormatInt(amountRefunded, 10), UserID: "u1", Type: TypeRefund, Amount: -debit,
		Status: StatusSucceeded, PaymentIntentID: "pi_1", SourceTransactionID: "tx1"}
}

func disputeEntry(id string, amount int64) Transaction {
	typ := TypeDispute
	if id == "dispute_dp_1_won" {
		typ = TypeDisputeWon
	}
	return Transaction{ID: id, UserID: "u1", Type: typ, Amount: amount, Status: StatusSucceeded, PaymentIntentID: "pi_1", SourceTransactionID: "tx1"}
}

func outcomeOf(result, detail string, amount int64) Outcome {
	return Outcome{Result: result, Detail: detail, UserID: "u1", TransactionID: "tx1", Amount: amount}
}

// Rule 2 and the refund half of rule 3, decided from plain values.
func TestReverseRefund(t *testing.T) {
	t.Parallel()
	refund := func(total int64) ChargeRefund {
		return ChargeRefund{PaymentIntentID: "pi_1", ChargeID: "ch_1", AmountRefunded: total, AmountCaptured: 5000, Currency: Currency}
	}
	cases := []struct {
		name   string
		stored Transaction
		refund ChargeRefund
		acct   accountFacts
		want   Settlement
	}{
		{
			name: "a first partial refund", stored: creditedTopUp, refund: refund(1500),
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", -1500), Entries: []Transaction{refundEntry(1500, 1500)},
				Change: &TopUpChange{Status: StatusSucceeded, Refunded: new(int64(1500))}},
		},
		{
			name: "the second refund, in order, debits only what is new", stored: with(creditedTopUp, func(t *Transaction) { t.RefundedAmount = 1500 }),
			refund: refund(5000),
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", -3500), Entries: []Transaction{refundEntry(5000, 3500)},
				Change: &TopUpChange{Status: StatusRefunded, Refunded: new(int64(5000))}},
		},
		{
			name: "a stale report changes nothing", stored: with(creditedTopUp, func(t *Transaction) { t.RefundedAmount = 5000 }),
			refund: refund(1500), want: Settlement{Outcome: outcomeOf(ResultUnchanged, "refund already known", 0)},
		},
		{
			name: "a refund before the payment's success credits what it proves, then debits", stored: pendingTopUp, refund: refund(5000),
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", 0), Credit: 5000, Entries: []Transaction{refundEntry(5000, 5000)},
				Change: &TopUpChange{Status: StatusRefunded, Credited: true, Refunded: new(int64(5000))}},
		},
		{
			name:   "a refund before the success of a payment the top-up does not match moves nothing",
			stored: pendingTopUp, refund: func() ChargeRefund { r := refund(5000); r.Currency = "eur"; return r }(),
			want: Settlement{Outcome: outcomeOf(ResultUnmatched, `refund of a payment that is not credited: paid in "eur", transaction is in "usd"`, 0)},
		},
		{
			name: "money a dispute already took back is not debited twice", stored: with(creditedTopUp, func(t *Transaction) { t.DisputedAmount = 5000 }),
			refund: refund(5000),
			want: Settlement{Outcome: outcomeOf(ResultApplied, "a dispute already took this money back", 0),
				Change: &TopUpChange{Status: StatusRefunded, Refunded: new(int64(5000))}},
		},
		{
			name: "a partial dispute and a full refund debit the charge once", stored: with(creditedTopUp, func(t *Transaction) { t.DisputedAmount = 2000 }),
			refund: refund(5000),
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", -3000), Entries: []Transaction{refundEntry(5000, 3000)},
				Change: &TopUpChange{Status: StatusRefunded, Refunded: new(int64(5000))}},
		},
		{
			name: "a package's partial refund debits its share of the credit", stored: creditedPackage, refund: refund(5000),
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", -7500), Entries: []Transaction{refundEntry(5000, 7500)},
				Change: &TopUpChange{Status: StatusSucceeded, Refunded: new(int64(5000))}},
		},
		{
			name: "a package refunded in full is refunded, its whole credit debited", stored: creditedPackage,
			refund: ChargeRefund{PaymentIntentID: "pi_1", ChargeID: "ch_1", AmountRefunded: 10000, AmountCaptured: 10000, Currency: Currency},
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", -15000), Entries: []Transaction{refundEntry(10000, 15000)},
				Change: &TopUpChange{Status: StatusRefunded, Refunded: new(int64(10000))}},
		},
		{
			name:   "a second package refunded before its success is credited at its price",
			stored: with(creditedPackage, func(t *Transaction) { t.Credited, t.Status = false, StatusPending }), acct: accountFacts{Plan: "partner-pro"},
			refund: ChargeRefund{PaymentIntentID: "pi_1", AmountRefunded: 10000, AmountCaptured: 10000, Currency: Currency},
			want: Settlement{Outcome: outcomeOf(ResultApplied, "the account already holds plan partner-pro; credited at its price", 0), Credit: 10000,
				Entries: []Transaction{refundEntry(10000, 10000)},
				Change:  &TopUpChange{Status: StatusRefunded, Credited: true, Amount: new(int64(10000)), Refunded: new(int64(10000))}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := reverseRefund(tc.stored, tc.refund, tc.acct)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("reverseRefund (-want +got):\n%s", diff)
			}
		})
	}
}

// Rule 3: the balance follows the dispute's funds, never its inquiries.
func TestReverseDispute(t *testing.T) {
	t.Parallel()
	dispute := func(status, stage string, withdrawals, reinstatements int) Dispute {
		return Dispute{ID: "dp_1", PaymentIntentID: "pi_1", Amount: 2000, Currency: Currency, Status: status, Stage: stage,
			Withdrawals: withdrawals, Reinstatements: reinstatements}
	}
	withdrawn := with(creditedTopUp, func(t *Transaction) { t.DisputedAmount = 2000 })
	withdrawal := disputeEntry("dispute_dp_1", -2000)
	reinstatement := disputeEntry("dispute_dp_1_won", 2000)
	cases := []struct {
		name    string
		stored  Transaction
		dispute Dispute
		rec     disputeRecord
		want    Settlement
	}{
		{name: "an inquiry opens: nothing moves", stored: creditedTopUp, dispute: dispute("warning_needs_response", "", 0, 0),
			want: Settlement{Outcome: outcomeOf(ResultUnchanged, "no funds withdrawn (status warning_needs_response)", 0)}},
		{name: "an inquiry under review: nothing moves", stored: creditedTopUp, dispute: dispute("warning_under_review", "", 0, 0),
			want: Settlement{Outcome: outcomeOf(ResultUnchanged, "no funds withdrawn (status warning_under_review)", 0)}},
		{name: "an inquiry closes: nothing moves", stored: creditedTopUp, dispute: dispute("warning_closed", "", 0, 0),
			want: Settlement{Outcome: outcomeOf(ResultUnchanged, "no funds withdrawn (status warning_closed)", 0)}},
		{name: "a chargeback reported before its funds move: nothing yet", stored: creditedTopUp, dispute: dispute("needs_response", "", 0, 0),
			want: Settlement{Outcome: outcomeOf(ResultUnchanged, "no funds withdrawn (status needs_response)", 0)}},
		{name: "funds withdrawn: debited", stored: creditedTopUp, dispute: dispute("needs_response", DisputeFundsWithdrawn, 1, 0),
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", -2000), Entries: []Transaction{withdrawal},
				Change: &TopUpChange{Status: StatusSucceeded, ChargedBack: true, Disputed: new(int64(2000))}}},
		{name: "created with its withdrawal: debited", stored: creditedTopUp, dispute: dispute("needs_response", "", 1, 0),
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", -2000), Entries: []Transaction{withdrawal},
				Change: &TopUpChange{Status: StatusSucceeded, ChargedBack: true, Disputed: new(int64(2000))}}},
		{name: "the withdrawal reported again", stored: withdrawn, dispute: dispute("under_review", "", 1, 0), rec: disputeRecord{Withdrawal: true},
			want: Settlement{Outcome: outcomeOf(ResultUnchanged, "already recorded", 0)}},
		{name: "funds reinstated: credited back", stored: withdrawn, dispute: dispute("won", DisputeFundsReinstated, 1, 1), rec: disputeRecord{Withdrawal: true},
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", 2000), Entries: []Transaction{reinstatement},
				Change: &TopUpChange{Status: StatusSucceeded, Disputed: new(int64(0))}}},
		{name: "lost: the debit stands", stored: withdrawn, dispute: dispute("lost", "", 1, 0), rec: disputeRecord{Withdrawal: true},
			want: Settlement{Outcome: outcomeOf(ResultUnchanged, "already recorded", 0)}},
		{name: "lost, the first report: debited", stored: creditedTopUp, dispute: dispute("lost", "", 0, 0),
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", -2000), Entries: []Transaction{withdrawal},
				Change: &TopUpChange{Status: StatusSucceeded, ChargedBack: true, Disputed: new(int64(2000))}}},
		{name: "won reported first: both entries, nothing moves", stored: creditedTopUp, dispute: dispute("won", "", 1, 1),
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", 0), Entries: []Transaction{withdrawal, reinstatement},
				Change: &TopUpChange{Status: StatusSucceeded, ChargedBack: true, Disputed: new(int64(0))}}},
		{name: "won before the payment's success: credited, nothing else moves", stored: pendingTopUp, dispute: dispute("won", "", 1, 1),
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", 5000), Credit: 5000, Entries: []Transaction{withdrawal, reinstatement},
				Change: &TopUpChange{Status: StatusSucceeded, Credited: true, ChargedBack: true, Disputed: new(int64(0))}}},
		{name: "withdrawn before the payment's success: credited and debited together", stored: pendingTopUp, dispute: dispute("needs_response", DisputeFundsWithdrawn, 1, 0),
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", 3000), Credit: 5000, Entries: []Transaction{withdrawal},
				Change: &TopUpChange{Status: StatusSucceeded, Credited: true, ChargedBack: true, Disputed: new(int64(2000))}}},
		{name: "a charge refunded in full and then disputed is debited once",
			stored: with(creditedTopUp, func(t *Transaction) { t.RefundedAmount, t.Status = 5000, StatusRefunded }), dispute: dispute("needs_response", DisputeFundsWithdrawn, 1, 0),
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", 0), Entries: []Transaction{disputeEntry("dispute_dp_1", 0)},
				Change: &TopUpChange{Status: StatusRefunded, ChargedBack: true, Disputed: new(int64(2000))}}},
		{name: "a charge partly refunded and then disputed in full is debited once",
			stored:  with(creditedTopUp, func(t *Transaction) { t.RefundedAmount = 4000 }),
			dispute: func() Dispute { d := dispute("needs_response", DisputeFundsWithdrawn, 1, 0); d.Amount = 5000; return d }(),
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", -1000), Entries: []Transaction{disputeEntry("dispute_dp_1", -1000)},
				Change: &TopUpChange{Status: StatusSucceeded, ChargedBack: true, Disputed: new(int64(5000))}}},
		{name: "a reinstatement already recorded", stored: creditedTopUp, dispute: dispute("won", DisputeFundsReinstated, 1, 1),
			rec: disputeRecord{Withdrawal: true, Reinstatement: true}, want: Settlement{Outcome: outcomeOf(ResultUnchanged, "already recorded", 0)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := reverseDispute(tc.stored, tc.dispute, tc.rec, accountFacts{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("reverseDispute (-want +got):\n%s", diff)
			}
		})
	}
}
