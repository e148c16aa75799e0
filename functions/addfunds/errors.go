package addfunds

import (
	"fmt"
	"net/http"

	"example.com/billing/shared/checkout"
	"example.com/billing/shared/httpx"
	"example.com/billing/shared/ledger"
)

// Client errors of AddFunds, each a contract code and a sentence.
var (
	errAmountMissing     = httpx.Errorf(http.StatusBadRequest, "invalid_amount", "amount is required: a positive integer number of cents.")
	errAmountNotNumber   = httpx.Errorf(http.StatusBadRequest, "invalid_amount", "amount must be a JSON number: a positive integer number of cents, not a string.")
	errAmountNotInteger  = httpx.Errorf(http.StatusBadRequest, "invalid_amount", "amount must be a whole number of cents, with no fraction or exponent.")
	errAmountNotPositive = httpx.Errorf(http.StatusBadRequest, "invalid_amount", "amount must be greater than zero.")
	errDisabled          = httpx.Errorf(http.StatusForbidden, "add_funds_disabled", "Adding funds by card is turned off at the moment; please try again later.")
	errBadKey            = httpx.Errorf(http.StatusBadRequest, "invalid_request", "The Idempotency-Key header must be 1 to 255 printable characters.")
	errUnavailable       = httpx.Errorf(http.StatusServiceUnavailable, "payment_provider_unavailable", "The payment provider cannot be reached right now; nothing was charged. Please try again in a minute.")
	errRejected          = httpx.Errorf(http.StatusBadGateway, "payment_provider_unavailable", "The payment provider refused the request; nothing was charged. Please try again later or contact support.")
	errAccountClosing    = httpx.Errorf(http.StatusConflict, "account_pending_deletion", "This account is being deleted; no new payments can be made. Cancel the deletion first to add funds.")
	errPackagePending    = httpx.Errorf(http.StatusConflict, "package_purchase_pending", "A package purchase for this account is already under way; complete or cancel it before buying another.")
	errStorage           = httpx.Errorf(http.StatusServiceUnavailable, "temporarily_unavailable", "We could not record the payment right now; nothing was charged. Please try again in a minute.")
	errInProgress        = httpx.Errorf(http.StatusServiceUnavailable, "temporarily_unavailable", "This payment is still being processed by the payment provider; retry with the same Idempotency-Key in a moment to see its outcome.")
	errNotRecorded       = httpx.Errorf(http.StatusServiceUnavailable, "temporarily_unavailable", "The payment reached the payment provider but could not be recorded here, so your card may have been charged. Nothing is lost: a charge is credited to your balance automatically. Retry with the same Idempotency-Key to see the payment's outcome without paying twice.")
)

func amountTooLow(minCents int64) error {
	return httpx.Errorf(http.StatusBadRequest, "amount_too_low", "The smallest amount you can add is %s.", formatCents(minCents))
}

func amountTooHigh(maxCents int64) error {
	return httpx.Errorf(http.StatusBadRequest, "amount_too_high", "The largest amount you can add at once is %s.", formatCents(maxCents))
}

func formatCents(c int64) string { return fmt.Sprintf("%d.%02d USD", c/100, c%100) }

// errs maps the errors of starting a payment to the contract's, for
// AddFunds and PurchasePackage alike: the edge's base mapping with this
// function's sentences, which promise that nothing was charged.
var errs = httpx.Errors{
	Is: []httpx.Rule{
		{Err: checkout.ErrBadIdempotencyKey, Answer: errBadKey},
		{Err: checkout.ErrAccountClosing, Answer: errAccountClosing},
		{Err: checkout.ErrNotRecorded, Answer: errNotRecorded},
		{Err: checkout.ErrInProgress, Answer: errInProgress},
		{Err: ledger.ErrPackagePurchased, Answer: errAlreadyPurchased},
		{Err: ledger.ErrPackagePending, Answer: errPackagePending},
	},
	Unavailable: errUnavailable,
	Rejected:    errRejected,
	Storage:     errStorage,
}
