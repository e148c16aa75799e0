package ledger_test

import (
	"context"
	"errors"
	"testing"

	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/testenv"
)

// A top-up recorded a moment ago and taken back by its creator leaves
// nothing; one that a retry of the same request touched first, or that has
// its intent, stays; touching one taken back says so.
func TestAbandonTakesBackOnlyAnUntouchedTopUp(t *testing.T) {
	t.Parallel()
	l := ledger.New(testenv.Firestore(t))
	ctx := context.Background()
	begin := func(id string) {
		t.Helper()
		if _, created, err := l.BeginTopUp(ctx, ledger.TopUp{UserID: "u1", ID: id, Type: ledger.TypeCardTopUp, Amount: 1000, Currency: ledger.Currency}); err != nil || !created {
			t.Fatalf("begin %s: created %v, %v", id, created, err)
		}
	}
	cases := []struct {
		name      string
		before    func(id string)
		abandoned bool
	}{
		{name: "untouched", before: func(string) {}, abandoned: true},
		{name: "touched by a retry", abandoned: false, before: func(id string) {
			if err := l.TouchTopUp(ctx, "u1", id); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "with its intent", abandoned: false, before: func(id string) {
			if err := l.AttachNewPaymentIntent(ctx, "u1", id, "pi_"+id); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for i, tc := range cases {
		id := "tx_" + string(rune('a'+i))
		begin(id)
		tc.before(id)
		got, err := l.AbandonTopUp(ctx, "u1", id)
		if err != nil || got != tc.abandoned {
			t.Errorf("%s: abandoned %v, %v; want %v", tc.name, got, err, tc.abandoned)
		}
		_, err = l.Transaction(ctx, "u1", id)
		if gone := errors.Is(err, ledger.ErrNotFound); gone != tc.abandoned {
			t.Errorf("%s: gone %v, want %v", tc.name, gone, tc.abandoned)
		}
	}
	if err := l.TouchTopUp(ctx, "u1", "tx_a"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("touching a top-up taken back: %v, want ErrNotFound", err)
	}
}
