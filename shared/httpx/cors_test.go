package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"example.com/billing/shared/httpx"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	const console = "http://127.0.0.1:8081"
	cases := []struct {
		name        string
		method      string
		origin      string
		reqMethod   string // Access-Control-Request-Method: a preflight
		reqHeaders  string
		wantStatus  int
		wantHeaders map[string]string // "" means: absent
		wantCalled  bool
	}{
		{
			name: "preflight from the console", method: http.MethodOptions, origin: console,
			reqMethod: http.MethodPost, reqHeaders: "authorization,content-type,idempotency-key",
			wantStatus: http.StatusNoContent,
			wantHeaders: map[string]string{
				"Access-Control-Allow-Origin":      console,
				"Access-Control-Allow-Methods":     "POST",
				"Access-Control-Allow-Headers":     "authorization,content-type,idempotency-key",
				"Access-Control-Max-Age":           "600",
				"Access-Control-Allow-Credentials": "",
			},
		},
		{
			name: "preflight from another origin", method: http.MethodOptions, origin: "https://evil.example",
			reqMethod: http.MethodPost, reqHeaders: "authorization", wantStatus: http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "Access-Control-Allow-Headers": ""},
		},
		{
			name: "preflight for a method the contract does not use", method: http.MethodOptions, origin: console,
			reqMethod: http.MethodDelete, wantStatus: http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""},
		},
		{
			name: "preflight for a header the contract does not use", method: http.MethodOptions, origin: console,
			reqMethod: http.MethodGet, reqHeaders: "authorization,x-debug", wantStatus: http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Headers": ""},
		},
		{
			name: "a call from the console", method: http.MethodGet, origin: console, wantStatus: http.StatusOK, wantCalled: true,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": console, "Access-Control-Allow-Credentials": ""},
		},
		{
			name: "a call from another origin is handled as without CORS", method: http.MethodPost, origin: "http://127.0.0.1:9999",
			wantStatus: http.StatusOK, wantCalled: true, wantHeaders: map[string]string{"Access-Control-Allow-Origin": ""},
		},
		{
			name: "a call without Origin (curl, a server)", method: http.MethodGet, wantStatus: http.StatusOK, wantCalled: true,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": ""},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			called := false
			h := httpx.CORS([]string{console, "https://console.example.com"})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				httpx.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
			}))
			req := httptest.NewRequest(tc.method, "/Balance", nil)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.reqMethod != "" {
				req.Header.Set("Access-Control-Request-Method", tc.reqMethod)
			}
			if tc.reqHeaders != "" {
				req.Header.Set("Access-Control-Request-Headers", tc.reqHeaders)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tc.wantStatus)
			}
			if called != tc.wantCalled {
				t.Errorf("handler called = %v, want %v", called, tc.wantCalled)
			}
			got := map[string]string{}
			for name := range tc.wantHeaders {
				got[name] = strings.Join(rec.Header().Values(name), ",")
			}
			if diff := cmp.Diff(tc.wantHeaders, got); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			if !strings.Contains(strings.Join(rec.Header().Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q, want it to name Origin (caches must keep origins apart)", rec.Header().Values("Vary"))
			}
		})
	}
}
