package onboarding_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"example.com/billing/shared/customer"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/store"
	"example.com/billing/shared/testsupport/testenv"
)

func TestUserActivated(t *testing.T) {
	t.Parallel()
	notPubSub := event.New()
	notPubSub.SetID("x")
	notPubSub.SetType("google.cloud.pubsub.topic.v1.messagePublished")
	_ = notPubSub.SetData(event.ApplicationJSON, []byte(`"just a string"`))
	cases := []struct {
		name       string
		event      func(t *testing.T) event.Event
		stripe     func(e *env)
		wantErr    error // nil: acknowledged
		wantStatus string
		wantPoison bool
	}{
		{name: "activation creates the customer", event: func(t *testing.T) event.Event {
			return testenv.PubSubEvent(t, "m1", map[string]string{"userId": "u1", "email": "u1@example.com"})
		}, wantStatus: customer.StatusReady},
		{name: "unknown fields are tolerated", event: func(t *testing.T) event.Event {
			return testenv.PubSubEvent(t, "m1", map[string]any{"userId": "u1", "email": "u1@example.com", "plan": "free"})
		}, wantStatus: customer.StatusReady},
		{name: "Stripe unreachable: recorded pending, redelivered", event: func(t *testing.T) event.Event {
			return testenv.PubSubEvent(t, "m1", map[string]string{"userId": "u1", "email": "u1@example.com"})
		}, stripe: func(e *env) { e.Stripe.SetDown(503) }, wantErr: payments.ErrUnavailable, wantStatus: customer.StatusPending},
		{name: "key rejected: recorded pending, acknowledged for the sweep", event: func(t *testing.T) event.Event {
			return testenv.PubSubEvent(t, "m1", map[string]string{"userId": "u1", "email": "u1@example.com"})
		}, stripe: func(e *env) { e.Stripe.SetAPIKey("sk_test_other") }, wantStatus: customer.StatusPending},
		{name: "poison: not JSON", event: func(t *testing.T) event.Event { return testenv.PubSubEvent(t, "m1", []byte("{not json")) }, wantPoison: true},
		{name: "poison: no user id", event: func(t *testing.T) event.Event {
			return testenv.PubSubEvent(t, "m1", map[string]string{"email": "u1@example.com"})
		}, wantPoison: true},
		{name: "poison: a user id that cannot name an account", event: func(t *testing.T) event.Event {
			return testenv.PubSubEvent(t, "m1", map[string]string{"userId": "a/b"})
		}, wantPoison: true},
		{name: "poison: not a Pub/Sub message", event: func(*testing.T) event.Event { return notPubSub }, wantPoison: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.stripe != nil {
				tc.stripe(e)
			}
			var logs testenv.Logs
			err := e.srv.UserActivated(logs.Context(context.Background()), tc.event(t))
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			acct, gerr := e.customers.Get(context.Background(), "u1")
			if tc.wantPoison {
				if !errors.Is(gerr, store.ErrNotFound) {
					t.Errorf("poison message recorded an account: %+v", acct)
				}
				if n := len(logs.Find(t, "poison user-activated message acknowledged without processing")); n != 1 {
					t.Errorf("poison logged %d times, want once: %v", n, logs.Lines(t))
				}
				return
			}
			if gerr != nil || acct.PaymentsStatus != tc.wantStatus || acct.Email != "u1@example.com" {
				t.Errorf("account = %+v, %v; want %s with the email", acct, gerr, tc.wantStatus)
			}
		})
	}
}
