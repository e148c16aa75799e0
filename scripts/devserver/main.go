// Command devserver serves every registered function on 127.0.0.1:$PORT at
// /<EntryPoint>, the functions framework's own layout when FUNCTION_TARGET is
// unset. With DEV_AUTH_KEY set it also serves that local issuer's keys at
// /dev/jwks, so tokens minted by `devtool token` verify. Also on $PORT, and
// never in functions.go: the OpenAPI document at /openapi.yaml and the
// local payer at POST /dev/pay (see pay.go). With CONSOLE_PORT set it serves
// the reference console page (DEV_CONSOLE_DIR, default scripts/console) on
// 127.0.0.1:$CONSOLE_PORT, its own origin.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ "example.com/billing" // registers the functions
	"example.com/billing/shared/httpx"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/openapi"
	"example.com/billing/shared/platform"
	"example.com/billing/shared/testsupport/devauth"
)

func main() {
	logger := logging.Default()
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	var iss *devauth.TokenIssuer
	if path := os.Getenv("DEV_AUTH_KEY"); path != "" {
		var err error
		iss, err = devauth.LoadOrCreate(path, devauth.Issuer, devauth.Audience)
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
	// The local endpoints get the functions' CORS, from the one Config.
	cfg, err := platform.LoadConfig(context.Background())
	if err != nil {
		fatal(logger, "configuration", err)
	}
	withCORS := httpx.CORS(cfg.CORS.Origins())
	for path, h := range map[string]http.Handler{
		"/openapi.yaml": http.HandlerFunc(serveOpenAPI),
		"/dev/pay":      http.HandlerFunc(servePay),
	} {
		h := withCORS(h)
		if err := funcframework.RegisterHTTPFunctionContext(context.Background(), path, h.ServeHTTP); err != nil {
			fatal(logger, "register "+path, err)
		}
	}
	if consolePort := os.Getenv("CONSOLE_PORT"); consolePort != "" {
		addr := "127.0.0.1:" + consolePort
		page := consoleHandler(env("DEV_CONSOLE_DIR", "scripts/console"), "http://127.0.0.1:"+port, iss)
		go func() {
			srv := &http.Server{Addr: addr, Handler: page, ReadHeaderTimeout: 10 * time.Second}
			fatal(logger, "serve the console page", srv.ListenAndServe())
		}()
		logger.Info("serving the reference console page", "address", addr)
	}
	logger.Info("serving functions", "address", "127.0.0.1:"+port)
	if err := funcframework.StartHostPort("127.0.0.1", port); err != nil {
		fatal(logger, "serve", err)
	}
}

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Write(openapi.Document)
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func fatal(logger *slog.Logger, what string, err error) {
	logger.Error(what, "error", err.Error())
	os.Exit(1)
}
