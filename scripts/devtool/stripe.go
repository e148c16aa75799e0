package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"example.com/billing/shared/testsupport/stripetest"
)

// serveStripe runs the project's stateful Stripe double for the local stack
// until SIGINT or SIGTERM: unlike stripe-mock it keeps what it is asked to
// create, so a local user sees their own customer, payments and invoices.
// Like Stripe, it sends its events, signed with STRIPE_WEBHOOK_SECRET, to
// the webhook endpoint (the local server's /StripeWebhook), in order,
// retrying a failed delivery; its clock follows the wall clock.
func serveStripe(ctx context.Context, urlFile string) error {
	secret, _, _ := strings.Cut(env("STRIPE_WEBHOOK_SECRET", ""), ",")
	if secret = strings.TrimSpace(secret); secret == "" {
		return errors.New("STRIPE_WEBHOOK_SECRET is not set: the double signs its webhook deliveries with it")
	}
	webhook := "http://127.0.0.1:" + env("PORT", "8080") + "/StripeWebhook"
	ctx, cancel := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer cancel()

	s, stop := stripetest.Standalone()
	defer stop()
	// Written whole, then renamed, so a reader never sees half a URL.
	if err := os.WriteFile(urlFile+".tmp", []byte(s.URL()+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(urlFile+".tmp", urlFile); err != nil {
		return err
	}
	fmt.Printf("stripe double at %s (key %s); events to %s\n", s.URL(), stripetest.Key, webhook)
	go followWallClock(ctx, s)
	forward(ctx, s, webhook, secret)
	return nil
}

// followWallClock keeps the double's clock on the wall clock, so that
// created times, the window Reconcile lists and idempotency keys' expiry
// behave as in Stripe.
func followWallClock(ctx context.Context, s *stripetest.Server) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if d := time.Now().Truncate(time.Second).Sub(s.Now()); d > 0 {
			s.Advance(d)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// forward delivers every event the double records, oldest first.
func forward(ctx context.Context, s *stripetest.Server, webhook, secret string) {
	sent := 0
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		events := s.Events()
		for ; sent < len(events) && ctx.Err() == nil; sent++ {
			deliver(ctx, events[sent], webhook, secret)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// deliver posts one event until the webhook accepts it (2xx), as Stripe
// does, but gives up after about a minute: a local stack has no three days.
func deliver(ctx context.Context, e stripetest.Event, webhook, secret string) {
	wait := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		status, body, err := post(ctx, e, webhook, secret)
		if err == nil && status/100 == 2 {
			fmt.Printf("%s %s -> %d %s", e.ID, e.Type, status, body)
			return
		}
		if attempt == 10 || ctx.Err() != nil {
			fmt.Printf("%s %s: gave up after %d attempts (last: %d %s %v)\n", e.ID, e.Type, attempt, status, body, err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

func post(ctx context.Context, e stripetest.Event, webhook, secret string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhook, bytes.NewReader(e.Payload))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", stripetest.SignatureHeader(e.Payload, secret, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body, nil
}
