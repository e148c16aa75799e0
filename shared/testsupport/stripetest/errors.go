package stripetest

import (
	"net/http"
	"strings"
)

// Stripe's error types, as stripe-go maps them onto its typed errors.
const (
	typeAPI            = "api_error"
	typeCard           = "card_error"
	typeIdempotency    = "idempotency_error"
	typeInvalidRequest = "invalid_request_error"
)

// apiError is the "error" member of a Stripe error response.
type apiError struct {
	status int
	// unsaved marks errors raised before an endpoint starts executing
	// (faults, authentication, routing, parameter validation). Stripe keeps
	// no idempotent result for those, so a retry with the same key runs
	// afresh instead of replaying the error.
	unsaved bool

	Type          string `json:"type"`
	Code          string `json:"code,omitempty"`
	DeclineCode   string `json:"decline_code,omitempty"`
	DocURL        string `json:"doc_url,omitempty"`
	Message       string `json:"message"`
	Param         string `json:"param,omitempty"`
	Charge        string `json:"charge,omitempty"`
	PaymentIntent any    `json:"payment_intent,omitempty"`
	PaymentMethod any    `json:"payment_method,omitempty"`
}

// coded sets the error's code and the documentation link Stripe sends with
// every coded error.
func (e *apiError) coded(code string) *apiError {
	e.Code = code
	e.DocURL = "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(code, "_", "-")
	return e
}

func errorResponse(e *apiError) response {
	return response{status: e.status, body: mustJSON(struct {
		Error *apiError `json:"error"`
	}{e})}
}

// invalidRequest is a 400 for parameters that fail validation before the
// endpoint runs.
func invalidRequest(param, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, Type: typeInvalidRequest, Message: msg, Param: param, unsaved: true}
}

// refused is a 400 for a valid request that the object's current state
// does not allow. Unlike invalidRequest it is raised while the endpoint
// executes, so Stripe keeps it as the key's result and a retry replays it.
func refused(param, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, Type: typeInvalidRequest, Message: msg, Param: param}
}

func missingParam(param string) *apiError {
	return invalidRequest(param, "Missing required param: "+param+".").coded("parameter_missing")
}

// unsupported rejects a valid Stripe parameter value whose behaviour the
// double does not model, so a test fails loudly instead of passing against
// behaviour Stripe would not have.
func unsupported(param, what string) *apiError {
	return invalidRequest(param, "stripetest does not support "+what+"; add it to the double if a test needs it.")
}

// fault is the error injected by FailNext and SetDown. A 429 looks like
// Stripe's rate limiting; anything else is a generic api_error.
func fault(status int) *apiError {
	if status == http.StatusTooManyRequests {
		return (&apiError{status: status, Type: typeInvalidRequest, unsaved: true,
			Message: "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests."}).coded("rate_limit")
	}
	return &apiError{status: status, Type: typeAPI, unsaved: true,
		Message: "An unknown error occurred (injected by stripetest)."}
}
