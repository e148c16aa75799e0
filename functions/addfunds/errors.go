package addfunds

import (
	"errors"
	"fmt"
	"net/http"

	"example.com/billing/shared/checkout"
	"example.com/billing/shared/httpx"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/payments"
)

// Client errors of AddFunds, each a contract code and a sentence.
var (
	errAmountMissing     = httpx.Errorf(http.StatusBadRequest, "invalid_amount", "amount is required: a positive integer number of cents.")
	errAmountNotNumber   = httpx.Errorf(http.StatusBadRequest, "invalid_amount", "amount must be a JSON number: a positive integer number of cents, not a string.")
	errAmountNotInteger  = httpx.Errorf(http.StatusBadRequest, "invalid_amount", "amount must be a whole number of cents, with no fraction or exponent.")
	errAmountNotPositive = httpx.Errorf(http.StatusBadRequest, "invalid_amount", "amount must be greater than zero.")
	errDisabled          = httpx.Errorf(http.StatusForbidden, "add_funds_disabled", "Adding funds by card is turned off at the moment; please try again later.")
	errKeyReused         = httpx.Errorf(http.StatusConflict, "idempotency_key_reused", "This Idempotency-Key was already used for a different request; use a new key for a new payment.")
	errBadKey            = httpx.Errorf(http.StatusBadRequest, "invalid_request", "The Idempotency-Key header must be 1 to 255 printable characters.")
	errUnavailable       = httpx.Errorf(http.StatusServiceUnavailable, "payment_provider_unavailable", "The payment provider cannot be reached right now; nothing was charged. Please try again in a minute.")
	errRejected          = httpx.Errorf(http.StatusBadGateway, "payment_provider_unavailable", "The payment provider refused the request; nothing was charged. Please try again later or contact support.")
	errAccountClosing    = httpx.Errorf(http.StatusConflict, "account_pending_deletion", "This account is being deleted; no new payments can be made. Cancel the deletion first to add funds.")
	errStorage           = httpx.Errorf(http.StatusServiceUnavailable, "temporarily_unavailable", "We could not record the payment right now; nothing was charged. Please try again in a minute.")
)

func amountTooLow(minCents int64) error {
	return httpx.Errorf(http.StatusBadRequest, "amount_too_low", "The smallest amount you can add is %s.", formatCents(minCents))
}

func amountTooHigh(maxCents int64) error {
	return httpx.Errorf(http.StatusBadRequest, "amount_too_high", "The largest amount you can add at once is %s.", formatCents(maxCents))
}

func formatCents(c int64) string { return fmt.Sprintf("%d.%02d USD", c/100, c%100) }

// ToHTTP maps the errors of starting a payment to the contract's; it is the
// one place that does so, for AddFunds and PurchasePackage.
func ToHTTP(err error) error {
	var he *httpx.Error
	var pe *payments.Error
	switch {
	case errors.As(err, &he):
		return err
	case errors.Is(err, checkout.ErrBadIdempotencyKey):
		return errBadKey.WithCause(err)
	case errors.Is(err, checkout.ErrAccountClosing):
		return errAccountClosing.WithCause(err)
	case errors.Is(err, ledger.ErrConflict):
		return errKeyReused.WithCause(err)
	case errors.Is(err, payments.ErrCardDeclined) && errors.As(err, &pe):
		msg := pe.Message
		if msg == "" {
			msg = "Your card was declined."
		}
		return httpx.Errorf(http.StatusPaymentRequired, "card_declined", "%s Nothing was charged; try another card.", msg).WithCause(err)
	case errors.Is(err, payments.ErrUnavailable), errors.Is(err, payments.ErrMisconfigured):
		return errUnavailable.WithCause(err)
	case errors.Is(err, payments.ErrRejected), errors.Is(err, payments.ErrNotFound):
		return errRejected.WithCause(err)
	default:
		return errStorage.WithCause(err)
	}
}
