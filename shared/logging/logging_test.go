package logging_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"example.com/billing/shared/logging"
)

func TestCloudLoggingFormatWithTrace(t *testing.T) {
	cases := []struct {
		name   string
		header http.Header
		want   map[string]any
	}{
		{
			name:   "traceparent",
			header: http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, "Function-Execution-Id": {"exec-1"}},
			want: map[string]any{"severity": "WARNING", "message": "hello", "function": "AddFunds", "user_id": "u1", "execution_id": "exec-1",
				"logging.googleapis.com/trace": "projects/p1/traces/4bf92f3577b34da6a3ce929d0e0e4736", "logging.googleapis.com/spanId": "00f067aa0ba902b7"},
		},
		{
			name:   "X-Cloud-Trace-Context",
			header: http.Header{"X-Cloud-Trace-Context": {"105445aa7843bc8bf206b12000100000/1;o=1"}},
			want: map[string]any{"severity": "WARNING", "message": "hello", "function": "AddFunds", "user_id": "u1",
				"logging.googleapis.com/trace": "projects/p1/traces/105445aa7843bc8bf206b12000100000", "logging.googleapis.com/spanId": "1"},
		},
		{
			name:   "no trace",
			header: http.Header{},
			want:   map[string]any{"severity": "WARNING", "message": "hello", "function": "AddFunds", "user_id": "u1"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := logging.Middleware(logging.New(&buf, slog.LevelInfo), "p1", "AddFunds", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				logging.FromContext(r.Context()).WarnContext(r.Context(), "hello", "user_id", "u1")
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header = tc.header
			h.ServeHTTP(httptest.NewRecorder(), req)
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("not one JSON line: %q", buf.String())
			}
			delete(got, "time")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("log line (-want +got):\n%s", diff)
			}
		})
	}
}
