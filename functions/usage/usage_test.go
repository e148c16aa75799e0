package usage_test

import (
	"context"
	"testing"
	"time"

	"example.com/billing/functions/usage"
	"example.com/billing/shared/metering"
	"example.com/billing/shared/testsupport/testenv"
)

func TestReported(t *testing.T) {
	t.Parallel()
	fs := testenv.Firestore(t)
	store := metering.NewStore(fs)
	h := usage.Reported(store)
	ctx := context.Background()
	report := map[string]any{"reportId": "r1", "userId": "u1", "projectId": "p1",
		"periodStart": "2026-11-01T00:00:00Z", "periodEnd": "2026-11-01T01:00:00Z",
		"storageByteHours": 1e12, "egressBytes": 5000, "segmentHours": 10}

	for i := range 2 { // a redelivery changes nothing
		var logs testenv.Logs
		if err := h(logs.Context(ctx), testenv.PubSubEvent(t, "m1", report)); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
		lines := logs.Find(t, "usage report stored")
		if len(lines) != 1 || lines[0]["new"] != (i == 0) {
			t.Errorf("delivery %d logged %v", i+1, logs.Lines(t))
		}
	}
	period, err := store.Since(ctx, nil, "u1", time.Time{})
	if err != nil || period.Reports != 1 || period.Totals.EgressBytes.RatString() != "5000" {
		t.Errorf("stored %d reports (%v), egress %v", period.Reports, err, period.Totals.EgressBytes)
	}

	for _, poison := range []any{[]byte("not json"), map[string]any{"reportId": "r2"}, map[string]any{"reportId": "r3", "userId": "u1",
		"periodStart": "2026-11-01T00:00:00Z", "periodEnd": "2026-11-01T01:00:00Z", "egressBytes": -1}} {
		var logs testenv.Logs
		if err := h(logs.Context(ctx), testenv.PubSubEvent(t, "m2", poison)); err != nil {
			t.Errorf("poison %v returned %v; it must be acknowledged", poison, err)
		}
		if len(logs.Find(t, "poison usage-reported message acknowledged without processing")) != 1 {
			t.Errorf("poison %v not logged: %v", poison, logs.Lines(t))
		}
	}
}

func TestReportedRetriesWhenFirestoreIsDown(t *testing.T) {
	t.Parallel()
	h := usage.Reported(metering.NewStore(testenv.UnreachableFirestore(t)))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := h(ctx, testenv.PubSubEvent(t, "m1", map[string]any{"reportId": "r1", "userId": "u1",
		"periodStart": "2026-11-01T00:00:00Z", "periodEnd": "2026-11-01T01:00:00Z"}))
	if err == nil {
		t.Error("returned nil with Firestore down; Pub/Sub must redeliver")
	}
}
