package payments

import (
	"errors"
	"fmt"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// ErrBadSignature: the Stripe-Signature header is missing, malformed, stale,
// or matches none of the configured secrets.
var ErrBadSignature = errors.New("invalid stripe signature")

// ErrMalformedEvent: the body is signed but is not a Stripe event.
var ErrMalformedEvent = errors.New("malformed stripe event")

// VerifyEvent checks header against every secret (several during a
// rotation) with Stripe's 300 s tolerance, and parses the event. Events of
// any API version are accepted: the fields we read are stable across them.
func VerifyEvent(payload []byte, header string, secrets []string) (stripe.Event, error) {
	lastErr := webhook.ErrNotSigned
	for _, secret := range secrets {
		ev, err := webhook.ConstructEventWithOptions(payload, header, secret, webhook.ConstructEventOptions{
			Tolerance:                webhook.DefaultTolerance,
			IgnoreAPIVersionMismatch: true,
		})
		switch {
		case isSignatureError(err):
			lastErr = err
			continue
		case err != nil:
			return stripe.Event{}, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
		case ev.ID == "" || ev.Type == "" || ev.Data == nil || len(ev.Data.Raw) == 0:
			return stripe.Event{}, fmt.Errorf("%w: id, type or data missing", ErrMalformedEvent)
		}
		return ev, nil
	}
	return stripe.Event{}, fmt.Errorf("%w: %v", ErrBadSignature, lastErr)
}

func isSignatureError(err error) bool {
	return errors.Is(err, webhook.ErrNotSigned) || errors.Is(err, webhook.ErrInvalidHeader) ||
		errors.Is(err, webhook.ErrNoValidSignature) || errors.Is(err, webhook.ErrTooOld)
}
