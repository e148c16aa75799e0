// Package httpx owns the HTTP edge shared by every console-facing function:
// decoding bounded JSON bodies, and the single mapping from an error to an
// HTTP status and the contract's error body
// {"error": {"code": "...", "message": "..."}}.
package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"example.com/billing/shared/logging"
)

// MaxBodyBytes is the contract's limit for console request bodies.
const MaxBodyBytes = 64 << 10

// Error is an error the client may see: a stable snake_case code and a
// sentence a person can act on. Anything else that reaches WriteError is
// logged and answered as a generic 500 so internals never leak.
type Error struct {
	Status  int
	Code    string
	Message string
	// Extra fields are written beside "error" in the body (for example the
	// deletion check's fields on a 409).
	Extra map[string]any
	// Cause is logged, never sent.
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// WithCause returns a copy of e that logs cause.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.Cause = cause
	return &c
}

// Errorf builds a client-facing error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common errors shared by several functions.
var (
	ErrUnauthenticated  = &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "A valid bearer token is required."}
	ErrMethodNotAllowed = &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "This endpoint does not accept that HTTP method."}
	errInternal         = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "Something went wrong on our side; please try again."}
)

// WriteError answers with err's status and code. Errors that are not *Error
// become a 500; every error with a status of 500 or more is logged with its cause.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var he *Error
	if !errors.As(err, &he) {
		he = errInternal
	}
	logger := logging.FromContext(r.Context())
	if he.Status >= 500 {
		logger.ErrorContext(r.Context(), "request failed", "code", he.Code, "status", he.Status, "error", err.Error())
	} else {
		logger.InfoContext(r.Context(), "request rejected", "code", he.Code, "status", he.Status, "error", err.Error())
	}
	body := map[string]any{}
	for k, v := range he.Extra {
		body[k] = v
	}
	body["error"] = map[string]string{"code": he.Code, "message": he.Message}
	WriteJSON(w, he.Status, body)
}

// WriteJSON writes v as the JSON body with the given status. The answer is
// not cached unless the handler set its own Cache-Control.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Default().Warn("write response", "error", err.Error())
	}
}

// ReadBody reads at most limit bytes of the request body, answering 413
// (body_too_large) when there is more.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "The request body is larger than %d bytes.", limit)
	case err != nil:
		return nil, Errorf(http.StatusBadRequest, "invalid_request", "The request body could not be read.")
	}
	return body, nil
}

// DecodeJSON reads a JSON object of at most MaxBodyBytes into dst. Unknown
// fields, trailing data and malformed JSON are 400 invalid_request, with the
// offending field named when the decoder knows it.
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	body, err := ReadBody(w, r, MaxBodyBytes)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return Errorf(http.StatusBadRequest, "invalid_request", "The request body is not valid JSON for this endpoint: %s.", describeJSONError(err))
	}
	if dec.More() {
		return Errorf(http.StatusBadRequest, "invalid_request", "The request body must be a single JSON object.")
	}
	return nil
}

func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "the body is empty"
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %q must be a %s", typ.Field, typ.Type)
		}
		return fmt.Sprintf("expected a %s", typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	default:
		return "malformed JSON"
	}
}

// Method rejects requests whose method is not one of allowed.
func Method(r *http.Request, allowed ...string) error {
	for _, m := range allowed {
		if r.Method == m {
			return nil
		}
	}
	return ErrMethodNotAllowed
}

// EmptyBody accepts a request body that is empty or an empty JSON object,
// for endpoints that take no fields.
func EmptyBody(w http.ResponseWriter, r *http.Request) error {
	body, err := ReadBody(w, r, MaxBodyBytes)
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return err
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil || len(fields) > 0 {
		return Errorf(http.StatusBadRequest, "invalid_request", "This endpoint takes no fields; send an empty body or {}.")
	}
	return nil
}
