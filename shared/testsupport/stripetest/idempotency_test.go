package stripetest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/billing/shared/testsupport/stripetest"
)

// TestIdempotency sends two requests with the same Idempotency-Key and
// checks whether the second was replayed, refused or executed afresh.
func TestIdempotency(t *testing.T) {
	// A step sends one request with key "k", using the key the double
	// currently accepts, and returns the id of the object it answered with,
	// also for a declined PaymentIntent.
	type step func(srv *stripetest.Server) (id string, err error)
	customer := func(email string) step {
		return func(srv *stripetest.Server) (string, error) {
			p := &stripe.CustomerParams{Email: stripe.String(email)}
			p.SetIdempotencyKey("k")
			cu, err := srv.Client().Customers.New(p)
			return cu.ID, err
		}
	}
	payment := func(amount int64, pm string) step {
		return func(srv *stripetest.Server) (string, error) {
			p := cardParams(amount, "")
			p.PaymentMethod = stripe.String(pm)
			p.Confirm = stripe.Bool(true)
			p.SetIdempotencyKey("k")
			pi, err := srv.Client().PaymentIntents.New(p)
			var se *stripe.Error
			if errors.As(err, &se) && se.PaymentIntent != nil {
				return se.PaymentIntent.ID, err
			}
			return pi.ID, err
		}
	}
	declined := &apiErr{Status: 402, Type: stripe.ErrorTypeCard, Code: "card_declined", DeclineCode: "generic_decline", Msg: "Your card was declined."}

	tests := []struct {
		name         string
		before       func(*stripetest.Server)
		first        step
		between      func(*stripetest.Server)
		second       step
		wantFirstErr *apiErr
		wantErr      *apiErr
		wantSameID   bool
		wantReplayed bool
		wantObjects  int // customers plus PaymentIntents stored
		wantEvents   int
	}{
		{name: "same request replays", first: customer("a@example.com"), second: customer("a@example.com"),
			wantSameID: true, wantReplayed: true, wantObjects: 1},
		{name: "different parameters", first: customer("a@example.com"), second: customer("b@example.com"),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeIdempotency,
				Msg: "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'k' if you meant to execute a different request."},
			wantObjects: 1},
		{name: "different endpoint", first: customer("a@example.com"), second: payment(1000, "pm_card_visa"),
			wantErr: &apiErr{Status: 400, Type: stripe.ErrorTypeIdempotency,
				Msg: "Keys for idempotent requests can only be used for the same endpoint they were first used for ('POST /v1/customers' vs 'POST /v1/payment_intents'). Try using a key other than 'k' if you meant to execute a different request."},
			wantObjects: 1},
		{name: "still replayed just before 24 hours", first: customer("a@example.com"), second: customer("a@example.com"),
			between:    func(s *stripetest.Server) { s.Advance(24*time.Hour - time.Second) },
			wantSameID: true, wantReplayed: true, wantObjects: 1},
		{name: "forgotten after 24 hours", first: customer("a@example.com"), second: customer("a@example.com"),
			between: func(s *stripetest.Server) { s.Advance(24 * time.Hour) }, wantObjects: 2},
		{name: "scoped to the API key", first: customer("a@example.com"), second: customer("a@example.com"),
			between: func(s *stripetest.Server) { s.SetAPIKey("sk_test_other") }, wantObjects: 2},
		{name: "a decline is replayed, not retried", first: payment(1000, "pm_card_chargeDeclined"), second: payment(1000, "pm_card_chargeDeclined"),
			wantFirstErr: declined, wantErr: declined,
			wantSameID: true, wantReplayed: true, wantObjects: 1, wantEvents: 1}, // payment_intent.payment_failed, once
		{name: "a parameter error is not stored", first: payment(10, "pm_card_visa"), second: payment(1000, "pm_card_visa"),
			wantFirstErr: invalid("amount_too_small", "amount", "Amount must be at least $0.50 usd"),
			wantObjects:  1, wantEvents: 1}, // payment_intent.succeeded
		{name: "an injected 500 is not stored", before: func(s *stripetest.Server) { s.FailNext(1, 500) },
			first: customer("a@example.com"), second: customer("a@example.com"),
			wantFirstErr: &apiErr{Status: 500, Type: stripe.ErrorTypeAPI}, wantObjects: 1},
		{name: "a 500 while executing is stored and replayed", before: func(s *stripetest.Server) { s.FailNextExecuting(1, 500) },
			first: customer("a@example.com"), second: customer("a@example.com"),
			wantFirstErr: &apiErr{Status: 500, Type: stripe.ErrorTypeAPI}, wantErr: &apiErr{Status: 500, Type: stripe.ErrorTypeAPI},
			wantReplayed: true, wantObjects: 0},
		{name: "a 500 while executing is forgotten after 24 hours", before: func(s *stripetest.Server) { s.FailNextExecuting(1, 500) },
			first: customer("a@example.com"), between: func(s *stripetest.Server) { s.Advance(24 * time.Hour) }, second: customer("a@example.com"),
			wantFirstErr: &apiErr{Status: 500, Type: stripe.ErrorTypeAPI}, wantObjects: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := stripetest.New(t)
			if tt.before != nil {
				tt.before(srv)
			}
			firstID, err := tt.first(srv)
			checkErr(t, err, tt.wantFirstErr)
			if tt.between != nil {
				tt.between(srv)
			}
			secondID, err := tt.second(srv)
			checkErr(t, err, tt.wantErr)

			if tt.wantSameID && (firstID != secondID || firstID == "") {
				t.Errorf("ids %q, %q; want the same object", firstID, secondID)
			}
			reqs := srv.Requests()
			last := reqs[len(reqs)-1]
			if last.Replayed != tt.wantReplayed || last.IdempotencyKey != "k" {
				t.Errorf("second request replayed=%v key=%q, want replayed=%v key k", last.Replayed, last.IdempotencyKey, tt.wantReplayed)
			}
			if got := len(srv.Customers()) + len(srv.PaymentIntents()); got != tt.wantObjects {
				t.Errorf("objects stored = %d, want %d", got, tt.wantObjects)
			}
			if got := len(srv.Events()); got != tt.wantEvents {
				t.Errorf("events = %d, want %d", got, tt.wantEvents)
			}
		})
	}
}

func TestIdempotentReplayHeaders(t *testing.T) {
	_, sc := newDouble(t)
	p := &stripe.CustomerParams{Email: stripe.String("a@example.com")}
	p.SetIdempotencyKey("k")
	first, err := sc.Customers.New(p)
	if err != nil {
		t.Fatal(err)
	}
	second, err := sc.Customers.New(p)
	if err != nil {
		t.Fatal(err)
	}
	if h := first.LastResponse.Header.Get("Idempotent-Replayed"); h != "" {
		t.Errorf("first response Idempotent-Replayed = %q, want none", h)
	}
	if h := second.LastResponse.Header.Get("Idempotent-Replayed"); h != "true" {
		t.Errorf("replay Idempotent-Replayed = %q, want true", h)
	}
	if second.LastResponse.IdempotencyKey != "k" || second.LastResponse.Header.Get("Original-Request") != first.LastResponse.RequestID {
		t.Errorf("replay key %q original request %q, want k and %q", second.LastResponse.IdempotencyKey,
			second.LastResponse.Header.Get("Original-Request"), first.LastResponse.RequestID)
	}
	if string(first.LastResponse.RawJSON) != string(second.LastResponse.RawJSON) {
		t.Errorf("replayed body differs:\n%s\n%s", first.LastResponse.RawJSON, second.LastResponse.RawJSON)
	}
}
