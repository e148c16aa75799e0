package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/google/go-cmp/cmp"

	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/testenv"
)

// topUp records a pending top-up with a payment intent, as AddFunds does.
func topUp(t *testing.T, l *ledger.Ledger, userID, txID string, amount int64) {
	t.Helper()
	ctx := context.Background()
	if _, _, err := l.BeginTopUp(ctx, ledger.TopUp{UserID: userID, ID: txID, Type: ledger.TypeCardTopUp, Amount: amount, Currency: ledger.Currency}); err != nil {
		t.Fatal(err)
	}
	if err := l.AttachPaymentIntent(ctx, userID, txID, "pi_"+txID); err != nil {
		t.Fatal(err)
	}
}

func succeeded(userID, txID string, amount int64) ledger.Payment {
	return ledger.Payment{UserID: userID, TransactionID: txID, PaymentIntentID: "pi_" + txID, Status: ledger.StatusSucceeded, AmountReceived: amount, Currency: ledger.Currency}
}

func balance(t *testing.T, l *ledger.Ledger, userID string) int64 {
	t.Helper()
	b, err := l.Balance(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return b.Amount
}

func eventRecords(t *testing.T, fs *firestore.Client) map[string]map[string]any {
	t.Helper()
	snaps, err := fs.Collection(ledger.EventsCollection).Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, s := range snaps {
		out[s.Ref.ID] = s.Data()
	}
	return out
}

func TestSameEventConcurrentlyAndAgainCreditsOnce(t *testing.T) {
	t.Parallel()
	fs := testenv.Firestore(t)
	l := ledger.New(fs)
	ctx := context.Background()
	topUp(t, l, "u1", "tx1", 2500)

	ev := ledger.Event{ID: "evt_1", Type: "payment_intent.succeeded", ObjectID: "pi_tx1"}
	results := make([]string, 3)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			out, err := l.Process(ctx, ev, l.SettleTopUp(succeeded("u1", "tx1", 2500)))
			if err != nil {
				t.Error(err)
			}
			results[i] = out.Result
		})
	}
	wg.Wait()
	out, err := l.Process(ctx, ev, l.SettleTopUp(succeeded("u1", "tx1", 2500)))
	if err != nil {
		t.Fatal(err)
	}
	results = append(results, out.Result)

	applied := 0
	for _, r := range results {
		if r == ledger.ResultApplied {
			applied++
		} else if r != ledger.ResultDuplicate {
			t.Errorf("result %q, want applied or duplicate", r)
		}
	}
	if applied != 1 {
		t.Errorf("applied %d times (%v), want once", applied, results)
	}
	if got := balance(t, l, "u1"); got != 2500 {
		t.Errorf("balance = %d, want 2500", got)
	}
	tx, err := l.Transaction(ctx, "u1", "tx1")
	if err != nil {
		t.Fatal(err)
	}
	if tx.Status != ledger.StatusSucceeded || !tx.Credited {
		t.Errorf("transaction = %+v, want succeeded and credited", tx)
	}
}

func TestConcurrentTopUpsForOneUserCreditTheExactSum(t *testing.T) {
	t.Parallel()
	fs := testenv.Firestore(t)
	l := ledger.New(fs)
	ctx := context.Background()
	const n = 20
	var want int64
	for i := range n {
		amount := int64(1000 + 137*i)
		want += amount
		topUp(t, l, "u1", fmt.Sprintf("tx%02d", i), amount)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("tx%02d", i)
			ev := ledger.Event{ID: "evt_" + id, Type: "payment_intent.succeeded"}
			// Stripe retries a failed delivery; so does this test.
			for attempt := 0; ; attempt++ {
				out, err := l.Process(ctx, ev, l.SettleTopUp(succeeded("u1", id, int64(1000+137*i))))
				if err == nil {
					if out.Result != ledger.ResultApplied && out.Result != ledger.ResultDuplicate {
						t.Errorf("%s: result %q", id, out.Result)
					}
					return
				}
				if attempt == 5 {
					t.Errorf("%s: %v", id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := balance(t, l, "u1"); got != want {
		t.Errorf("balance = %d, want %d", got, want)
	}
}

func TestSettleTopUp(t *testing.T) {
	t.Parallel()
	failed := func(u, tx string) ledger.Payment {
		return ledger.Payment{UserID: u, TransactionID: tx, PaymentIntentID: "pi_" + tx, Status: ledger.StatusFailed, Currency: ledger.Currency, FailureCode: "card_declined", FailureMessage: "Your card was declined."}
	}
	canceled := func(u, tx string) ledger.Payment {
		p := failed(u, tx)
		p.Status, p.FailureCode, p.FailureMessage = ledger.StatusCanceled, "canceled", ""
		return p
	}
	cases := []struct {
		name        string
		payments    []ledger.Payment // each delivered as its own event, in order
		wantResults []string
		wantStatus  string
		wantBalance int64
	}{
		{
			name:        "success credits amount received",
			payments:    []ledger.Payment{succeeded("u", "tx", 2400)},
			wantResults: []string{ledger.ResultApplied},
			wantStatus:  ledger.StatusSucceeded, wantBalance: 2400,
		},
		{
			name:        "two different events for one payment credit once",
			payments:    []ledger.Payment{succeeded("u", "tx", 2500), succeeded("u", "tx", 2500)},
			wantResults: []string{ledger.ResultApplied, ledger.ResultUnchanged},
			wantStatus:  ledger.StatusSucceeded, wantBalance: 2500,
		},
		{
			name:        "late failure never undoes a success",
			payments:    []ledger.Payment{succeeded("u", "tx", 2500), failed("u", "tx"), canceled("u", "tx")},
			wantResults: []string{ledger.ResultApplied, ledger.ResultUnchanged, ledger.ResultUnchanged},
			wantStatus:  ledger.StatusSucceeded, wantBalance: 2500,
		},
		{
			name:        "success after a failed attempt credits",
			payments:    []ledger.Payment{failed("u", "tx"), succeeded("u", "tx", 2500)},
			wantResults: []string{ledger.ResultApplied, ledger.ResultApplied},
			wantStatus:  ledger.StatusSucceeded, wantBalance: 2500,
		},
		{
			name:        "cancellation",
			payments:    []ledger.Payment{canceled("u", "tx")},
			wantResults: []string{ledger.ResultApplied},
			wantStatus:  ledger.StatusCanceled,
		},
		{
			name:        "unknown user",
			payments:    []ledger.Payment{succeeded("someone-else", "tx", 2500)},
			wantResults: []string{ledger.ResultUnmatched},
			wantStatus:  ledger.StatusPending,
		},
		{
			name:        "unknown transaction",
			payments:    []ledger.Payment{succeeded("u", "tx-unknown", 2500)},
			wantResults: []string{ledger.ResultUnmatched},
			wantStatus:  ledger.StatusPending,
		},
		{
			name:        "no metadata",
			payments:    []ledger.Payment{{PaymentIntentID: "pi_x", Status: ledger.StatusSucceeded, AmountReceived: 100, Currency: "usd"}},
			wantResults: []string{ledger.ResultUnmatched},
			wantStatus:  ledger.StatusPending,
		},
		{
			name: "another payment intent",
			payments: []ledger.Payment{func() ledger.Payment {
				p := succeeded("u", "tx", 2500)
				p.PaymentIntentID = "pi_other"
				return p
			}()},
			wantResults: []string{ledger.ResultUnmatched},
			wantStatus:  ledger.StatusPending,
		},
		{
			name: "another currency",
			payments: []ledger.Payment{func() ledger.Payment {
				p := succeeded("u", "tx", 2500)
				p.Currency = "eur"
				return p
			}()},
			wantResults: []string{ledger.ResultUnmatched},
			wantStatus:  ledger.StatusPending,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := testenv.Firestore(t)
			l := ledger.New(fs)
			topUp(t, l, "u", "tx", 2500)
			var results []string
			for i, p := range tc.payments {
				out, err := l.Process(context.Background(), ledger.Event{ID: fmt.Sprintf("evt_%d", i), Type: "payment_intent"}, l.SettleTopUp(p))
				if err != nil {
					t.Fatal(err)
				}
				results = append(results, out.Result)
			}
			if diff := cmp.Diff(tc.wantResults, results); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			tx, err := l.Transaction(context.Background(), "u", "tx")
			if err != nil {
				t.Fatal(err)
			}
			if tx.Status != tc.wantStatus {
				t.Errorf("status = %q, want %q", tx.Status, tc.wantStatus)
			}
			if got := balance(t, l, "u"); got != tc.wantBalance {
				t.Errorf("balance = %d, want %d", got, tc.wantBalance)
			}
			if got := len(eventRecords(t, fs)); got != len(tc.payments) {
				t.Errorf("%d event records, want one per event (%d)", got, len(tc.payments))
			}
		})
	}
}

func TestProcessRecordsNothingWhenTheEffectFails(t *testing.T) {
	t.Parallel()
	fs := testenv.Firestore(t)
	l := ledger.New(fs)
	boom := errors.New("boom")
	_, err := l.Process(context.Background(), ledger.Event{ID: "evt_1", Type: "x"}, ledger.ReadsItself(func(context.Context, *firestore.Transaction) (ledger.Outcome, error) {
		return ledger.Outcome{}, boom
	}))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if got := eventRecords(t, fs); len(got) != 0 {
		t.Errorf("records = %v, want none", got)
	}
	// The retry applies it.
	out, err := l.Process(context.Background(), ledger.Event{ID: "evt_1", Type: "x"}, ledger.Ignore("test"))
	if err != nil || out.Result != ledger.ResultIgnored {
		t.Fatalf("retry = %+v, %v; want ignored", out, err)
	}
}

// Process reads an effect's Reads with the event's record and hands their
// snapshots to Apply in order, a missing document's too; a duplicate never
// reaches Apply.
func TestProcessReadsTheEffectsDocumentsWithTheRecord(t *testing.T) {
	t.Parallel()
	fs := testenv.Firestore(t)
	l := ledger.New(fs)
	ctx := context.Background()
	if _, err := fs.Doc("things/a").Set(ctx, map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	var applied int
	effect := ledger.Effect{
		Reads: []*firestore.DocumentRef{fs.Doc("things/missing"), fs.Doc("things/a")},
		Apply: func(_ context.Context, _ *firestore.Transaction, read []*firestore.DocumentSnapshot) (ledger.Outcome, error) {
			applied++
			if len(read) != 2 || read[0].Exists() || read[0].Ref.Path != fs.Doc("things/missing").Path || !read[1].Exists() || read[1].Data()["n"] != int64(1) {
				t.Errorf("Apply read %v", read)
			}
			return ledger.Outcome{Result: ledger.ResultApplied}, nil
		},
	}
	for range 2 {
		if _, err := l.Process(ctx, ledger.Event{ID: "evt_reads", Type: "x"}, effect); err != nil {
			t.Fatal(err)
		}
	}
	if applied != 1 {
		t.Errorf("applied %d times, want 1 (the second is a duplicate)", applied)
	}
}

func TestEventRecordKeepsThirtyDays(t *testing.T) {
	t.Parallel()
	fs := testenv.Firestore(t)
	l := ledger.New(fs)
	if _, err := l.Process(context.Background(), ledger.Event{ID: "evt_ttl", Type: "customer.created", ObjectID: "cus_1"}, ledger.Ignore("not handled")); err != nil {
		t.Fatal(err)
	}
	rec := eventRecords(t, fs)["evt_ttl"]
	processed, _ := rec["processedAt"].(time.Time)
	expire, _ := rec[ledger.ExpireAtField].(time.Time)
	if got := expire.Sub(processed); got < 30*24*time.Hour {
		t.Errorf("kept for %v, want at least 30 days", got)
	}
	want := map[string]any{"type": "customer.created", "objectId": "cus_1", "result": "ignored", "detail": "not handled"}
	got := map[string]any{"type": rec["type"], "objectId": rec["objectId"], "result": rec["result"], "detail": rec["detail"]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
}

func TestBeginTopUpIsIdempotent(t *testing.T) {
	t.Parallel()
	l := ledger.New(testenv.Firestore(t))
	ctx := context.Background()
	req := ledger.TopUp{UserID: "u", ID: "tx", Type: ledger.TypeCardTopUp, Amount: 2500, Currency: "usd"}
	first, created, err := l.BeginTopUp(ctx, req)
	if err != nil || !created {
		t.Fatal(created, err)
	}
	again, created, err := l.BeginTopUp(ctx, req)
	if err != nil || created {
		t.Fatal(created, err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("replay differs (-first +again):\n%s", diff)
	}
	req.Amount = 3000
	if _, _, err := l.BeginTopUp(ctx, req); !errors.Is(err, ledger.ErrConflict) {
		t.Errorf("other amount: err = %v, want ErrConflict", err)
	}
}

func TestHistoryPagesNewestFirst(t *testing.T) {
	t.Parallel()
	l := ledger.New(testenv.Firestore(t))
	ctx := context.Background()
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("tx%d", i)
		if _, _, err := l.BeginTopUp(ctx, ledger.TopUp{UserID: "u", ID: id, Type: ledger.TypeCardTopUp, Amount: 1000, Currency: "usd"}); err != nil {
			t.Fatal(err)
		}
		want = append([]string{id}, want...)
	}
	// Another user's entries never show.
	if _, _, err := l.BeginTopUp(ctx, ledger.TopUp{UserID: "other", ID: "txo", Type: ledger.TypeCardTopUp, Amount: 1000, Currency: "usd"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		page, err := l.History(ctx, "u", 3, token)
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range page.Transactions {
			got = append(got, tx.ID)
		}
		if token = page.NextPageToken; token == "" {
			if pages != 2 {
				t.Errorf("%d pages, want 3", pages+1)
			}
			break
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if _, err := l.History(ctx, "u", 3, "not-a-token"); !errors.Is(err, ledger.ErrBadPageToken) {
		t.Errorf("bad token: err = %v, want ErrBadPageToken", err)
	}
}
