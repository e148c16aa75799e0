// Package logging owns structured logs: log/slog JSON lines in Cloud
// Logging's format (severity, message, trace), with the logger carried in the
// request context so every line of a request shares its trace and labels.
package logging

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
)

// Cloud Logging's special JSON keys.
const (
	traceKey       = "logging.googleapis.com/trace"
	spanKey        = "logging.googleapis.com/spanId"
	executionIDKey = "execution_id"
)

type ctxKey struct{}

// New returns a JSON logger in Cloud Logging's format writing to w.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level:       level,
		ReplaceAttr: replaceAttr,
	}))
}

func replaceAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.MessageKey:
		a.Key = "message"
	case slog.LevelKey:
		a.Key = "severity"
		a.Value = slog.StringValue(severity(a.Value.Any().(slog.Level)))
	}
	return a
}

func severity(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	default:
		return "DEBUG"
	}
}

var defaultLogger = New(os.Stdout, slog.LevelInfo)

// Default is the process logger: JSON on stdout, which Cloud Functions ships
// to Cloud Logging.
func Default() *slog.Logger { return defaultLogger }

// WithLogger returns a context carrying logger.
func WithLogger(ctx context.Context, logger *slog.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, logger)
}

// FromContext returns the context's logger, or Default.
func FromContext(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok {
		return l
	}
	return defaultLogger
}

// Middleware puts a request logger in the context, labelled with the
// function name, the Cloud Trace id (from X-Cloud-Trace-Context or
// traceparent) and the Cloud Functions execution id.
func Middleware(base *slog.Logger, project, function string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger := base.With("function", function)
		if trace, span := TraceFromHeaders(r.Header); trace != "" {
			logger = logger.With(traceKey, "projects/"+project+"/traces/"+trace)
			if span != "" {
				logger = logger.With(spanKey, span)
			}
		}
		if id := r.Header.Get("Function-Execution-Id"); id != "" {
			logger = logger.With(executionIDKey, id)
		}
		next.ServeHTTP(w, r.WithContext(WithLogger(r.Context(), logger)))
	})
}

// TraceFromHeaders extracts the trace and span ids from the W3C traceparent
// header or, failing that, Google's X-Cloud-Trace-Context.
func TraceFromHeaders(h http.Header) (trace, span string) {
	// traceparent: version-traceid-spanid-flags
	if parts := strings.Split(h.Get("traceparent"), "-"); len(parts) == 4 && len(parts[1]) == 32 {
		return parts[1], parts[2]
	}
	// X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=OPTIONS
	if v := h.Get("X-Cloud-Trace-Context"); v != "" {
		trace, rest, _ := strings.Cut(v, "/")
		span, _, _ = strings.Cut(rest, ";")
		return trace, span
	}
	return "", ""
}
