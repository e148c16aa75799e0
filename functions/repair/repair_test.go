package repair_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"example.com/billing/functions/repair"
	"example.com/billing/shared/customer"
	"example.com/billing/shared/testsupport/testenv"
)

func TestSweepRepairsPendingAccounts(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	ctx := context.Background()
	clock := time.Now().UTC()
	svc := customer.New(b.FS, b.Payments).WithClock(func() time.Time { return clock })

	b.Stripe.SetDown(http.StatusInternalServerError)
	if _, err := svc.Ensure(ctx, "u1", "u1@example.com"); err == nil {
		t.Fatal("Ensure succeeded while Stripe was down")
	}
	b.Stripe.SetDown(0)
	clock = clock.Add(time.Minute)

	var logs testenv.Logs
	if err := repair.Sweep(b.Services.Sweeps, svc, 10)(logs.Context(ctx), testenv.PubSubEvent(t, "tick", map[string]any{})); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if acct, _ := svc.Get(ctx, "u1"); acct.PaymentsStatus != customer.StatusReady {
		t.Errorf("account = %+v, want ready", acct)
	}
	lines := logs.Find(t, "customer repair sweep done")
	if len(lines) != 1 || lines[0]["repaired"] != 1.0 || lines[0]["due"] != 1.0 {
		t.Errorf("report lines = %v", lines)
	}
}

func TestSweepFailsOnlyWhenFirestoreDoes(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	svc := customer.New(testenv.UnreachableFirestore(t), b.Payments)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := repair.Sweep(b.Services.Sweeps, svc, 10)(ctx, testenv.PubSubEvent(t, "tick", map[string]any{})); err == nil {
		t.Error("sweep without Firestore returned nil; Pub/Sub should redeliver")
	}
}
