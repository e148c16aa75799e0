package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"example.com/billing/shared/closing"
	"example.com/billing/shared/metering"
)

// Closing is the graph of NewBilling for deletion tests: its deletion
// service on a clock the test moves, and what the satellite receives on the
// deletion topics.
type Closing struct {
	*Billing
	Clock     time.Time
	Deletions *closing.Service
	Received  func(topic string, wait time.Duration) []*pubsub.Message
}

// NewClosing builds the graph with its topics and the deletion clock.
func NewClosing(t testing.TB) *Closing {
	t.Helper()
	c := &Closing{Billing: NewBilling(t), Clock: time.Now().UTC().Truncate(time.Microsecond)}
	c.Received = c.Topics(t)
	c.Deletions = c.Services.Deletions.WithClock(func() time.Time { return c.Clock })
	return c
}

// UseOneMonth stores the hand-calculated month of usage (see the metering
// package): 1 TB stored, 500 GB egress, 10,000 segments = 759 cents in
// three reports, the last one delivered twice.
func (c *Closing) UseOneMonth(t testing.TB, userID string) {
	t.Helper()
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	parts := []struct{ storage, egress, segments string }{
		{"240000000000000", "100000000000", "2400000"},
		{"240000000000000", "300000000000", "2400000"},
		{"240000000000000", "100000000000", "2400000"},
	}
	for i, p := range append(parts, parts[2]) {
		i = min(i, 2)
		r := metering.Report{ReportID: fmt.Sprintf("r%d", i), UserID: userID, ProjectID: "p1",
			PeriodStart: start.Add(time.Duration(i*240) * time.Hour), PeriodEnd: start.Add(time.Duration((i+1)*240) * time.Hour)}
		r.StorageByteHours, _ = new(big.Rat).SetString(p.storage)
		r.EgressBytes, _ = new(big.Rat).SetString(p.egress)
		r.SegmentHours, _ = new(big.Rat).SetString(p.segments)
		if _, err := c.Services.Usage.Save(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

// State is the user's deletion and the account's closing status.
func (c *Closing) State(t testing.TB, userID string) (closing.Deletion, string) {
	t.Helper()
	d, err := c.Deletions.Get(context.Background(), nil, userID)
	if err != nil {
		t.Fatal(err)
	}
	acct, _ := c.Customers.Get(context.Background(), userID)
	return d, acct.Status
}

// UserIDs reads the deletion events in msgs, checking each carries its
// event id as the eventId attribute.
func UserIDs(t testing.TB, msgs []*pubsub.Message) []string {
	t.Helper()
	var out []string
	for _, m := range msgs {
		var ev closing.Event
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if m.Attributes["eventId"] != ev.EventID {
			t.Errorf("eventId attribute %q, payload %q", m.Attributes["eventId"], ev.EventID)
		}
		out = append(out, ev.UserID)
	}
	return out
}
