package stripetest

import "net/http"

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
	Message       string `json:"message"`
	Param         string `json:"param,omitempty"`
	Charge        string `json:"charge,omitempty"`
	PaymentIntent any    `json:"payment_intent,omitempty"`
}

func (e *apiError) coded(code string) *apiError {
	e.Code = code
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

// unsupported rejects a valid Stripe parameter (or value) whose behaviour
// the double does not model, so a test fails loudly instead of passing
// against behaviour Stripe would not have.
func unsupported(param, what string) *apiError {
	return invalidRequest(param, "stripetest does not support "+what+"; add it to the double if a test needs it.")
}

// fault is the api_error injected by FailNext and SetDown.
func fault(status int) *apiError {
	return &apiError{status: status, Type: typeAPI, unsaved: true,
		Message: "An unknown error occurred (injected by stripetest)."}
}

// unexpectedState is the error Stripe gives when an object's status does
// not allow the request; it carries the PaymentIntent when there is one.
func unexpectedState(msg string, pi *paymentIntent) *apiError {
	e := refused("", msg).coded("payment_intent_unexpected_state")
	if pi != nil {
		e.PaymentIntent = pi
	}
	return e
}
