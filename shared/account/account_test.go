package account_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/google/go-cmp/cmp"

	"example.com/billing/shared/account"
	"example.com/billing/shared/store"
	"example.com/billing/shared/testsupport/testenv"
)

// raw is the stored document as Firestore has it: the layout, field by field.
func raw(t *testing.T, fs *firestore.Client, userID string) map[string]any {
	t.Helper()
	snap, err := fs.Collection(store.AccountsCollection).Doc(userID).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap.Data()
}

// write runs one of the store's writes in a transaction of its own.
func write(t *testing.T, fs *firestore.Client, f func(tx *firestore.Transaction) error) {
	t.Helper()
	if err := fs.RunTransaction(context.Background(), func(_ context.Context, tx *firestore.Transaction) error { return f(tx) }); err != nil {
		t.Fatal(err)
	}
}

// Every write keeps the document's layout: the same field names and types
// as before the account had an owner (README, Firestore layout).
func TestWritesKeepTheLayout(t *testing.T) {
	t.Parallel()
	fs := testenv.Firestore(t)
	s := account.NewStore(fs)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }
	failure := account.LastError{Operation: "create customer", Kind: "stripe is unavailable", Code: "api_error", Message: "down", At: at(1)}
	steps := []struct {
		name  string
		write func(tx *firestore.Transaction) error
		want  map[string]any
	}{
		{
			name: "open",
			write: func(tx *firestore.Transaction) error {
				return s.Open(tx, "u1", "", account.Attempt{Number: 1, At: at(0), Lease: at(5)})
			},
			want: map[string]any{"email": "", "customerId": "", "paymentsStatus": "pending", "attempts": int64(1),
				"createdAt": at(0), "updatedAt": at(0), "lastAttemptAt": at(0), "repairAt": at(5)},
		},
		{
			name: "failure",
			write: func(tx *firestore.Transaction) error {
				return s.RecordFailure(tx, "u1", account.PaymentsFailed, failure, at(6), at(1), 0)
			},
			want: map[string]any{"email": "", "customerId": "", "paymentsStatus": "failed", "attempts": int64(1),
				"createdAt": at(0), "updatedAt": at(1), "lastAttemptAt": at(0), "repairAt": at(6),
				"lastError": map[string]any{"operation": "create customer", "kind": "stripe is unavailable", "code": "api_error", "message": "down", "at": at(1)}},
		},
		{
			name: "attempt without an email",
			write: func(tx *firestore.Transaction) error {
				return s.RecordAttempt(tx, "u1", "", account.Attempt{Number: 2, At: at(7), Lease: at(17)})
			},
			want: map[string]any{"email": "", "customerId": "", "paymentsStatus": "failed", "attempts": int64(2),
				"createdAt": at(0), "updatedAt": at(7), "lastAttemptAt": at(7), "repairAt": at(17),
				"lastError": map[string]any{"operation": "create customer", "kind": "stripe is unavailable", "code": "api_error", "message": "down", "at": at(1)}},
		},
		{
			name: "attempt with the email",
			write: func(tx *firestore.Transaction) error {
				return s.RecordAttempt(tx, "u1", "u1@example.com", account.Attempt{Number: 3, At: at(20), Lease: at(40)})
			},
			want: map[string]any{"email": "u1@example.com", "customerId": "", "paymentsStatus": "failed", "attempts": int64(3),
				"createdAt": at(0), "updatedAt": at(20), "lastAttemptAt": at(20), "repairAt": at(40),
				"lastError": map[string]any{"operation": "create customer", "kind": "stripe is unavailable", "code": "api_error", "message": "down", "at": at(1)}},
		},
		{
			name:  "customer",
			write: func(tx *firestore.Transaction) error { return s.SetCustomer(tx, "u1", "cus_1", at(21)) },
			want: map[string]any{"email": "u1@example.com", "customerId": "cus_1", "paymentsStatus": "ready", "attempts": int64(3),
				"createdAt": at(0), "updatedAt": at(21), "lastAttemptAt": at(20)},
		},
		{
			name:  "plan",
			write: func(tx *firestore.Transaction) error { return s.SetPlan(tx, "u1", "partner-pro", at(30)) },
			want: map[string]any{"email": "u1@example.com", "customerId": "cus_1", "paymentsStatus": "ready", "attempts": int64(3),
				"createdAt": at(0), "updatedAt": at(30), "lastAttemptAt": at(20), "plan": "partner-pro", "planPurchasedAt": at(30)},
		},
		{
			name:  "closing",
			write: func(tx *firestore.Transaction) error { return s.MarkClosing(tx, "u1", at(59), at(60)) },
			want: map[string]any{"email": "u1@example.com", "customerId": "cus_1", "paymentsStatus": "ready", "attempts": int64(3),
				"createdAt": at(0), "updatedAt": at(60), "lastAttemptAt": at(20), "plan": "partner-pro", "planPurchasedAt": at(30),
				"status": "pending_deletion", "billedThrough": at(59)},
		},
		{
			name:  "reopened",
			write: func(tx *firestore.Transaction) error { return s.Reopen(tx, "u1", at(61)) },
			want: map[string]any{"email": "u1@example.com", "customerId": "cus_1", "paymentsStatus": "ready", "attempts": int64(3),
				"createdAt": at(0), "updatedAt": at(61), "lastAttemptAt": at(20), "plan": "partner-pro", "planPurchasedAt": at(30),
				"billedThrough": at(59)},
		},
		{
			name:  "deleted",
			write: func(tx *firestore.Transaction) error { return s.MarkDeleted(tx, "u1", at(90)) },
			want: map[string]any{"email": "u1@example.com", "customerId": "cus_1", "paymentsStatus": "ready", "attempts": int64(3),
				"createdAt": at(0), "updatedAt": at(90), "lastAttemptAt": at(20), "plan": "partner-pro", "planPurchasedAt": at(30),
				"billedThrough": at(59), "status": "deleted", "deletedAt": at(90)},
		},
	}
	// The steps run in order on one document: each starts from the last.
	for _, step := range steps {
		write(t, fs, step.write)
		if diff := cmp.Diff(step.want, raw(t, fs, "u1")); diff != "" {
			t.Errorf("after %s, the document (-want +got):\n%s", step.name, diff)
		}
	}
	got, err := s.Get(context.Background(), "u1")
	if err != nil {
		t.Fatal(err)
	}
	want := account.Account{UserID: "u1", Email: "u1@example.com", CustomerID: "cus_1", PaymentsStatus: "ready", Attempts: 3,
		Status: "deleted", BilledThrough: new(at(59)), DeletedAt: new(at(90)), Plan: "partner-pro", PlanPurchasedAt: new(at(30)),
		CreatedAt: at(0), UpdatedAt: at(90), LastAttemptAt: new(at(20))}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
}

func TestGetMissingOrInvalid(t *testing.T) {
	t.Parallel()
	fs := testenv.Firestore(t)
	s := account.NewStore(fs)
	ctx := context.Background()
	cases := []struct {
		name   string
		userID string
		want   error
	}{
		{name: "absent", userID: "nobody", want: store.ErrNotFound},
		{name: "invalid id", userID: "a/b", want: store.ErrInvalidID},
		{name: "empty id", userID: "", want: store.ErrInvalidID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := s.Get(ctx, tc.userID); !errors.Is(err, tc.want) {
				t.Errorf("Get = %v, want %v", err, tc.want)
			}
			err := fs.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
				_, err := s.GetIn(tx, tc.userID)
				return err
			})
			if !errors.Is(err, tc.want) {
				t.Errorf("GetIn = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDueForRepairOldestFirst(t *testing.T) {
	t.Parallel()
	fs := testenv.Firestore(t)
	s := account.NewStore(fs)
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	leases := map[string]time.Duration{"late": -time.Minute, "oldest": -time.Hour, "ahead": time.Minute, "middle": -10 * time.Minute}
	for user, d := range leases {
		write(t, fs, func(tx *firestore.Transaction) error {
			return s.Open(tx, user, user+"@example.com", account.Attempt{Number: 1, At: now.Add(-2 * time.Hour), Lease: now.Add(d)})
		})
	}
	// An account with its customer has no repairAt any more.
	write(t, fs, func(tx *firestore.Transaction) error {
		return s.Open(tx, "ready", "", account.Attempt{Number: 1, At: now.Add(-2 * time.Hour), Lease: now.Add(-2 * time.Hour)})
	})
	write(t, fs, func(tx *firestore.Transaction) error { return s.SetCustomer(tx, "ready", "cus_1", now) })
	cases := []struct {
		name  string
		limit int
		want  []string
	}{
		{name: "all due", limit: 10, want: []string{"oldest", "middle", "late"}},
		{name: "limited", limit: 2, want: []string{"oldest", "middle"}},
	}
	for _, tc := range cases {
		got, err := s.DueForRepair(ctx, now, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: due (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestMayReceiveMoney(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status string
		want   error
	}{
		{status: "", want: nil},
		{status: account.StatusPendingDeletion, want: account.ErrClosing},
		{status: account.StatusDeleted, want: account.ErrClosing},
	}
	for _, tc := range cases {
		err := account.Account{UserID: "u1", Status: tc.status}.MayReceiveMoney()
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("status %q: MayReceiveMoney = %v, want %v", tc.status, err, tc.want)
		}
	}
}
