package httpx_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"example.com/billing/shared/httpx"
)

func TestWriteErrorHidesInternals(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   string
	}{
		{name: "client error", err: httpx.Errorf(400, "invalid_amount", "amount must be positive."), wantStatus: 400,
			wantBody: `{"error":{"code":"invalid_amount","message":"amount must be positive."}}`},
		{name: "cause is never sent", err: httpx.Errorf(503, "temporarily_unavailable", "try later.").WithCause(errors.New("secret detail")), wantStatus: 503,
			wantBody: `{"error":{"code":"temporarily_unavailable","message":"try later."}}`},
		{name: "unknown error", err: errors.New("db password wrong"), wantStatus: 500,
			wantBody: `{"error":{"code":"internal","message":"Something went wrong on our side; please try again."}}`},
		{name: "extra fields", err: &httpx.Error{Status: 409, Code: "deletion_blocked", Message: "pay first.", Extra: map[string]any{"amountOwed": 5}}, wantStatus: 409,
			wantBody: `{"amountOwed":5,"error":{"code":"deletion_blocked","message":"pay first."}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			httpx.WriteError(rec, httptest.NewRequest(http.MethodGet, "/", nil), tc.err)
			if rec.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tc.wantStatus)
			}
			if diff := cmp.Diff(tc.wantBody, strings.TrimSpace(rec.Body.String())); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	type target struct {
		Amount int64 `json:"amount"`
	}
	cases := []struct {
		name     string
		body     string
		wantCode string
		wantMsg  string
	}{
		{name: "ok", body: `{"amount": 5}`},
		{name: "empty", body: ``, wantCode: "invalid_request", wantMsg: "the body is empty"},
		{name: "syntax", body: `{"amount": }`, wantCode: "invalid_request", wantMsg: "malformed JSON at byte"},
		{name: "type", body: `{"amount": "5"}`, wantCode: "invalid_request", wantMsg: `field "amount" must be a int64`},
		{name: "unknown field", body: `{"amount": 5, "x": 1}`, wantCode: "invalid_request", wantMsg: `unknown field "x"`},
		{name: "trailing data", body: `{"amount": 5} {}`, wantCode: "invalid_request", wantMsg: "a single JSON object"},
		{name: "too large", body: `{"amount": 5, "pad": "` + strings.Repeat("x", httpx.MaxBodyBytes) + `"}`, wantCode: "body_too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v target
			err := httpx.DecodeJSON(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body)), &v)
			var he *httpx.Error
			switch {
			case tc.wantCode == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tc.wantCode == "":
				return
			case !errors.As(err, &he) || he.Code != tc.wantCode || !strings.Contains(he.Message, tc.wantMsg):
				t.Fatalf("err = %v, want %s containing %q", err, tc.wantCode, tc.wantMsg)
			}
		})
	}
}
