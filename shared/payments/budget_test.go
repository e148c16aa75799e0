package payments_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"example.com/billing/shared/config"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/testsupport/stripetest"
)

// A 429 from Stripe's rate limit, under a budget, pauses and sends the
// request again: every call succeeds, once each, and the 429s are counted.
// Without a budget (console traffic) the 429 is the caller's, recognisable
// as throttling, not as a failure of the request itself.
func TestBudgetRetriesThrottledRequests(t *testing.T) {
	t.Parallel()
	srv := stripetest.New(t)
	srv.SetRateLimit(3)
	c := payments.New(config.Stripe{SecretKey: stripetest.Key, APIURL: srv.URL()}, nil)
	budget := payments.NewBudget(50)
	var usage payments.Usage
	ctx := payments.Paced(context.Background(), budget, &usage)

	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = c.CreateCustomer(ctx, fmt.Sprint("u", i), "", fmt.Sprint("customer:u", i))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("paced calls failed: %v", err)
	}
	if n := len(srv.Customers()); n != len(errs) {
		t.Errorf("%d customers, want %d", n, len(errs))
	}
	if usage.Throttled() == 0 || int(usage.Throttled()) != srv.RateLimited() {
		t.Errorf("run counted %d 429s, the double sent %d; want the same, more than none", usage.Throttled(), srv.RateLimited())
	}
	if usage.Requests() != budget.Requests() || int(usage.Requests()) != len(srv.Requests()) {
		t.Errorf("run counted %d requests, budget %d, the double saw %d", usage.Requests(), budget.Requests(), len(srv.Requests()))
	}

	srv.SetRateLimit(1)
	var throttled int
	for i := range 4 {
		_, err := c.CreateCustomer(context.Background(), fmt.Sprint("v", i), "", fmt.Sprint("customer:v", i))
		if payments.Throttled(err) {
			throttled++
			if !errors.Is(err, payments.ErrUnavailable) {
				t.Errorf("a 429 is %v, want it unavailable (the same call may succeed later)", err)
			}
		}
	}
	if throttled == 0 {
		t.Error("unpaced calls above the limit were never throttled")
	}
	if !errors.Is(&payments.Error{Status: http.StatusTooManyRequests, Code: "lock_timeout", Kind: payments.ErrUnavailable}, payments.ErrUnavailable) ||
		payments.Throttled(&payments.Error{Status: http.StatusTooManyRequests, Code: "lock_timeout", Kind: payments.ErrUnavailable}) {
		t.Error("a lock timeout (one busy object) is not the rate limit")
	}
}

// The client's timeout bounds each attempt at Stripe, not the wait for the
// budget: a request queued longer than the timeout still goes through.
func TestWaitingForTheBudgetIsNotATimeout(t *testing.T) {
	t.Parallel()
	srv := stripetest.New(t)
	c := payments.New(config.Stripe{SecretKey: stripetest.Key, APIURL: srv.URL()}, &http.Client{Timeout: 300 * time.Millisecond})
	ctx := payments.Paced(context.Background(), payments.NewBudget(2), nil)
	var wg sync.WaitGroup
	errs := make([]error, 4) // the last one waits about 1.5 s for its turn
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = c.CreateCustomer(ctx, fmt.Sprint("u", i), "", fmt.Sprint("customer:u", i))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Errorf("calls queued for the budget failed: %v", err)
	}
}
