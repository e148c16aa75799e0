package ledger

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A reinstatement gives back at most what disputes withdrew: a report of
// funds reinstated for more than the top-up records as disputed (its
// withdrawal recorded, the disputed amount already back to zero) credits
// nothing, and the disputed amount never goes negative.
func TestReinstatementCreditsAtMostWhatWasWithdrawn(t *testing.T) {
	t.Parallel()
	won := Dispute{ID: "dp_1", PaymentIntentID: "pi_1", Amount: 2000, Currency: Currency, Status: "won",
		Stage: DisputeFundsReinstated, Withdrawals: 1, Reinstatements: 1}
	cases := []struct {
		name     string
		disputed int64
		want     Settlement
	}{
		{name: "nothing left disputed", disputed: 0,
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", 0), Entries: []Transaction{disputeEntry("dispute_dp_1_won", 0)},
				Change: &TopUpChange{Status: StatusSucceeded, Disputed: new(int64(0))}}},
		{name: "less disputed than the dispute's amount", disputed: 500,
			want: Settlement{Outcome: outcomeOf(ResultApplied, "", 500), Entries: []Transaction{disputeEntry("dispute_dp_1_won", 500)},
				Change: &TopUpChange{Status: StatusSucceeded, Disputed: new(int64(0))}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stored := with(creditedTopUp, func(t *Transaction) { t.DisputedAmount = tc.disputed })
			got, err := reverseDispute(stored, won, disputeRecord{Withdrawal: true}, accountFacts{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("reverseDispute (-want +got):\n%s", diff)
			}
		})
	}
}
