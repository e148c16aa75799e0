// Command devserver serves every registered function on 127.0.0.1:$PORT at
// /<EntryPoint>, the functions framework's own layout when FUNCTION_TARGET is
// unset. With DEV_AUTH_KEY set it also serves that local issuer's keys at
// /dev/jwks, so tokens minted by `devtool token` verify.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ "example.com/billing" // registers the functions
	"example.com/billing/shared/logging"
	"example.com/billing/shared/testsupport/devauth"
)

func main() {
	logger := logging.Default()
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if path := os.Getenv("DEV_AUTH_KEY"); path != "" {
		iss, err := devauth.LoadOrCreate(path, devauth.Issuer, devauth.Audience)
		if err != nil {
			fatal(logger, "load dev auth key", err)
		}
		jwks := iss.JWKS()
		if err := funcframework.RegisterHTTPFunctionContext(context.Background(), "/dev/jwks", func(w http.ResponseWriter, r *http.Request) {
			jwks.ServeHTTP(w, r)
		}); err != nil {
			fatal(logger, "register /dev/jwks", err)
		}
	}
	if os.Getenv("DEV_PPROF") != "" {
		// Profiles for scripts/bench.sh; the deployed functions never have it.
		for path, h := range map[string]http.HandlerFunc{"/debug/pprof/": pprof.Index, "/debug/pprof/profile": pprof.Profile} {
			if err := funcframework.RegisterHTTPFunctionContext(context.Background(), path, h); err != nil {
				fatal(logger, "register pprof", err)
			}
		}
	}
	logger.Info("serving functions", "address", "127.0.0.1:"+port)
	if err := funcframework.StartHostPort("127.0.0.1", port); err != nil {
		fatal(logger, "serve", err)
	}
}

func fatal(logger *slog.Logger, what string, err error) {
	logger.Error(what, "error", err.Error())
	os.Exit(1)
}
