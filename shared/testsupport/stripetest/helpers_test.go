package stripetest_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"example.com/billing/shared/testsupport/stripetest"
)

// apiErr is the part of a stripe-go error that tests compare.
type apiErr struct {
	Status      int
	Type        stripe.ErrorType
	Code        stripe.ErrorCode
	DeclineCode stripe.DeclineCode
	Param       string
	Msg         string
}

// toAPIErr extracts the comparable part of err, failing the test if it is
// not an error decoded from a Stripe error body.
func toAPIErr(t *testing.T, err error) *apiErr {
	t.Helper()
	if err == nil {
		return nil
	}
	var se *stripe.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *stripe.Error", err, err)
	}
	return &apiErr{se.HTTPStatusCode, se.Type, se.Code, se.DeclineCode, se.Param, se.Msg}
}

// checkErr compares err to want. A want with an empty Msg does not check the
// message.
func checkErr(t *testing.T, err error, want *apiErr) {
	t.Helper()
	got := toAPIErr(t, err)
	if got != nil && want != nil && want.Msg == "" {
		got.Msg = ""
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s", diff)
	}
}

// invalid is a 400 invalid_request_error about param; an empty msg is not
// checked.
func invalid(code stripe.ErrorCode, param, msg string) *apiErr {
	return &apiErr{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: code, Param: param, Msg: msg}
}

func newDouble(t *testing.T) (*stripetest.Server, *client.API) {
	t.Helper()
	srv := stripetest.New(t)
	return srv, srv.Client()
}

func mustCustomer(t *testing.T, sc *client.API, p *stripe.CustomerParams) *stripe.Customer {
	t.Helper()
	if p == nil {
		p = &stripe.CustomerParams{}
	}
	cu, err := sc.Customers.New(p)
	if err != nil {
		t.Fatalf("creating customer: %v", err)
	}
	return cu
}

// cardParams describes a card PaymentIntent as the port creates one.
func cardParams(amount int64, customerID string) *stripe.PaymentIntentParams {
	p := &stripe.PaymentIntentParams{
		Amount:             stripe.Int64(amount),
		Currency:           stripe.String("usd"),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
	}
	if customerID != "" {
		p.Customer = stripe.String(customerID)
	}
	return p
}

// mustPay creates a PaymentIntent confirmed with a card that succeeds.
func mustPay(t *testing.T, sc *client.API, amount int64, customerID string) *stripe.PaymentIntent {
	t.Helper()
	p := cardParams(amount, customerID)
	p.PaymentMethod = stripe.String("pm_card_visa")
	p.Confirm = stripe.Bool(true)
	pi, err := sc.PaymentIntents.New(p)
	if err != nil {
		t.Fatalf("paying: %v", err)
	}
	return pi
}

// eventTypes lists the types of the recorded events about objectID, in
// order.
func eventTypes(t *testing.T, srv *stripetest.Server, objectID string) []string {
	t.Helper()
	var out []string
	for _, e := range srv.Events() {
		ev := parseEvent(t, e.Payload)
		if id, _ := ev.Data.Object["id"].(string); id == objectID {
			out = append(out, string(ev.Type))
		}
	}
	return out
}

func parseEvent(t *testing.T, payload []byte) stripe.Event {
	t.Helper()
	var ev stripe.Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatalf("decoding event: %v\n%s", err, payload)
	}
	return ev
}

// rawField reads a field of a response that stripe-go's type does not have
// (Invoice has no days_until_due in v76).
func rawField(t *testing.T, resp *stripe.APIResponse, key string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(resp.RawJSON, &m); err != nil {
		t.Fatal(err)
	}
	return m[key]
}
