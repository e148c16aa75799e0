package stripetest

import (
	"net/http"
	"time"
)

// idempotencyKeyLifetime is how long Stripe keeps a key's result; after it,
// the same key executes afresh.
const idempotencyKeyLifetime = 24 * time.Hour

// idempotencyScope is a key as Stripe scopes it: per account, which for the
// double means per API key.
type idempotencyScope struct {
	apiKey string
	key    string
}

// idempotentResult is the first executed response under a key, with what is
// needed to tell whether a later request is a true retry.
type idempotentResult struct {
	method, path, params string
	firstUsed            time.Time
	requestID            string
	status               int
	body                 []byte
}

// idempotentLookup returns the stored result to replay for c, or the
// idempotency_error Stripe gives when the key was first used for a
// different request, or neither when c should execute.
func (s *Server) idempotentLookup(c *call) (*idempotentResult, *apiError) {
	scope := idempotencyScope{c.apiKey, c.idempotencyKey}
	prior, ok := s.idempotent[scope]
	if !ok {
		return nil, nil
	}
	if s.now.Sub(prior.firstUsed) >= idempotencyKeyLifetime {
		delete(s.idempotent, scope)
		return nil, nil
	}
	retry := "Try using a key other than '" + c.idempotencyKey + "' if you meant to execute a different request."
	switch {
	case prior.method != c.method || prior.path != c.path:
		return nil, idempotencyError("Keys for idempotent requests can only be used for the same endpoint they were first used for ('" +
			prior.method + " " + prior.path + "' vs '" + c.method + " " + c.path + "'). " + retry)
	case prior.params != c.form.Encode():
		return nil, idempotencyError("Keys for idempotent requests can only be used with the same parameters they were first used with. " + retry)
	}
	return prior, nil
}

// idempotentStore keeps resp as the result of c's key.
func (s *Server) idempotentStore(c *call, resp response) {
	s.idempotent[idempotencyScope{c.apiKey, c.idempotencyKey}] = &idempotentResult{
		method:    c.method,
		path:      c.path,
		params:    c.form.Encode(),
		firstUsed: s.now,
		requestID: c.requestID,
		status:    resp.status,
		body:      resp.body,
	}
}

func idempotencyError(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, Type: typeIdempotency, Message: msg, unsaved: true}
}
