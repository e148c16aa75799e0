package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/google/go-cmp/cmp"

	"example.com/billing/shared/events"
	"example.com/billing/shared/testsupport/testenv"
)

// recorder is a Publisher that remembers what it published, in order, and
// fails the ids in fail once each.
type recorder struct {
	mu   sync.Mutex
	sent []string
	msgs []events.Outgoing
	fail map[string]bool
}

func (r *recorder) Publish(_ context.Context, topic string, m events.Outgoing) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail[m.ID] {
		delete(r.fail, m.ID)
		return errors.New("pubsub down")
	}
	r.sent, r.msgs = append(r.sent, topic+" "+m.ID), append(r.msgs, m)
	return nil
}

func recordFor(t *testing.T, fs *firestore.Client, o *events.Outbox, id, topic, userID string) {
	t.Helper()
	if err := fs.RunTransaction(context.Background(), func(ctx context.Context, tx *firestore.Transaction) error {
		return o.Add(tx, id, topic, map[string]string{"eventId": id, "userId": userID})
	}); err != nil {
		t.Fatal(err)
	}
}

// Rule 6: the satellite sees a user's events in the order they were
// committed, across topics: a later event is never published before an
// earlier pending one of the same user (a failed earlier publish holds it
// back), every message carries the user as its ordering key, and a
// sequence that grows with the user's events, in its payload and
// attributes.
func TestAUsersEventsArePublishedInOrder(t *testing.T) {
	t.Parallel()
	fs := testenv.Firestore(t)
	pub := &recorder{fail: map[string]bool{"requested-1": true}}
	o := events.NewOutbox(fs, pub)
	recordFor(t, fs, o, "requested-1", "account-deletion-requested", "u1")
	recordFor(t, fs, o, "other-user", "account-deletion-requested", "u2")
	recordFor(t, fs, o, "canceled-1", "account-deletion-canceled", "u1")
	recordFor(t, fs, o, "requested-2", "account-deletion-requested", "u1")

	// The cancellation first: the request must go before it, and fails.
	if err := o.Flush(context.Background(), "canceled-1"); err == nil {
		t.Fatal("flush reported success while the earlier event could not be published")
	}
	if len(pub.sent) != 0 {
		t.Fatalf("published %v before the user's earlier event", pub.sent)
	}
	// The sweep, then a second sweep that finds nothing left.
	if n, err := o.FlushPending(context.Background(), 10); err != nil || n != 4 {
		t.Fatalf("FlushPending = %d, %v; want 4", n, err)
	}
	want := []string{"account-deletion-requested requested-1", "account-deletion-requested other-user",
		"account-deletion-canceled canceled-1", "account-deletion-requested requested-2"}
	if diff := cmp.Diff(want, pub.sent); diff != "" {
		t.Errorf("publish order (-want +got):\n%s", diff)
	}
	var last int64
	for _, m := range pub.msgs {
		var payload struct {
			UserID   string `json:"userId"`
			Sequence int64  `json:"sequence"`
		}
		if err := json.Unmarshal(m.Data, &payload); err != nil {
			t.Fatal(err)
		}
		if m.OrderingKey != payload.UserID || payload.Sequence != m.Sequence || m.Sequence == 0 {
			t.Errorf("%s: ordering key %q, sequence %d (payload %+v)", m.ID, m.OrderingKey, m.Sequence, payload)
		}
		if m.OrderingKey == "u1" {
			if m.Sequence <= last {
				t.Errorf("%s: sequence %d after %d", m.ID, m.Sequence, last)
			}
			last = m.Sequence
		}
	}
	if n, err := o.FlushPending(context.Background(), 10); err != nil || n != 0 {
		t.Errorf("second sweep published %d (%v)", n, err)
	}
}

// Through the Pub/Sub emulator, a message carries its user as the ordering
// key and its sequence as an attribute.
func TestPublishedMessagesCarryTheirOrder(t *testing.T) {
	t.Parallel()
	fs := testenv.Firestore(t)
	ps, project := testenv.PubSub(t)
	received := testenv.Topics(t, ps, project, "account-deleted")
	o := events.NewOutbox(fs, events.NewPubSub(ps))
	recordFor(t, fs, o, "deleted-1", "account-deleted", "u1")
	if err := o.Flush(context.Background(), "deleted-1"); err != nil {
		t.Fatal(err)
	}
	msgs := received("account-deleted", 3*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	var payload map[string]any
	if err := json.Unmarshal(m.Data, &payload); err != nil {
		t.Fatal(err)
	}
	seq, err := strconv.ParseInt(m.Attributes["sequence"], 10, 64)
	if m.OrderingKey != "u1" || err != nil || seq == 0 || payload["sequence"] != float64(seq) || m.Attributes["eventId"] != "deleted-1" {
		t.Errorf("message: ordering key %q, attributes %v, payload %v", m.OrderingKey, m.Attributes, payload)
	}
}
