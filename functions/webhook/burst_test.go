package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/billing/functions/webhook"
	"example.com/billing/shared/checkout"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/stripetest"
	"example.com/billing/shared/testsupport/testenv"
)

// stripeSender is the test playing Stripe: it delivers each event until it
// gets a 2xx, backing off after every failure, like Stripe's retries.
type stripeSender struct {
	url               string
	client            *http.Client
	attempts, retried atomic.Int64
}

func (s *stripeSender) deliver(t *testing.T, payload []byte, deadline time.Time) {
	backoff := 100 * time.Millisecond
	for {
		s.attempts.Add(1)
		req, _ := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(payload))
		req.Header.Set("Stripe-Signature", stripetest.SignatureHeader(payload, testenv.WebhookSecret, time.Now()))
		resp, err := s.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return
			}
			if resp.StatusCode < 500 {
				t.Errorf("delivery answered %d: Stripe would not retry, the event would be lost", resp.StatusCode)
				return
			}
		}
		if time.Now().After(deadline) {
			t.Errorf("an event was still failing at the deadline (last: %v)", err)
			return
		}
		s.retried.Add(1)
		time.Sleep(backoff)
		backoff = min(backoff*2, 2*time.Second)
	}
}

// A burst of 240 signed deliveries (160 payments, some reported twice by
// different events, every event delivered once or twice, shuffled) while
// Firestore becomes unreachable for several seconds part-way. At the end
// every balance is the hand-computed sum and nothing was credited twice.
func TestBurstWhileFirestoreIsCut(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	ctx := context.Background()

	// 160 paid top-ups over 8 users; the expected balances by hand.
	want := map[string]int64{}
	var payloads [][]byte
	r := rand.New(rand.NewPCG(7, 11))
	for i := range 160 {
		user := fmt.Sprintf("user%d", i%8)
		amount := int64(1000 + r.IntN(9000))
		started, err := b.Checkout.Start(ctx, checkout.Payment{UserID: user, Type: ledger.TypeCardTopUp, Charge: amount, Credit: amount, Currency: "usd"})
		if err != nil {
			t.Fatal(err)
		}
		pi, err := b.Stripe.SucceedPaymentIntent(started.Intent.ID)
		if err != nil {
			t.Fatal(err)
		}
		want[user] += amount
		ev, _ := b.Stripe.LastEvent("payment_intent.succeeded", pi.ID)
		payloads = append(payloads, ev.Payload)
		if i%5 == 0 { // the same payment reported again by another event
			payloads = append(payloads, stripetest.NewEvent(fmt.Sprintf("evt_again_%d", i), "payment_intent.succeeded", pi, time.Now()))
		}
	}
	distinct := len(payloads)
	for _, p := range payloads[:distinct/4] { // duplicate deliveries
		payloads = append(payloads, p)
	}
	r.Shuffle(len(payloads), func(i, j int) { payloads[i], payloads[j] = payloads[j], payloads[i] })
	if len(payloads) < 200 {
		t.Fatalf("only %d deliveries", len(payloads))
	}

	// The webhook reaches Firestore through a proxy that the test cuts.
	proxy := testenv.NewProxy(t, os.Getenv("FIRESTORE_EMULATOR_HOST"))
	viaProxy := testenv.FirestoreVia(t, proxy.Addr(), b.Project)
	srv := httptest.NewServer(webhook.NewServer([]string{testenv.WebhookSecret}, ledger.New(viaProxy), nil, nil, nil))
	defer srv.Close()
	// Stripe gives up on a delivery that takes too long and retries it; a
	// short timeout makes every delivery sent during the cut (which the
	// Firestore client would otherwise wait out) fail and come back.
	sender := &stripeSender{url: srv.URL, client: &http.Client{Timeout: 2 * time.Second}}

	queue := make(chan []byte)
	var delivered atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(3 * time.Minute)
	for range 8 {
		wg.Go(func() {
			for p := range queue {
				sender.deliver(t, p, deadline)
				delivered.Add(1)
			}
		})
	}
	// A third is delivered, then Firestore is cut for 5 s while the rest
	// is sent: the cut always falls inside the burst, however the machine
	// schedules the senders.
	cutDone := make(chan struct{})
	for i, p := range payloads {
		if i == len(payloads)/3 {
			for delivered.Load() < int64(i) {
				time.Sleep(10 * time.Millisecond)
			}
			proxy.Cut()
			go func() {
				defer close(cutDone)
				time.Sleep(5 * time.Second)
				proxy.Restore()
			}()
		}
		queue <- p
	}
	close(queue)
	wg.Wait()
	<-cutDone
	t.Logf("%d deliveries of %d distinct events: %d attempts, %d retried", len(payloads), distinct, sender.attempts.Load(), sender.retried.Load())
	if sender.retried.Load() == 0 {
		t.Error("no delivery failed: the cut did not bite, so the test proved nothing")
	}

	for user, amount := range want {
		bal, err := b.Ledger.Balance(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if bal.Amount != amount {
			t.Errorf("%s: balance %d, want %d", user, bal.Amount, amount)
		}
	}
	records, err := b.FS.Collection(ledger.EventsCollection).Documents(ctx).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != distinct {
		t.Errorf("%d event records, want one per distinct event (%d)", len(records), distinct)
	}
}
