package httpx_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"example.com/billing/shared/auth"
	"example.com/billing/shared/httpx"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
)

var (
	errMine     = errors.New("mine")
	myAnswer    = httpx.Errorf(http.StatusConflict, "my_code", "Mine.")
	myStorage   = httpx.Errorf(http.StatusServiceUnavailable, "temporarily_unavailable", "My storage sentence.")
	myProvider  = httpx.Errorf(http.StatusServiceUnavailable, "payment_provider_unavailable", "My provider sentence.")
	errTyped    = typedError{}
	stripeError = func(kind error, msg string) error {
		return fmt.Errorf("op: %w", &payments.Error{Op: "op", Kind: kind, Message: msg})
	}
)

type typedError struct{}

func (typedError) Error() string { return "typed" }

func TestErrorsMapBaseAndOverrides(t *testing.T) {
	t.Parallel()
	own := httpx.Errors{
		Is: []httpx.Rule{{Err: errMine, Answer: myAnswer}},
		As: func(err error) *httpx.Error {
			if errors.As(err, &typedError{}) {
				return httpx.Errorf(http.StatusGone, "typed", "Typed.")
			}
			return nil
		},
		Unavailable: myProvider, Storage: myStorage,
	}
	cases := []struct {
		name       string
		errs       httpx.Errors
		err        error
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"client error passes as is", own, httpx.Errorf(400, "invalid_amount", "x."), 400, "invalid_amount", "x."},
		{"bad token", own, fmt.Errorf("verify: %w", auth.ErrUnauthenticated), 401, "unauthenticated", "A valid bearer token is required."},
		{"own sentinel", own, fmt.Errorf("wrapped: %w", errMine), 409, "my_code", "Mine."},
		{"own typed error", own, fmt.Errorf("wrapped: %w", errTyped), 410, "typed", "Typed."},
		{"key reused", own, ledger.ErrConflict, 409, "idempotency_key_reused", "This Idempotency-Key was already used for a different request; use a new key for a new payment."},
		{"bad page token", own, ledger.ErrBadPageToken, 400, "invalid_request", "pageToken is not one this service issued; start again without it."},
		{"card declined with Stripe's sentence", own, stripeError(payments.ErrCardDeclined, "Your card has insufficient funds."), 402, "card_declined", "Your card has insufficient funds. Nothing was charged; try another card."},
		{"card declined without one", own, stripeError(payments.ErrCardDeclined, ""), 402, "card_declined", "Your card was declined. Nothing was charged; try another card."},
		{"Stripe down: own sentence", own, stripeError(payments.ErrUnavailable, ""), 503, "payment_provider_unavailable", "My provider sentence."},
		{"Stripe key rejected: an outage to the client", own, stripeError(payments.ErrMisconfigured, ""), 503, "payment_provider_unavailable", "My provider sentence."},
		{"Stripe refused: base sentence", own, stripeError(payments.ErrRejected, ""), 502, "payment_provider_unavailable", "The payment provider refused the request. Please try again later or contact support."},
		{"Stripe object missing", own, stripeError(payments.ErrNotFound, ""), 502, "payment_provider_unavailable", "The payment provider refused the request. Please try again later or contact support."},
		{"anything else: own storage sentence", own, errors.New("firestore: deadline exceeded"), 503, "temporarily_unavailable", "My storage sentence."},
		{"anything else: base sentence", httpx.Errors{}, errors.New("firestore: deadline exceeded"), 503, "temporarily_unavailable", "This cannot be done right now; please try again in a minute."},
		{"Stripe down: base sentence", httpx.Errors{}, stripeError(payments.ErrUnavailable, ""), 503, "payment_provider_unavailable", "The payment provider cannot be reached right now. Please try again in a minute."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mapped := tc.errs.Map(tc.err)
			var he *httpx.Error
			if !errors.As(mapped, &he) {
				t.Fatalf("Map(%v) = %v, not an *httpx.Error", tc.err, mapped)
			}
			got := []any{he.Status, he.Code, he.Message}
			if diff := cmp.Diff([]any{tc.wantStatus, tc.wantCode, tc.wantMsg}, got); diff != "" {
				t.Errorf("Map(%v) (-want +got):\n%s", tc.err, diff)
			}
			if !errors.Is(mapped, tc.err) && !errors.As(tc.err, new(*httpx.Error)) {
				t.Errorf("Map(%v) lost the cause for the log", tc.err)
			}
		})
	}
}

type fakeAuth struct{}

func (fakeAuth) Authenticate(r *http.Request) (auth.User, error) {
	if r.Header.Get("Authorization") != "Bearer good" {
		return auth.User{}, fmt.Errorf("%w: bad token", auth.ErrUnauthenticated)
	}
	return auth.User{ID: "u1", Email: "u1@example.com"}, nil
}

func TestConsoleEdge(t *testing.T) {
	t.Parallel()
	var seen []string
	h := httpx.Console(fakeAuth{}, http.MethodPost, httpx.Errors{Is: []httpx.Rule{{Err: errMine, Answer: myAnswer}}},
		func(w http.ResponseWriter, r *http.Request, user auth.User) (any, error) {
			logging.FromContext(r.Context()).InfoContext(r.Context(), "handled")
			seen = append(seen, user.ID)
			if r.URL.Query().Get("fail") != "" {
				return nil, errMine
			}
			return map[string]string{"userId": user.ID}, nil
		})
	cases := []struct {
		name, method, token, query string
		wantStatus                 int
		wantBody                   string
		wantCalled                 bool
	}{
		{"answers", http.MethodPost, "good", "", 200, `{"userId":"u1"}`, true},
		{"wrong method before the token", http.MethodGet, "", "", 405, `{"error":{"code":"method_not_allowed","message":"This endpoint does not accept that HTTP method."}}`, false},
		{"no token", http.MethodPost, "", "", 401, `{"error":{"code":"unauthenticated","message":"A valid bearer token is required."}}`, false},
		{"bad token", http.MethodPost, "bad", "", 401, `{"error":{"code":"unauthenticated","message":"A valid bearer token is required."}}`, false},
		{"function's error through its mapping", http.MethodPost, "good", "?fail=1", 409, `{"error":{"code":"my_code","message":"Mine."}}`, true},
	}
	for _, tc := range cases {
		seen = nil
		var logs strings.Builder
		req := httptest.NewRequest(tc.method, "/X"+tc.query, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		req = req.WithContext(logging.WithLogger(req.Context(), slog.New(slog.NewJSONHandler(&logs, nil))))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.wantStatus || strings.TrimSpace(rec.Body.String()) != tc.wantBody {
			t.Errorf("%s: answer = %d %s, want %d %s", tc.name, rec.Code, rec.Body.String(), tc.wantStatus, tc.wantBody)
		}
		if called := len(seen) > 0; called != tc.wantCalled {
			t.Errorf("%s: handler called = %v, want %v", tc.name, called, tc.wantCalled)
		}
		if tc.wantCalled && !strings.Contains(logs.String(), `"user_id":"u1"`) {
			t.Errorf("%s: the handler's log lines are not labelled with the user: %s", tc.name, logs.String())
		}
	}
}
