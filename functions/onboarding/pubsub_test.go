package onboarding_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/cloudevents/sdk-go/v2/event"

	"example.com/billing/shared/customer"
	"example.com/billing/shared/events"
	"example.com/billing/shared/testsupport/testenv"
)

// The whole path as deployed: a message published to the emulator's
// user-activated topic, pushed to the functions framework, converted to a
// CloudEvent and handled. While Stripe is down the function fails and the
// emulator redelivers; a poison message is acknowledged once.
func TestActivationThroughPubSub(t *testing.T) {
	e := newEnv(t)
	ps, project := testenv.PubSub(t)
	ctx := context.Background()

	var mu sync.Mutex
	deliveries := map[string]int{}
	handler := func(ctx context.Context, ev event.Event) error {
		var any map[string]any
		msg, _ := events.Decode(ev, &any)
		mu.Lock()
		deliveries[string(msg.Data)]++
		mu.Unlock()
		return e.srv.UserActivated(ctx, ev)
	}
	port := serveFunction(t, "/OnUserActivated", handler)

	topic := "projects/" + project + "/topics/user-activated"
	if _, err := ps.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:               "projects/" + project + "/subscriptions/user-activated-OnUserActivated",
		Topic:              topic,
		PushConfig:         &pubsubpb.PushConfig{PushEndpoint: fmt.Sprintf("http://127.0.0.1:%d/OnUserActivated", port)},
		AckDeadlineSeconds: 10,
	}); err != nil {
		t.Fatal(err)
	}

	e.Stripe.SetDown(503)
	good := `{"userId":"u1","email":"u1@example.com"}`
	poison := `{"userId":`
	pub := ps.Publisher(topic)
	defer pub.Stop()
	for _, data := range []string{good, poison} {
		if _, err := pub.Publish(ctx, &pubsub.Message{Data: []byte(data)}).Get(ctx); err != nil {
			t.Fatal(err)
		}
	}
	count := func(data string) int {
		mu.Lock()
		defer mu.Unlock()
		return deliveries[data]
	}
	waitFor(t, 30*time.Second, "a redelivery while Stripe is down", func() bool { return count(good) >= 2 })
	if acct, err := e.customers.Get(ctx, "u1"); err != nil || acct.PaymentsStatus != customer.StatusPending {
		t.Errorf("while Stripe is down: %+v, %v; want recorded as pending", acct, err)
	}

	e.Stripe.SetDown(0)
	waitFor(t, 30*time.Second, "the account to become ready", func() bool {
		acct, err := e.customers.Get(ctx, "u1")
		return err == nil && acct.PaymentsStatus == customer.StatusReady
	})
	time.Sleep(3 * time.Second) // time enough for redeliveries, were there any
	if n := count(poison); n != 1 {
		t.Errorf("poison message delivered %d times, want once (acknowledged)", n)
	}
	settled := count(good)
	time.Sleep(2 * time.Second)
	if count(good) != settled {
		t.Errorf("the activation kept being redelivered after it succeeded")
	}
	if n := len(e.Stripe.Customers()); n != 1 {
		t.Errorf("%d customers, want 1", n)
	}
}

// serveFunction serves fn through the functions framework, as deployed, on
// a free loopback port. The framework's server lives as long as the test
// binary.
func serveFunction(t *testing.T, path string, fn func(context.Context, event.Event) error) int {
	t.Helper()
	if err := funcframework.RegisterCloudEventFunctionContext(context.Background(), path, fn); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	go func() { _ = funcframework.StartHostPort("127.0.0.1", fmt.Sprint(port)) }()
	waitFor(t, 10*time.Second, "the functions framework to listen", func() bool {
		c, err := net.Dial("tcp", l.Addr().String())
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return port
}

func waitFor(t *testing.T, limit time.Duration, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
