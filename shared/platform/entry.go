package platform

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/cloudevents/sdk-go/v2/event"

	"example.com/billing/shared/httpx"
	"example.com/billing/shared/logging"
)

// Graph supplies the services a function is built from: Default in
// production, a test's own graph in tests.
type Graph func() (*Services, error)

// Of is the Graph of an already built s.
func Of(s *Services) Graph { return func() (*Services, error) { return s, nil } }

// EventHandler handles one CloudEvent.
type EventHandler func(ctx context.Context, e event.Event) error

// HTTP is the entry point of the HTTP function named function, whose handler
// build makes from the process's graph on the first request.
func HTTP(function string, build func(*Services) (http.Handler, error)) http.HandlerFunc {
	return Serve(Default, function, build)
}

// Console is the entry point of a console-facing function: the browser's
// CORS rules for CORS_ALLOWED_ORIGINS wrap everything, so the console's page
// can read every answer, errors included. Such a function verifies tokens,
// so one deployed without AUTH_* answers every request with 500
// service_misconfigured. (The webhook and the event functions grant no CORS.)
func Console(function string, build func(*Services) http.Handler) http.HandlerFunc {
	return ServeConsole(Default, function, build)
}

// ServeConsole is Serve for a console function on graph.
func ServeConsole(graph Graph, function string, build func(*Services) http.Handler) http.HandlerFunc {
	serve := Serve(graph, function, ConsoleBuilder(build))
	handler := sync.OnceValue(func() http.Handler {
		s, err := graph()
		if err != nil {
			// No configuration, no origins: the answer (500) has no CORS.
			return serve
		}
		return httpx.CORS(s.Config.CORS.Origins())(serve)
	})
	return func(w http.ResponseWriter, r *http.Request) { handler().ServeHTTP(w, r) }
}

// ConsoleBuilder adapts a console function's build to Serve.
func ConsoleBuilder(build func(*Services) http.Handler) func(*Services) (http.Handler, error) {
	return func(s *Services) (http.Handler, error) {
		if s.verifierErr != nil {
			return nil, fmt.Errorf("console token verifier: %w", s.verifierErr)
		}
		return build(s), nil
	}
}

// Event is the entry point of the CloudEvent function named function.
func Event(function string, build func(*Services) EventHandler) func(context.Context, event.Event) error {
	return ServeEvent(Default, function, build)
}

// Serve runs the handler build makes from graph, built once, with a request
// logger labelled with the function in the context. A handler that cannot be
// built (bad configuration) answers 500 service_misconfigured and logs why,
// on every request, so the problem is visible and fixed by a new deploy
// rather than hidden by a crash loop.
func Serve(graph Graph, function string, build func(*Services) (http.Handler, error)) http.HandlerFunc {
	handler := sync.OnceValues(func() (http.Handler, error) {
		s, err := graph()
		if err != nil {
			return nil, err
		}
		return build(s)
	})
	return func(w http.ResponseWriter, r *http.Request) {
		project := ""
		if s, err := graph(); err == nil {
			project = s.Config.Google.Project
		}
		logging.Middleware(logging.Default(), project, function, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h, err := handler()
			if err != nil {
				httpx.WriteError(w, r, &httpx.Error{
					Status: http.StatusInternalServerError, Code: "service_misconfigured",
					Message: "This service is misconfigured; the operators have been alerted.",
					Cause:   err,
				})
				return
			}
			h.ServeHTTP(w, r)
		})).ServeHTTP(w, r)
	}
}

// ServeEvent runs the handler build makes from graph, built once, with a
// logger labelled with the function and the event id. A handler that cannot
// be built returns the error, so the message is redelivered (and reaches the
// dead-letter topic) rather than lost while the configuration is being fixed.
func ServeEvent(graph Graph, function string, build func(*Services) EventHandler) func(context.Context, event.Event) error {
	handler := sync.OnceValues(func() (EventHandler, error) {
		s, err := graph()
		if err != nil {
			return nil, err
		}
		return build(s), nil
	})
	return func(ctx context.Context, e event.Event) error {
		logger := logging.Default().With("function", function, "event_id", e.ID())
		ctx = logging.WithLogger(ctx, logger)
		h, err := handler()
		if err != nil {
			logger.ErrorContext(ctx, "function is misconfigured", "error", err.Error())
			return err
		}
		return h(ctx, e)
	}
}
