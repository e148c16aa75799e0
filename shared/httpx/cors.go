package httpx

import (
	"net/http"
	"time"

	"github.com/rs/cors"
)

// CORSMaxAge is how long a browser may reuse a preflight answer: long enough
// that a console page does not preflight every call, short enough that a
// change of CORS_ALLOWED_ORIGINS reaches browsers within minutes.
const CORSMaxAge = 10 * time.Minute

// CORS grants the console's browser code, served from one of origins (exact
// origins such as https://console.example.com), what the contract uses: GET
// and POST with Authorization, Content-Type and Idempotency-Key. Tokens travel
// in Authorization, never in cookies, so credentials are not allowed. A
// request from any other origin gets no CORS headers (the browser then
// blocks it) and is otherwise handled as if it had none; a preflight never
// reaches the handler.
func CORS(origins []string) func(http.Handler) http.Handler {
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Authorization", "Content-Type", "Idempotency-Key"},
		MaxAge:         int(CORSMaxAge / time.Second),
	}).Handler
}
