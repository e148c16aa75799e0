package customer_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/checkout"
	"example.com/billing/shared/customer"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/testsupport/testenv"
)

// Rule 7: a customer deleted in Stripe is forgotten, by customer.deleted
// or by the first call that finds it missing, and the next ensure creates
// a new one under a key of its own (the first key would return the
// deleted customer).
func TestCustomersDeletedInStripeAreRepaired(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// notice is how the service learns of the deletion; it returns the
		// account's customer afterwards.
		notice func(t *testing.T, b *testenv.Billing, deleted string) string
	}{
		{name: "customer.deleted, then the next ensure", notice: func(t *testing.T, b *testenv.Billing, deleted string) string {
			ev, ok := b.Stripe.LastEvent("customer.deleted", deleted)
			if !ok {
				t.Fatal("no customer.deleted event")
			}
			out, err := b.Services.Events.Apply(context.Background(), mustVerify(t, ev.Payload))
			if err != nil || out.Result != ledger.ResultApplied || out.UserID != "u1" {
				t.Fatalf("customer.deleted: %+v, %v", out, err)
			}
			if acct, _ := b.Customers.Get(context.Background(), "u1"); acct.CustomerID != "" || acct.PaymentsStatus != customer.StatusPending || acct.RepairAt == nil {
				t.Fatalf("after customer.deleted: %+v, want no customer, pending, due for repair", acct)
			}
			acct, err := b.Customers.Ensure(context.Background(), "u1", "u1@example.com")
			if err != nil {
				t.Fatal(err)
			}
			return acct.CustomerID
		}},
		{name: "AddFunds finds it missing (resource_missing) and repairs it at once", notice: func(t *testing.T, b *testenv.Billing, _ string) string {
			started, err := b.Checkout.Start(context.Background(), checkout.Payment{UserID: "u1", Email: "u1@example.com",
				Type: ledger.TypeCardTopUp, Charge: 2500, Credit: 2500, Currency: "usd"})
			if err != nil {
				t.Fatalf("AddFunds after the customer was deleted: %v", err)
			}
			return started.Intent.CustomerID
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := testenv.NewBilling(t)
			first, err := b.Customers.Ensure(context.Background(), "u1", "u1@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Stripe.Client().Customers.Del(first.CustomerID, nil); err != nil {
				t.Fatal(err)
			}
			got := tc.notice(t, b, first.CustomerID)
			if got == "" || got == first.CustomerID {
				t.Fatalf("customer after the repair = %q, want a new one (the deleted one was %s)", got, first.CustomerID)
			}
			acct, _ := b.Customers.Get(context.Background(), "u1")
			if acct.CustomerID != got || acct.PaymentsStatus != customer.StatusReady || acct.CustomerGeneration != 1 {
				t.Errorf("account = %+v, want the new customer, ready, generation 1", acct)
			}
			var keys []string
			for _, r := range b.Stripe.Requests() {
				if r.Method == http.MethodPost && r.Path == "/v1/customers" && !r.Replayed {
					keys = append(keys, r.IdempotencyKey)
				}
			}
			if len(keys) != 2 || keys[0] != customer.IdempotencyKey("u1") || keys[1] != customer.KeyFor("u1", 1, 0) || keys[1] == keys[0] {
				t.Errorf("customer creations used keys %q, want the user's, then the next generation's", keys)
			}
			// A late customer.deleted of the old customer changes nothing now.
			ev, _ := b.Stripe.LastEvent("customer.deleted", first.CustomerID)
			if out, err := b.Services.Events.Apply(context.Background(), mustVerify(t, ev.Payload)); err != nil || out.Result == ledger.ResultApplied {
				t.Errorf("a late customer.deleted of the old customer: %+v, %v; want nothing applied", out, err)
			}
			if acct, _ := b.Customers.Get(context.Background(), "u1"); acct.CustomerID != got {
				t.Errorf("after the late event the account has %q, want %q", acct.CustomerID, got)
			}
		})
	}
}

// A late duplicate customer create coming back after Stripe forgot the
// key (a second customer, made with the same key 24 h later): the first
// recorded id wins everywhere: the account, the index, Ensure's answer,
// and the customer payments are made for.
func TestLateDuplicateCustomerCreateLoses(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	ctx := context.Background()
	first, err := b.Customers.Ensure(ctx, "u1", "u1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b.Stripe.Advance(25 * time.Hour)
	late, err := b.Payments.CreateCustomer(ctx, "u1", "u1@example.com", customer.IdempotencyKey("u1"))
	if err != nil {
		t.Fatal(err)
	}
	if late.ID == first.CustomerID {
		t.Fatal("Stripe still remembered the key; the test needs it forgotten")
	}
	got, err := b.Customers.RecordCustomer(ctx, "u1", late.ID, 0)
	if err != nil || got.CustomerID != first.CustomerID {
		t.Errorf("the late create recorded: %+v, %v; want the first customer %s", got, err, first.CustomerID)
	}
	if acct, _ := b.Customers.Get(ctx, "u1"); acct.CustomerID != first.CustomerID {
		t.Errorf("account customer = %s, want %s", acct.CustomerID, first.CustomerID)
	}
	if again, err := b.Customers.Ensure(ctx, "u1", ""); err != nil || again.CustomerID != first.CustomerID {
		t.Errorf("Ensure after the late create = %+v, %v", again, err)
	}
	if err := b.FS.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		if u, ok, err := b.Customers.UserIn(tx, late.ID); err != nil || ok {
			t.Errorf("the late customer is indexed to %q (%v)", u, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	started, err := b.Checkout.Start(ctx, checkout.Payment{UserID: "u1", Type: ledger.TypeCardTopUp, Charge: 1000, Credit: 1000, Currency: "usd"})
	if err != nil || started.Intent.CustomerID != first.CustomerID {
		t.Errorf("payment made for customer %q (%v), want %s", started.Intent.CustomerID, err, first.CustomerID)
	}
	// A customer made for a generation the account has left is never
	// recorded either.
	if _, err := b.Stripe.Client().Customers.Del(first.CustomerID, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Customers.Forget(ctx, "u1", first.CustomerID); err != nil {
		t.Fatal(err)
	}
	if acct, err := b.Customers.RecordCustomer(ctx, "u1", late.ID, 0); err == nil || acct.CustomerID != "" {
		t.Errorf("an old generation's customer recorded: %+v, %v", acct, err)
	}
}

func mustVerify(t *testing.T, payload []byte) payments.Event {
	t.Helper()
	ev, err := payments.VerifyEvent(payload, stripeSignature(payload), []string{testenv.WebhookSecret})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func stripeSignature(payload []byte) string {
	return testenv.WebhookRequest(payload, testenv.WebhookSecret).Header.Get("Stripe-Signature")
}
