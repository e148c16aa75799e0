package customer_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"example.com/billing/shared/customer"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/testsupport/testenv"
)

func TestEnsureCreatesOnceAndReturnsTheSameCustomer(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	ctx := context.Background()
	first, err := b.Customers.Ensure(ctx, "u1", "u1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if first.CustomerID == "" || first.PaymentsStatus != customer.StatusReady || first.Email != "u1@example.com" {
		t.Fatalf("account = %+v", first)
	}
	again, err := b.Customers.Ensure(ctx, "u1", "u1@example.com")
	if err != nil || again.CustomerID != first.CustomerID {
		t.Fatalf("second ensure = %+v, %v", again, err)
	}
	custs := b.Stripe.Customers()
	if len(custs) != 1 || custs[0].Metadata[payments.MetadataUserID] != "u1" {
		t.Fatalf("customers = %+v, want one tagged with the user id", custs)
	}
}

func TestConcurrentEnsuresCreateOneCustomer(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	ids := make([]string, 10)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			acct, err := b.Customers.Ensure(context.Background(), "u1", "u1@example.com")
			if err != nil {
				t.Error(err)
			}
			ids[i] = acct.CustomerID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == "" {
			t.Fatalf("ensures returned %v, want one customer", ids)
		}
	}
	if n := len(b.Stripe.Customers()); n != 1 {
		t.Errorf("%d customers in Stripe, want 1", n)
	}
}

func TestStripeDownLeavesTheAccountPending(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	ctx := context.Background()
	b.Stripe.SetDown(http.StatusInternalServerError)
	acct, err := b.Customers.Ensure(ctx, "u1", "u1@example.com")
	if !errors.Is(err, payments.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	stored, gerr := b.Customers.Get(ctx, "u1")
	if gerr != nil || stored.PaymentsStatus != customer.StatusPending || stored.LastError == nil || stored.Email != "u1@example.com" {
		t.Fatalf("stored = %+v, %v; want pending with the error noted", stored, gerr)
	}
	if acct.PaymentsStatus != customer.StatusPending {
		t.Errorf("returned account = %+v, want pending", acct)
	}
	b.Stripe.SetDown(0)
	acct, err = b.Customers.Ensure(ctx, "u1", "")
	if err != nil || acct.PaymentsStatus != customer.StatusReady || acct.LastError != nil {
		t.Fatalf("after recovery = %+v, %v", acct, err)
	}
}

func TestLostWriteIsAdoptedNotDuplicated(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	ctx := context.Background()
	// A first attempt recorded the account, created the customer in Stripe,
	// and died before recording it; Stripe has since forgotten the key.
	// stripe-go does not retry a POST answered 500, so one failure suffices.
	b.Stripe.FailNext(1, http.StatusInternalServerError)
	if _, err := b.Customers.Ensure(ctx, "u1", "u1@example.com"); err == nil {
		t.Fatal("the injected failure did not fail the first attempt")
	}
	lost, err := b.Payments.CreateCustomer(ctx, "u1", "u1@example.com", "some-other-process")
	if err != nil {
		t.Fatal(err)
	}
	b.Stripe.Advance(25 * time.Hour)

	acct, err := b.Customers.Ensure(ctx, "u1", "u1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if acct.CustomerID != lost.ID {
		t.Errorf("customer = %s, want the existing %s adopted", acct.CustomerID, lost.ID)
	}
	if n := len(b.Stripe.Customers()); n != 1 {
		t.Errorf("%d customers, want 1", n)
	}
}

func TestInvalidKeyLeavesTheAccountPendingForAnOperator(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	b.Stripe.SetAPIKey("sk_test_rotated")
	_, err := b.Customers.Ensure(context.Background(), "u1", "u1@example.com")
	if !errors.Is(err, payments.ErrMisconfigured) {
		t.Fatalf("err = %v, want ErrMisconfigured", err)
	}
	stored, _ := b.Customers.Get(context.Background(), "u1")
	if stored.PaymentsStatus != customer.StatusPending || stored.LastError == nil || stored.LastError.Kind != payments.ErrMisconfigured.Error() {
		t.Errorf("stored = %+v, want pending with a configuration error noted", stored)
	}
}

func TestRejectedRequestMarksTheAccountFailed(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	_, err := b.Customers.Ensure(context.Background(), "u1", "not an email")
	if !errors.Is(err, payments.ErrRejected) {
		t.Fatalf("err = %v, want ErrRejected", err)
	}
	stored, _ := b.Customers.Get(context.Background(), "u1")
	if stored.PaymentsStatus != customer.StatusFailed || stored.RepairAt == nil {
		t.Errorf("stored = %+v, want failed and still scheduled for repair", stored)
	}
}

func TestBackoff(t *testing.T) {
	got := []time.Duration{customer.Backoff(1), customer.Backoff(2), customer.Backoff(3), customer.Backoff(10), customer.Backoff(1000)}
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 2560 * time.Second, time.Hour}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
}

func TestEnsureIfDueWaitsOutTheBackoff(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	ctx := context.Background()
	clock := time.Now().UTC()
	svc := customer.New(b.FS, b.Payments).WithClock(func() time.Time { return clock })

	b.Stripe.SetDown(http.StatusInternalServerError)
	if _, err := svc.EnsureIfDue(ctx, "u1", "u1@example.com"); !errors.Is(err, payments.ErrUnavailable) {
		t.Fatalf("first attempt: %v", err)
	}
	b.Stripe.SetDown(0)
	before := len(b.Stripe.Requests())
	acct, err := svc.EnsureIfDue(ctx, "u1", "")
	if !errors.Is(err, customer.ErrNotDue) || acct.PaymentsStatus != customer.StatusPending {
		t.Fatalf("inside the backoff: %+v, %v; want pending and ErrNotDue", acct, err)
	}
	if n := len(b.Stripe.Requests()); n != before {
		t.Errorf("%d Stripe requests inside the backoff, want none", n-before)
	}
	clock = clock.Add(customer.Backoff(1))
	if acct, err := svc.EnsureIfDue(ctx, "u1", ""); err != nil || acct.PaymentsStatus != customer.StatusReady {
		t.Fatalf("after the backoff: %+v, %v", acct, err)
	}
}

func TestRepairSweep(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	ctx := context.Background()
	clock := time.Now().UTC()
	svc := customer.New(b.FS, b.Payments).WithClock(func() time.Time { return clock })

	// Five activations while Stripe is down, one healthy account.
	b.Stripe.SetDown(http.StatusInternalServerError)
	for _, u := range []string{"a", "b", "c", "d", "e"} {
		if _, err := svc.Ensure(ctx, u, u+"@example.com"); err == nil {
			t.Fatal("Ensure succeeded while Stripe was down")
		}
	}
	b.Stripe.SetDown(0)
	if _, err := svc.Ensure(ctx, "ready", "r@example.com"); err != nil {
		t.Fatal(err)
	}

	// Nothing is due yet; then a run pages through every due account.
	if r, err := svc.Repair(ctx, 10); err != nil || r.Due != 0 {
		t.Fatalf("before the backoff: %+v, %v", r, err)
	}
	clock = clock.Add(time.Minute)
	r, err := svc.Repair(ctx, 2)
	if err != nil || (r != customer.RepairReport{Due: 5, Repaired: 5}) {
		t.Fatalf("run: %+v, %v", r, err)
	}
	// Nothing is left for another run.
	var wg sync.WaitGroup
	reports := make([]customer.RepairReport, 2)
	for i := range reports {
		wg.Go(func() {
			if reports[i], err = svc.Repair(ctx, 10); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := reports[0].Due + reports[1].Due; got != 0 {
		t.Errorf("later runs found %d due (%+v), want none", got, reports)
	}
	for _, u := range []string{"a", "b", "c", "d", "e"} {
		if acct, _ := svc.Get(ctx, u); acct.PaymentsStatus != customer.StatusReady || acct.RepairAt != nil {
			t.Errorf("%s = %+v, want ready and no longer scheduled", u, acct)
		}
	}
	if n := len(b.Stripe.Customers()); n != 6 {
		t.Errorf("%d customers, want 6 (one each)", n)
	}
}

// Stripe saves a 500 it answered while executing as the idempotency key's
// result and replays it for 24 hours. The account does not wait a day:
// attempts within SearchLag of the failure replay it and change nothing;
// the next one searches (finding nothing, since the failed request created
// nothing) and creates under the next key round. One customer, recorded.
func TestAStoredStripe500DoesNotHoldTheAccountForADay(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	ctx := context.Background()
	clock := time.Now().UTC().Truncate(time.Microsecond)
	svc := customer.New(b.FS, b.Payments).WithClock(func() time.Time { return clock })

	b.Stripe.FailNextExecuting(1, http.StatusInternalServerError)
	if _, err := svc.Ensure(ctx, "u1", "u1@example.com"); !errors.Is(err, payments.ErrUnavailable) {
		t.Fatalf("first attempt: %v, want ErrUnavailable", err)
	}
	clock = clock.Add(customer.Backoff(1))
	if _, err := svc.Ensure(ctx, "u1", "u1@example.com"); !errors.Is(err, payments.ErrUnavailable) {
		t.Fatalf("within the search lag: %v, want the saved 500 replayed", err)
	}
	if n := len(b.Stripe.Customers()); n != 0 {
		t.Fatalf("%d customers after two failed attempts, want none", n)
	}
	clock = clock.Add(customer.SearchLag)
	acct, err := svc.Ensure(ctx, "u1", "u1@example.com")
	if err != nil || acct.PaymentsStatus != customer.StatusReady {
		t.Fatalf("after the search lag: %+v, %v; want ready", acct, err)
	}
	custs := b.Stripe.Customers()
	if len(custs) != 1 || custs[0].ID != acct.CustomerID {
		t.Fatalf("customers = %+v, want the one recorded (%s)", custs, acct.CustomerID)
	}
	var keys []string
	var replayed int
	for _, r := range b.Stripe.Requests() {
		if r.Method == http.MethodPost && r.Path == "/v1/customers" {
			keys = append(keys, r.IdempotencyKey)
			if r.Replayed {
				replayed++
			}
		}
	}
	want := []string{customer.KeyFor("u1", 0, 0), customer.KeyFor("u1", 0, 0), customer.KeyFor("u1", 0, 1)}
	if !cmp.Equal(keys, want) || replayed != 1 {
		t.Errorf("creates used keys %q (%d replayed), want %q (the second replayed)", keys, replayed, want)
	}
}
