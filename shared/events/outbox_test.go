package events_test

import (
	"context"
	"net"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"example.com/billing/shared/events"
	"example.com/billing/shared/testsupport/testenv"
)

func record(t *testing.T, fs *firestore.Client, o *events.Outbox, id string) {
	t.Helper()
	if err := fs.RunTransaction(context.Background(), func(ctx context.Context, tx *firestore.Transaction) error {
		return o.Add(tx, id, "account-deleted", map[string]string{"eventId": id, "userId": "u1"})
	}); err != nil {
		t.Fatal(err)
	}
}

// deadPubSub is a real Pub/Sub client whose connection goes nowhere.
func deadPubSub(t *testing.T) *pubsub.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := pubsub.NewClient(context.Background(), "demo-dead", option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// An event recorded in a commit is published at least once: after a crash
// before publishing (nothing flushed it), and after Pub/Sub was down when
// the process tried.
func TestRecordedEventsArePublishedAtLeastOnce(t *testing.T) {
	t.Parallel()
	fs := testenv.Firestore(t)
	ps, project := testenv.PubSub(t)
	received := testenv.Topics(t, ps, project, "account-deleted")
	live := events.NewOutbox(fs, events.NewPubSub(ps))

	record(t, fs, live, "crashed-before-publishing")

	dead := events.NewOutbox(fs, events.NewPubSub(deadPubSub(t)))
	record(t, fs, dead, "pubsub-was-down")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	if err := dead.Flush(ctx, "pubsub-was-down"); err == nil {
		t.Error("flush through a dead Pub/Sub reported success")
	}
	cancel()

	// The sweep.
	n, err := live.FlushPending(context.Background(), 10)
	if err != nil || n != 2 {
		t.Fatalf("FlushPending published %d (%v), want 2", n, err)
	}
	got := map[string]int{}
	for _, m := range received("account-deleted", 3*time.Second) {
		got[m.Attributes["eventId"]]++
	}
	if got["crashed-before-publishing"] != 1 || got["pubsub-was-down"] != 1 {
		t.Errorf("received %v, want each event once", got)
	}
	// Published rows are not published again.
	if n, err := live.FlushPending(context.Background(), 10); err != nil || n != 0 {
		t.Errorf("second FlushPending published %d (%v), want 0", n, err)
	}
	if err := live.Flush(context.Background(), "never-recorded"); err != nil {
		t.Errorf("flushing an id never recorded: %v", err)
	}
}
