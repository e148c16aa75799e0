package stripetest_test

import (
	"net/http"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"example.com/billing/shared/testsupport/stripetest"
)

// A double started outside a test keeps state like one started by New, and
// stop closes it.
func TestStandalone(t *testing.T) {
	t.Parallel()
	s, stop := stripetest.Standalone()
	sc := s.Client()
	cu, err := sc.Customers.New(&stripe.CustomerParams{Email: stripe.String("a@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	pi, err := sc.PaymentIntents.New(&stripe.PaymentIntentParams{Amount: stripe.Int64(2500), Currency: stripe.String("usd"),
		Customer: stripe.String(cu.ID), PaymentMethodTypes: stripe.StringSlice([]string{"card"})})
	if err != nil {
		t.Fatal(err)
	}
	pi, err = sc.PaymentIntents.Confirm(pi.ID, &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa")})
	if err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
		t.Fatalf("confirm: %v, %v", pi, err)
	}
	if _, ok := s.LastEvent("payment_intent.succeeded", pi.ID); !ok {
		t.Error("no payment_intent.succeeded recorded")
	}
	url := s.URL()
	stop()
	if resp, err := http.Get(url + "/v1/customers"); err == nil {
		resp.Body.Close()
		t.Errorf("the double still answers after stop: %d", resp.StatusCode)
	}
}
