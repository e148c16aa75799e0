package stripetest

import (
	"net/http"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// limits are how the double answers load, as Stripe does across a network:
// a latency on every request, and Stripe's rate limiter.
type limits struct {
	mu        sync.Mutex
	latency   time.Duration
	rps       int         // 0: no rate limit
	admitted  []time.Time // requests the rate limit let through in the last second
	arrivals  []time.Time
	throttled int
}

// SetLatency makes every answer take d, as a request to Stripe takes tens
// to hundreds of milliseconds. Requests wait out their latency in parallel
// (the double still executes them one at a time, which takes microseconds).
func (s *Server) SetLatency(d time.Duration) {
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	s.limits.latency = d
}

// SetRateLimit makes the double refuse, like Stripe's rate limiter, any
// request beyond rps in the last second: 429 with code rate_limit, nothing
// executed and no idempotent result kept (Stripe sends no
// Stripe-Should-Retry with it, so stripe-go does not retry it). Refused
// requests do not count against the limit. Zero removes the limit.
func (s *Server) SetRateLimit(rps int) {
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	s.limits.rps, s.limits.admitted = rps, nil
}

// Arrivals returns when each request arrived, in arrival order (429s
// included), so a test can count requests per second as Stripe does.
func (s *Server) Arrivals() []time.Time {
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	return append([]time.Time(nil), s.limits.arrivals...)
}

// RateLimited is how many requests the rate limit refused.
func (s *Server) RateLimited() int {
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	return s.limits.throttled
}

// admit runs first for every request: it notes the arrival, applies the
// rate limit, waits out the latency, and answers a refused request itself
// (reporting false); an admitted one goes on to the API.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	l := &s.limits
	l.mu.Lock()
	now := time.Now()
	l.arrivals = append(l.arrivals, now)
	refused := false
	if l.rps > 0 {
		i := 0
		for i < len(l.admitted) && now.Sub(l.admitted[i]) >= time.Second {
			i++
		}
		l.admitted = l.admitted[i:]
		if refused = len(l.admitted) >= l.rps; refused {
			l.throttled++
		} else {
			l.admitted = append(l.admitted, now)
		}
	}
	latency := l.latency
	l.mu.Unlock()
	if latency > 0 {
		time.Sleep(latency)
	}
	if !refused {
		return true
	}
	resp := errorResponse(&apiError{status: http.StatusTooManyRequests, Type: typeInvalidRequest, Code: "rate_limit", unsaved: true,
		Message: "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."})
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, IdempotencyKey: r.Header.Get("Idempotency-Key"), Status: resp.status})
	s.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Request-Id", newID("req_", 14))
	h.Set("Stripe-Version", stripe.APIVersion)
	w.WriteHeader(resp.status)
	w.Write(resp.body)
	return false
}
