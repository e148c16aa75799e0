package customer_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"example.com/billing/shared/customer"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/testutil"
)

func TestEnsureCreatesOnceAndReturnsTheSameCustomer(t *testing.T) {
	t.Parallel()
	b := testutil.NewBilling(t)
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
	b := testutil.NewBilling(t)
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
	b := testutil.NewBilling(t)
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
	b := testutil.NewBilling(t)
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

func TestInvalidKeyMarksTheAccountFailed(t *testing.T) {
	t.Parallel()
	b := testutil.NewBilling(t)
	b.Stripe.SetAPIKey("sk_test_rotated")
	_, err := b.Customers.Ensure(context.Background(), "u1", "u1@example.com")
	if !errors.Is(err, payments.ErrMisconfigured) {
		t.Fatalf("err = %v, want ErrMisconfigured", err)
	}
	stored, _ := b.Customers.Get(context.Background(), "u1")
	if stored.PaymentsStatus != customer.StatusFailed {
		t.Errorf("status = %q, want failed", stored.PaymentsStatus)
	}
}
