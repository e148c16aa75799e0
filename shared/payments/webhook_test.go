package payments_test

import (
	"errors"
	"testing"
	"time"

	"example.com/billing/shared/payments"
	"example.com/billing/shared/testsupport/stripetest"
)

func TestVerifyEvent(t *testing.T) {
	t.Parallel()
	payload := stripetest.NewEvent("evt_1", "payment_intent.succeeded", map[string]any{"id": "pi_1", "object": "payment_intent"}, time.Now())
	otherVersion := []byte(`{"id":"evt_2","object":"event","api_version":"2099-01-01","type":"charge.succeeded","data":{"object":{"id":"ch_1"}}}`)
	now := time.Now()
	cases := []struct {
		name    string
		payload []byte
		header  string
		secrets []string
		want    error // nil: accepted
	}{
		{name: "valid", payload: payload, header: stripetest.SignatureHeader(payload, "whsec_a", now), secrets: []string{"whsec_a"}},
		{name: "rotation: signed with the new secret", payload: payload, header: stripetest.SignatureHeader(payload, "whsec_new", now), secrets: []string{"whsec_old", "whsec_new"}},
		{name: "rotation: signed with the old secret", payload: payload, header: stripetest.SignatureHeader(payload, "whsec_old", now), secrets: []string{"whsec_old", "whsec_new"}},
		{name: "another API version", payload: otherVersion, header: stripetest.SignatureHeader(otherVersion, "whsec_a", now), secrets: []string{"whsec_a"}},
		{name: "within tolerance", payload: payload, header: stripetest.SignatureHeader(payload, "whsec_a", now.Add(-290*time.Second)), secrets: []string{"whsec_a"}},
		{name: "no signature", payload: payload, header: "", secrets: []string{"whsec_a"}, want: payments.ErrBadSignature},
		{name: "garbled header", payload: payload, header: "nonsense", secrets: []string{"whsec_a"}, want: payments.ErrBadSignature},
		{name: "wrong secret", payload: payload, header: stripetest.SignatureHeader(payload, "whsec_b", now), secrets: []string{"whsec_a"}, want: payments.ErrBadSignature},
		{name: "tampered body", payload: append([]byte(" "), payload...), header: stripetest.SignatureHeader(payload, "whsec_a", now), secrets: []string{"whsec_a"}, want: payments.ErrBadSignature},
		{name: "stale timestamp", payload: payload, header: stripetest.SignatureHeader(payload, "whsec_a", now.Add(-301*time.Second)), secrets: []string{"whsec_a"}, want: payments.ErrBadSignature},
		{name: "no secrets configured", payload: payload, header: stripetest.SignatureHeader(payload, "whsec_a", now), want: payments.ErrBadSignature},
		{name: "signed but not JSON", payload: []byte("not json"), header: stripetest.SignatureHeader([]byte("not json"), "whsec_a", now), secrets: []string{"whsec_a"}, want: payments.ErrMalformedEvent},
		{name: "signed but no id", payload: []byte(`{"type":"x","data":{"object":{}}}`), header: stripetest.SignatureHeader([]byte(`{"type":"x","data":{"object":{}}}`), "whsec_a", now), secrets: []string{"whsec_a"}, want: payments.ErrMalformedEvent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, err := payments.VerifyEvent(tc.payload, tc.header, tc.secrets)
			if tc.want == nil {
				if err != nil || ev.ID == "" {
					t.Fatalf("VerifyEvent = %q, %v; want accepted", ev.ID, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
