// Package stripetest is a stateful, in-memory test double of the Stripe API
// that tests drive through the real stripe-go v76 client.
//
// Unlike stripe-mock, which only checks request shapes and answers with
// canned fixtures, the double keeps the objects it creates, so a test can run
// a whole billing flow against it: create a customer, charge it, see the
// payment fail or succeed, and receive the events Stripe would have sent.
//
// It models exactly the calls the Stripe port (shared/payments) makes, plus
// the few the tests make to play the rest of Stripe: customers (create,
// search by metadata), card PaymentIntents (create, confirmed or not,
// retrieve, list by creation time, cancel), refunds of their charges, the
// cards saved on a customer (list, retrieve, detach), one-off invoices built
// from invoice items (create, retrieve, list by status, search by metadata,
// finalize, send, mark uncollectible), paid through their own PaymentIntent,
// and customer balances, which invoices use up when they are finalized. It
// honours idempotency keys (24 hours, same parameters only), answers with
// Stripe's statuses, error bodies and object shapes at API version 2023-10-16
// (the version stripe-go v76 pins), and records the events of the types the
// billing webhook handles (payment_intent.succeeded, .payment_failed,
// .canceled, charge.refunded, invoice.created, invoice.paid).
//
// Point stripe-go at it with [Server.Client], or build a client from
// [Server.URL] and [Key]:
//
//	srv := stripetest.New(t)
//	sc := srv.Client()
//
// A request it does not implement gets Stripe's 404 for an unknown URL, and a
// parameter it does not model gets a 400 naming stripetest, so a test never
// passes by silently exercising something the double only pretends to do.
//
// The double has its own clock ([Server.Advance]): it stamps created times
// and expires idempotency keys, so tests control both.
package stripetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Key is the secret API key the double accepts until [Server.SetAPIKey]
// changes it.
const Key = "sk_test_double"

// Server is a running Stripe API double. All its methods are safe for
// concurrent use; requests are served one at a time, which also makes the
// order of events and idempotent replays deterministic.
type Server struct {
	srv    *httptest.Server
	routes []route

	mu         sync.Mutex
	apiKey     string
	now        time.Time
	downStatus int
	failCount  int
	failStatus int
	// crashCount requests that reach an endpoint fail inside it (see
	// FailNextExecuting).
	crashCount  int
	crashStatus int
	requests    []Request
	idempotent  map[idempotencyScope]*idempotentResult
	events      []recordedEvent

	customers      *store[customer]
	paymentIntents *store[paymentIntent]
	paymentMethods *store[paymentMethod]
	charges        *store[charge]
	refunds        *store[refund]
	invoices       *store[invoice]
	invoiceItems   *store[invoiceItem]

	balanceTransactions *store[balanceTransaction]
	disputes            *store[dispute]

	limits limits // latency and rate limit (limits.go)
}

// Request is one HTTP request the double received, as [Server.Requests]
// reports it.
type Request struct {
	Method string
	// Path is the URL path without the query string.
	Path           string
	IdempotencyKey string
	// Replayed reports that the response was a stored idempotent result
	// rather than a fresh execution.
	Replayed bool
	Status   int
}

// New starts a double on a loopback address and closes it when the test
// ends. Its clock starts at the current wall time, truncated to the second
// because Stripe timestamps are whole seconds.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		apiKey:         Key,
		now:            time.Now().Truncate(time.Second),
		idempotent:     map[idempotencyScope]*idempotentResult{},
		customers:      newStore[customer]("customer"),
		paymentIntents: newStore[paymentIntent]("PaymentIntent"),
		paymentMethods: newStore[paymentMethod]("PaymentMethod"),
		charges:        newStore[charge]("charge"),
		refunds:        newStore[refund]("refund"),
		invoices:       newStore[invoice]("invoice"),
		invoiceItems:   newStore[invoiceItem]("invoiceitem"),

		balanceTransactions: newStore[balanceTransaction]("customer balance transaction"),
		disputes:            newStore[dispute]("dispute"),
	}
	s.routes = slices.Concat(s.customerRoutes(), s.paymentIntentRoutes(), s.paymentMethodRoutes(),
		s.refundRoutes(), s.invoiceRoutes(), s.invoiceItemRoutes(), s.balanceTransactionRoutes())
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.srv.Close)
	s.moneyRoutes()
	return s
}

// URL is the base URL to configure as stripe-go's API backend URL.
func (s *Server) URL() string { return s.srv.URL }

// Client returns a stripe-go client aimed at the double, with the key the
// double currently accepts. It keeps stripe-go's default retry policy, so
// retries (and their reuse of the idempotency key) happen as in production,
// but skips the sleep between attempts and the logging of expected errors,
// which would only slow and clutter tests.
func (s *Server) Client() *client.API {
	s.mu.Lock()
	key := s.apiKey
	s.mu.Unlock()
	b := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:             stripe.String(s.URL()),
		HTTPClient:      s.srv.Client(),
		LeveledLogger:   &stripe.LeveledLogger{Level: stripe.LevelNull},
		EnableTelemetry: stripe.Bool(false),
	})
	b.(*stripe.BackendImplementation).SetNetworkRetriesSleep(false)
	return client.New(key, &stripe.Backends{API: b, Connect: b, Uploads: b})
}

// SetAPIKey changes the secret key the double accepts; requests with any
// other key get Stripe's 401.
func (s *Server) SetAPIKey(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKey = k
}

// FailNext makes the next n requests fail with status (an api_error) before
// they reach any endpoint, so nothing changes and no idempotent result is
// stored. stripe-go retries some statuses (409, 503, and other 5xx on
// non-POST requests), and each retry consumes one of the n failures. A call
// replaces any failures still pending.
func (s *Server) FailNext(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCount, s.failStatus = n, status
}

// FailNextExecuting makes the next n requests that reach an endpoint fail
// with status (an api_error) once it has started executing, as Stripe's
// 500s do: nothing changes, and, like Stripe, the double saves the error
// as the idempotency key's result and replays it to every retry with that
// key for 24 hours. A call replaces any failures still pending.
func (s *Server) FailNextExecuting(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.crashCount, s.crashStatus = n, status
}

// SetDown makes every request fail with status, like [Server.FailNext],
// until SetDown(0).
func (s *Server) SetDown(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.downStatus = status
}

// Now is the double's clock (a local stack keeps it on the wall clock).
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Advance moves the double's clock forward by d. The clock moves only when
// Advance is called.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

// Requests returns every request received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// call is one API request as endpoint handlers see it.
type call struct {
	method         string
	path           string
	form           url.Values
	pathParams     map[string]string
	apiKey         string
	idempotencyKey string
	requestID      string
}

// handler executes an endpoint. It returns the object to send as JSON, or
// the Stripe error to send instead.
type handler func(*call) (any, *apiError)

// route maps a method and a path pattern, whose {name} segments capture path
// parameters, to a handler and the parameters the double models for it.
type route struct {
	method  string
	pattern string
	params  []string // see allowed
	handle  handler
}

// match reports whether r serves method and path, how many literal segments
// it matched (the most literal route wins, so /v1/customers/search beats
// /v1/customers/{id} wherever the routes are declared), and the captured
// parameters.
func (r route) match(method, path string) (literal int, params map[string]string, ok bool) {
	if r.method != method {
		return 0, nil, false
	}
	want, got := strings.Split(r.pattern, "/"), strings.Split(path, "/")
	if len(want) != len(got) {
		return 0, nil, false
	}
	params = map[string]string{}
	for i, seg := range want {
		switch {
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			if got[i] == "" {
				return 0, nil, false
			}
			params[seg[1:len(seg)-1]] = got[i]
		case seg == got[i]:
			literal++
		default:
			return 0, nil, false
		}
	}
	return literal, params, true
}

// response is what the double answers to one request.
type response struct {
	status int
	body   []byte
	// replayedFrom is the request id of the original request when this is a
	// stored idempotent result.
	replayedFrom string
}

// serveHTTP answers one HTTP request: the API work happens in serve, under
// the lock, and only the writing happens here.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r) {
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := &call{
		method:         r.Method,
		path:           r.URL.Path,
		apiKey:         strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "),
		idempotencyKey: r.Header.Get("Idempotency-Key"),
		requestID:      newID("req_", 14),
	}
	resp := s.serve(c, r.URL.RawQuery, body)

	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Request-Id", c.requestID)
	h.Set("Stripe-Version", stripe.APIVersion)
	if c.method == http.MethodPost && c.idempotencyKey != "" {
		h.Set("Idempotency-Key", c.idempotencyKey)
	}
	if resp.replayedFrom != "" {
		h.Set("Idempotent-Replayed", "true")
		h.Set("Original-Request", resp.replayedFrom)
	}
	w.WriteHeader(resp.status)
	w.Write(resp.body)
}

// serve runs one request under the lock and records it.
func (s *Server) serve(c *call, query string, body []byte) response {
	s.mu.Lock()
	defer s.mu.Unlock()

	resp := s.dispatch(c, query, body)
	s.requests = append(s.requests, Request{
		Method:         c.method,
		Path:           c.path,
		IdempotencyKey: c.idempotencyKey,
		Replayed:       resp.replayedFrom != "",
		Status:         resp.status,
	})
	return resp
}

// dispatch runs the layers a request passes through: injected faults first,
// so they never have side effects, then authentication, routing, the
// parameters the route models, the idempotency layer and finally the
// endpoint.
func (s *Server) dispatch(c *call, query string, body []byte) response {
	form, err := parseForm(query, body)
	c.form = form
	if err != nil {
		return errorResponse(invalidRequest("", "Invalid request body: "+err.Error()))
	}
	if s.downStatus != 0 {
		return errorResponse(fault(s.downStatus))
	}
	if s.failCount > 0 {
		s.failCount--
		return errorResponse(fault(s.failStatus))
	}
	if e := s.authenticate(c.apiKey); e != nil {
		return errorResponse(e)
	}

	r, ok := s.route(c)
	if !ok {
		return errorResponse(&apiError{
			status:  http.StatusNotFound,
			Type:    typeInvalidRequest,
			Message: "Unrecognized request URL (" + c.method + ": " + c.path + "). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
			unsaved: true,
		})
	}
	if e := allowed(c, r.params); e != nil {
		return errorResponse(e)
	}

	idempotent := c.method == http.MethodPost && c.idempotencyKey != ""
	if idempotent {
		prior, e := s.idempotentLookup(c)
		if e != nil {
			return errorResponse(e)
		}
		if prior != nil {
			return response{status: prior.status, body: prior.body, replayedFrom: prior.requestID}
		}
	}

	var obj any
	var e *apiError
	if s.crashCount > 0 {
		s.crashCount--
		e = &apiError{status: s.crashStatus, Type: typeAPI, Message: "An unknown error occurred while executing (injected by stripetest)."}
	} else {
		obj, e = r.handle(c)
	}
	resp := response{status: http.StatusOK}
	if e != nil {
		resp = errorResponse(e)
	} else {
		resp.body = mustJSON(obj)
	}
	if idempotent && (e == nil || !e.unsaved) {
		s.idempotentStore(c, resp)
	}
	return resp
}

// route finds the route for c and stores its path parameters in c.
func (s *Server) route(c *call) (route, bool) {
	best, bestLiteral := -1, -1
	var bestParams map[string]string
	for i, r := range s.routes {
		if literal, params, ok := r.match(c.method, c.path); ok && literal > bestLiteral {
			best, bestLiteral, bestParams = i, literal, params
		}
	}
	if best < 0 {
		return route{}, false
	}
	c.pathParams = bestParams
	return s.routes[best], true
}

func (s *Server) authenticate(key string) *apiError {
	if key == s.apiKey {
		return nil
	}
	msg := "Invalid API Key provided: " + redactKey(key)
	if key == "" {
		msg = "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/."
	}
	return &apiError{status: http.StatusUnauthorized, Type: typeInvalidRequest, Message: msg, unsaved: true}
}

// redactKey masks a key the way Stripe echoes it back: the prefix and the
// last four characters stay readable so a test can tell which key was sent.
func redactKey(key string) string {
	if len(key) <= 12 {
		return strings.Repeat("*", len(key))
	}
	return key[:8] + strings.Repeat("*", len(key)-12) + key[len(key)-4:]
}

// parseForm merges the query string and the form-encoded body: stripe-go
// puts GET parameters in the query and POST parameters in the body.
func parseForm(query string, body []byte) (url.Values, error) {
	form, err := url.ParseQuery(query)
	if err != nil {
		return url.Values{}, err
	}
	fromBody, err := url.ParseQuery(string(bytes.TrimSpace(body)))
	if err != nil {
		return form, err
	}
	for k, vs := range fromBody {
		form[k] = append(form[k], vs...)
	}
	return form, nil
}

// mustJSON encodes the double's own wire structs, which cannot fail to
// encode; a failure is a bug in the double.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("stripetest: encoding response: " + err.Error())
	}
	return b
}

// decode converts one of the double's wire structs into the stripe-go type a
// test inspects, going through JSON exactly as stripe-go's client would.
func decode[T any](v any) *T {
	out := new(T)
	if err := json.Unmarshal(mustJSON(v), out); err != nil {
		panic("stripetest: decoding into stripe-go type: " + err.Error())
	}
	return out
}
