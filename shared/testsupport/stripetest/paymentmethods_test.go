package stripetest_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// TestPaymentMethods covers what the port does with saved cards when an
// account closes: list a customer's cards, detach each, and retrieve one
// whose detach failed.
func TestPaymentMethods(t *testing.T) {
	srv, sc := newDouble(t)
	cus := mustCustomer(t, sc, nil)
	other := mustCustomer(t, sc, nil)
	for _, pm := range []string{"pm_card_visa", "pm_card_visa", "pm_1"} {
		if err := srv.AttachPaymentMethod(cus.ID, pm); err != nil {
			t.Errorf("attach %s: %v", pm, err)
		}
	}
	for _, bad := range []struct{ customer, pm string }{{other.ID, "pm_1"}, {"cus_nope", "pm_2"}, {cus.ID, "card_1"}} {
		if err := srv.AttachPaymentMethod(bad.customer, bad.pm); err == nil {
			t.Errorf("attached %s to %s", bad.pm, bad.customer)
		}
	}
	if diff := cmp.Diff([]string{"pm_1", "pm_card_visa"}, listCards(t, sc, cus.ID)); diff != "" {
		t.Errorf("cards, newest first (-want +got):\n%s", diff)
	}
	if got := listCards(t, sc, other.ID); len(got) != 0 {
		t.Errorf("the other customer's cards = %v", got)
	}

	pm, err := sc.PaymentMethods.Detach("pm_1", nil)
	if err != nil || pm.Customer != nil {
		t.Fatalf("detach = %+v, %v", pm, err)
	}
	_, err = sc.PaymentMethods.Detach("pm_1", nil)
	checkErr(t, err, invalid("", "", "The payment method you provided is not attached to a customer so detachment is impossible."))
	if pm, err := sc.PaymentMethods.Get("pm_1", nil); err != nil || pm.Customer != nil || pm.Type != "card" {
		t.Errorf("retrieve a detached card = %+v, %v", pm, err)
	}
	if pm, err := sc.PaymentMethods.Get("pm_card_visa", nil); err != nil || pm.Customer == nil || pm.Customer.ID != cus.ID {
		t.Errorf("retrieve an attached card = %+v, %v", pm, err)
	}
	_, err = sc.PaymentMethods.Get("card_1", nil)
	checkErr(t, err, &apiErr{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "payment_method", Msg: "No such PaymentMethod: 'card_1'"})
	if got := srv.PaymentMethods(cus.ID); len(got) != 1 || got[0].ID != "pm_card_visa" {
		t.Errorf("PaymentMethods() = %v", got)
	}

	it := sc.PaymentMethods.List(&stripe.PaymentMethodListParams{Customer: stripe.String("cus_nope")})
	for it.Next() {
	}
	checkErr(t, it.Err(), invalid("resource_missing", "customer", "No such customer: 'cus_nope'"))
}

// listCards lists a customer's cards as the port does, one per page.
func listCards(t *testing.T, sc *client.API, customerID string) []string {
	t.Helper()
	p := &stripe.PaymentMethodListParams{Customer: stripe.String(customerID), Type: stripe.String("card")}
	p.Limit = stripe.Int64(1)
	it := sc.PaymentMethods.List(p)
	var ids []string
	for it.Next() {
		ids = append(ids, it.PaymentMethod().ID)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}
