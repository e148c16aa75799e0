package onboarding

import (
	"context"
	"net/http"
	"sync"

	"github.com/cloudevents/sdk-go/v2/event"

	"example.com/billing/shared/platform"
)

// server serves the console; eventServer serves the Pub/Sub trigger, which
// needs no auth configuration.
var (
	server = sync.OnceValues(func() (*Server, error) {
		c, err := platform.Customers()
		if err != nil {
			return nil, err
		}
		v, err := platform.Verifier()
		if err != nil {
			return nil, err
		}
		return NewServer(v, c), nil
	})
	eventServer = sync.OnceValues(func() (*Server, error) {
		c, err := platform.Customers()
		if err != nil {
			return nil, err
		}
		return NewServer(nil, c), nil
	})
)

// HandleAccount is the Account entry point.
func HandleAccount(w http.ResponseWriter, r *http.Request) {
	platform.ServeConsole(w, r, "Account", func() (http.Handler, error) {
		s, err := server()
		if err != nil {
			return nil, err
		}
		return s.Account(), nil
	})
}

// HandleSetup is the AccountSetup entry point.
func HandleSetup(w http.ResponseWriter, r *http.Request) {
	platform.ServeConsole(w, r, "AccountSetup", func() (http.Handler, error) {
		s, err := server()
		if err != nil {
			return nil, err
		}
		return s.Setup(), nil
	})
}

// HandleUserActivated is the OnUserActivated entry point.
func HandleUserActivated(ctx context.Context, e event.Event) error {
	return platform.ServeEvent(ctx, e, "OnUserActivated", func() (platform.EventHandler, error) {
		s, err := eventServer()
		if err != nil {
			return nil, err
		}
		return s.UserActivated, nil
	})
}
