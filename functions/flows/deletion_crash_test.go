package flows_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"

	fdeletion "example.com/billing/functions/deletion"
	"example.com/billing/shared/closing"
	"example.com/billing/shared/fault"
	"example.com/billing/shared/testsupport/testenv"
)

// end is what a deletion flow leaves behind.
type end struct {
	State, Account                 string
	Invoices, Refunds              int
	RefundedAmount, Balance        int64
	RequestedEvents, DeletedEvents int // distinct eventIds published
}

func (e *env) end(t *testing.T, userID string) end {
	t.Helper()
	d, account := e.State(t, userID)
	out := end{State: d.State, Account: account, Invoices: len(e.Stripe.Invoices()), Refunds: len(e.Stripe.Refunds()), Balance: e.balance(t, userID)}
	for _, r := range e.Stripe.Refunds() {
		out.RefundedAmount += r.Amount
	}
	distinct := func(topic string) int {
		ids := map[string]bool{}
		for _, m := range e.Received(topic, 2*time.Second) {
			ids[m.Attributes["eventId"]] = true
		}
		return len(ids)
	}
	out.RequestedEvents, out.DeletedEvents = distinct(closing.TopicDeletionRequested), distinct(closing.TopicDeleted)
	return out
}

// sweep is one DeletionSweep run, after every backoff has passed.
func (e *env) sweep(t *testing.T) {
	t.Helper()
	e.Clock = e.Clock.Add(2 * time.Hour)
	if err := fdeletion.Sweep(e.Services.Sweeps, e.Deletions, e.Services.Outbox, 10)(context.Background(), event.New()); err != nil {
		t.Fatalf("sweep: %v", err)
	}
}

func (e *env) requestWith(t *testing.T, userID string, inj *fault.Injector) testenv.Response {
	t.Helper()
	req := testenv.Request(http.MethodPost, "/RequestDeletion", e.Issuer.Token(t, userID, userID+"@example.com"), nil)
	return testenv.Do(t, e.srv.Request(), req.WithContext(fault.With(req.Context(), inj)))
}

// The invoice flow: usage larger than the balance, then the invoice paid.
func TestInvoiceFlowCrashesEndLikeACleanRun(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, point string) end {
		e := newEnv(t)
		e.fund(t, "u1", 500)
		e.UseOneMonth(t, "u1")
		inj := fault.New()
		if point != "" {
			inj.Fail(point, 1)
		}
		e.requestWith(t, "u1", inj)
		if point != "" && inj.Hits(point) == 0 {
			t.Fatalf("point %s not reached", point)
		}
		// The normal retries: the console asks again, the sweep runs.
		e.request(t, "u1")
		e.sweep(t)
		d, _ := e.State(t, "u1")
		if d.InvoiceID == "" {
			t.Fatalf("no final invoice recorded: %+v", d)
		}
		e.payFinalInvoice(t, d.InvoiceID)
		e.sweep(t)
		return e.end(t, "u1")
	}
	clean := run(t, "")
	want := end{State: closing.StateDeleted, Account: closing.AccountDeleted, Invoices: 1, RequestedEvents: 1, DeletedEvents: 1}
	if diff := cmp.Diff(want, clean); diff != "" {
		t.Fatalf("clean run (-want +got):\n%s", diff)
	}
	for _, point := range []string{fault.DeletionAfterRecord, fault.DeletionAfterInvoice, fault.OutboxAfterCommit, fault.OutboxAfterPublish} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(clean, run(t, point)); diff != "" {
				t.Errorf("after a crash at %s (-clean +crashed):\n%s", point, diff)
			}
		})
	}
}

// The payment side: a crash after the cards are detached, or when the
// webhook commits, is finished by the webhook's redelivery or the sweep.
func TestPaymentCrashesEndLikeACleanRun(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, point string) end {
		e := newEnv(t)
		e.UseOneMonth(t, "u1")
		e.request(t, "u1")
		d, _ := e.State(t, "u1")
		if _, err := e.Stripe.PayInvoice(d.InvoiceID); err != nil {
			t.Fatal(err)
		}
		ev, _ := e.Stripe.LastEvent("invoice.paid", d.InvoiceID)
		req := testenv.WebhookRequest(ev.Payload, testenv.WebhookSecret)
		if point != "" {
			req = req.WithContext(fault.With(req.Context(), fault.New().Fail(point, 1)))
		}
		testenv.Do(t, e.hook, req)
		// Stripe redelivers (a 5xx, or its usual duplicate); the sweep runs.
		testenv.Do(t, e.hook, testenv.WebhookRequest(ev.Payload, testenv.WebhookSecret))
		e.sweep(t)
		return e.end(t, "u1")
	}
	clean := run(t, "")
	if clean.State != closing.StateDeleted || clean.DeletedEvents != 1 {
		t.Fatalf("clean run = %+v", clean)
	}
	for _, point := range []string{fault.LedgerAfterCommit, fault.DeletionAfterDetach, fault.OutboxAfterPublish} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(clean, run(t, point)); diff != "" {
				t.Errorf("after a crash at %s (-clean +crashed):\n%s", point, diff)
			}
		})
	}
}

// The refund flow: a balance larger than the usage.
func TestRefundFlowCrashesEndLikeACleanRun(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, point string) end {
		e := newEnv(t)
		e.fund(t, "u1", 1200)
		e.fund(t, "u1", 800)
		e.UseOneMonth(t, "u1")
		inj := fault.New()
		if point != "" {
			inj.Fail(point, 1)
		}
		e.requestWith(t, "u1", inj)
		e.request(t, "u1")
		e.sweep(t)
		return e.end(t, "u1")
	}
	clean := run(t, "")
	want := end{State: closing.StateDeleted, Account: closing.AccountDeleted, Refunds: 2, RefundedAmount: 1241, RequestedEvents: 1, DeletedEvents: 1}
	if diff := cmp.Diff(want, clean); diff != "" {
		t.Fatalf("clean run (-want +got):\n%s", diff)
	}
	for _, point := range []string{fault.DeletionAfterRecord, fault.DeletionAfterRefund, fault.DeletionAfterDetach, fault.OutboxAfterCommit} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(clean, run(t, point)); diff != "" {
				t.Errorf("after a crash at %s (-clean +crashed):\n%s", point, diff)
			}
		})
	}
}
