package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/cloudevents/sdk-go/v2/event"

	"example.com/billing/shared/logging"
)

// PubSub returns a client of the Pub/Sub emulator on a project of its own.
func PubSub(t testing.TB) (*pubsub.Client, string) {
	t.Helper()
	Env(t, "PUBSUB_EMULATOR_HOST")
	project := ProjectID(t)
	c, err := pubsub.NewClient(context.Background(), project)
	if err != nil {
		t.Fatalf("pubsub client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, project
}

// PubSubEvent is the CloudEvent a Pub/Sub-triggered function receives for a
// message whose data is data (JSON-encoded unless it is []byte), in the
// google.cloud.pubsub.topic.v1.messagePublished format Eventarc delivers.
func PubSubEvent(t testing.TB, id string, data any) event.Event {
	t.Helper()
	raw, ok := data.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(data); err != nil {
			t.Fatal(err)
		}
	}
	e := event.New()
	e.SetID(id)
	e.SetSource("//pubsub.googleapis.com/projects/demo/topics/test")
	e.SetType("google.cloud.pubsub.topic.v1.messagePublished")
	if err := e.SetData(event.ApplicationJSON, map[string]any{
		"message":      map[string]any{"data": raw, "messageId": id, "publishTime": time.Now().UTC().Format(time.RFC3339Nano)},
		"subscription": "projects/demo/subscriptions/test",
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// Logs captures the JSON log lines written through a context's logger.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Context returns ctx carrying a logger that writes to l.
func (l *Logs) Context(ctx context.Context) context.Context {
	return logging.WithLogger(ctx, logging.New(l, slog.LevelDebug))
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// Lines returns every line logged, decoded.
func (l *Logs) Lines(t testing.TB) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(l.buf.Bytes()))
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("log line is not JSON: %v", err)
		}
		out = append(out, m)
	}
	return out
}

// Find returns the lines whose message is msg.
func (l *Logs) Find(t testing.TB, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range l.Lines(t) {
		if line["message"] == msg {
			out = append(out, line)
		}
	}
	return out
}

// Topics creates each topic with a pull subscription of its own, and
// returns a function that collects the messages published to a topic
// within wait: what a subscriber of that topic would get.
func Topics(t testing.TB, c *pubsub.Client, project string, names ...string) func(topic string, wait time.Duration) []*pubsub.Message {
	t.Helper()
	ctx := context.Background()
	for _, name := range names {
		topic := "projects/" + project + "/topics/" + name
		if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
			t.Fatalf("create topic %s: %v", name, err)
		}
		if _, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
			Name: "projects/" + project + "/subscriptions/" + name + "-test", Topic: topic, AckDeadlineSeconds: 10,
		}); err != nil {
			t.Fatalf("create subscription for %s: %v", name, err)
		}
	}
	return func(topic string, wait time.Duration) []*pubsub.Message {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		var mu sync.Mutex
		var got []*pubsub.Message
		err := c.Subscriber("projects/"+project+"/subscriptions/"+topic+"-test").Receive(ctx, func(_ context.Context, m *pubsub.Message) {
			m.Ack()
			mu.Lock()
			got = append(got, m)
			mu.Unlock()
		})
		if err != nil && ctx.Err() == nil {
			t.Fatalf("receive from %s: %v", topic, err)
		}
		return got
	}
}
