package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/stripe/stripe-go/v76"
	"golang.org/x/time/rate"
)

// EndpointRPS and SearchRPS are Stripe's documented limits on a single
// endpoint (each also counts against the account's global rate): 25
// requests a second for most, 20 for the Search API
// (https://docs.stripe.com/rate-limits). A budget never paces one endpoint
// faster, so a sweep that calls one endpoint gets no 429 from it.
const (
	EndpointRPS = 25
	SearchRPS   = 20
)

// headroom widens the budget's second for the jitter of the requests'
// way to Stripe (see NewBudget).
const headroom = 100 * time.Millisecond

// After a 429 the budget pauses every request for a backoff (stripe-go's
// first, half a second) that doubles with each throttled pause in a row,
// and slows to three quarters of its rate; clean requests win the rate
// back a twenty-fifth of the budget a second. Against a limit below the
// budget (another client sharing the account's rate, test mode's 25) the
// rate settles just under it, probing again every few seconds.
const (
	firstPause = 500 * time.Millisecond
	maxPause   = 16 * time.Second
	slowDown   = 0.75
	recoverAll = 25 // seconds to climb back from the floor to the budget
)

// Budget is the rate of Stripe requests that background work (the sweeps)
// may spend: every request made with a context from [Paced] waits for it,
// stripe-go's own retries included, so the requests of all the workers of a
// run together never start faster than the budget. A 429 from Stripe (its
// rate limit, not a lock timeout) pauses every request of the budget, slows
// its rate, and the request is sent again after the pause: a 429 costs time,
// never a failure, unless the caller's context ends first.
type Budget struct {
	rps    float64
	global *rate.Limiter

	mu        sync.Mutex
	endpoints map[string]*rate.Limiter
	started   []time.Time // when the last ceil(rps) requests started, oldest first
	resumeAt  time.Time   // nothing starts before, after a 429
	strikes   int         // throttled pauses in a row
	raisedAt  time.Time   // the rate was last raised back towards rps

	requests, throttled atomic.Int64
}

// NewBudget returns a budget of rps requests a second. Requests start one at
// a time (no burst), spaced evenly, and no more than rps of them start in
// any second and a tenth (headroom), however late a worker was to send its
// turn: the network and a busy scheduler bunch requests on their way, and
// the budget must hold where Stripe counts them.
func NewBudget(rps float64) *Budget {
	return &Budget{rps: rps, global: rate.NewLimiter(rate.Limit(rps), 1), endpoints: map[string]*rate.Limiter{}}
}

// RPS is the budget's rate, in requests a second.
func (b *Budget) RPS() float64 { return b.rps }

// Requests and Throttled count the requests sent under the budget and the
// 429s Stripe answered them with.
func (b *Budget) Requests() int64  { return b.requests.Load() }
func (b *Budget) Throttled() int64 { return b.throttled.Load() }

// Usage counts what one run spent of its budget.
type Usage struct {
	requests, throttled atomic.Int64
}

// Requests is how many requests the run sent to Stripe (each retry counts).
func (u *Usage) Requests() int64 { return u.requests.Load() }

// Throttled is how many of them Stripe answered with a 429.
func (u *Usage) Throttled() int64 { return u.throttled.Load() }

type pacing struct {
	budget *Budget
	usage  *Usage
}

type pacingKey struct{}

// Paced returns ctx whose Stripe requests spend b and are counted in u
// (which may be nil).
func Paced(ctx context.Context, b *Budget, u *Usage) context.Context {
	if u == nil {
		u = &Usage{}
	}
	return context.WithValue(ctx, pacingKey{}, pacing{budget: b, usage: u})
}

// Throttled reports a failure that is Stripe's rate limit: the request was
// not carried out, trying later is all it takes, and it says nothing about
// the object or the user it was for.
func Throttled(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusTooManyRequests && e.Code != string(stripe.ErrorCodeLockTimeout)
}

// wait blocks until a request to endpoint may start, or ctx ends. It never
// gives up early (a deadline too close for the wait still waits it out), so
// that stripe-go, seeing the context done, does not retry.
func (b *Budget) wait(ctx context.Context, endpoint string) error {
	for {
		b.mu.Lock()
		pause := time.Until(b.resumeAt)
		b.mu.Unlock()
		if pause <= 0 {
			break
		}
		if err := sleep(ctx, pause); err != nil {
			return err
		}
	}
	for _, lim := range []*rate.Limiter{b.endpoint(endpoint), b.global} {
		r := lim.Reserve()
		if err := sleep(ctx, r.Delay()); err != nil {
			r.Cancel()
			return err
		}
	}
	// The limiters space the turns; workers late for their turns (a busy
	// machine) must still not make any second carry more than rps.
	for {
		b.mu.Lock()
		now, n := time.Now(), max(int(math.Ceil(b.rps)), 1)
		if len(b.started) < n || now.Sub(b.started[0]) >= time.Second+headroom {
			b.started = append(b.started, now)
			if len(b.started) > n {
				b.started = b.started[1:]
			}
			b.mu.Unlock()
			return nil
		}
		d := b.started[0].Add(time.Second + headroom).Sub(now)
		b.mu.Unlock()
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// endpoint returns the limiter of one Stripe endpoint.
func (b *Budget) endpoint(key string) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	lim, ok := b.endpoints[key]
	if !ok {
		limit := float64(EndpointRPS)
		if strings.HasSuffix(key, "/search") {
			limit = SearchRPS
		}
		lim = rate.NewLimiter(rate.Limit(min(limit, b.rps)), 1)
		b.endpoints[key] = lim
	}
	return lim
}

// throttle starts a pause after a 429 (unless one is under way, which this
// 429 belongs to) and slows the rate; retryAfter, when Stripe sends one,
// is the shortest pause.
func (b *Budget) throttle(retryAfter time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if now.Before(b.resumeAt) {
		return
	}
	b.strikes++
	pause := min(firstPause<<(b.strikes-1), maxPause)
	pause -= time.Duration(rand.Int64N(int64(pause / 4))) // jitter: runs do not resume in step
	b.resumeAt = now.Add(max(pause, retryAfter))
	b.global.SetLimit(max(b.global.Limit()*slowDown, rate.Limit(b.rps/32)))
	b.raisedAt = b.resumeAt
}

// ok notes a request Stripe did not throttle: the pauses in a row end, and
// the rate climbs back towards the budget.
func (b *Budget) ok() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.strikes = 0
	lim := float64(b.global.Limit())
	if lim >= b.rps {
		return
	}
	if now := time.Now(); now.Sub(b.raisedAt) >= time.Second {
		b.global.SetLimit(rate.Limit(min(b.rps, lim+b.rps/recoverAll)))
		b.raisedAt = now
	}
}

// pacedTransport makes every request whose context carries a budget wait
// for it, and sends a throttled one again after the budget's pause. The
// client's timeout is its, per attempt: waiting for the budget is not
// Stripe being slow.
type pacedTransport struct {
	next    http.RoundTripper
	timeout time.Duration
}

// paceable returns a copy of c whose requests honour a budget in their
// context; requests without one pass through as before.
func paceable(c *http.Client) *http.Client {
	out := *c
	next := out.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	out.Transport, out.Timeout = pacedTransport{next: next, timeout: c.Timeout}, 0
	return &out
}

// errTimeout: Stripe did not answer one attempt in time.
var errTimeout = errors.New("stripe did not answer in time")

// send makes one attempt within the timeout, which also bounds reading the
// answer's body.
func (t pacedTransport) send(req *http.Request) (*http.Response, error) {
	if t.timeout <= 0 {
		return t.next.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		if req.Context().Err() == nil && ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%v): %w", errTimeout, t.timeout, err)
		}
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func (t pacedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	p, ok := req.Context().Value(pacingKey{}).(pacing)
	if !ok {
		return t.send(req)
	}
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	ctx := req.Context()
	endpoint := endpointOf(req.Method, req.URL.Path)
	for {
		if err := p.budget.wait(ctx, endpoint); err != nil {
			return nil, err
		}
		attempt := req.Clone(ctx)
		if body != nil {
			attempt.Body = io.NopCloser(bytes.NewReader(body))
			attempt.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			attempt.ContentLength = int64(len(body))
		}
		p.budget.requests.Add(1)
		p.usage.requests.Add(1)
		resp, err := t.send(attempt)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Stripe-Should-Retry") == "false" {
			if resp.StatusCode != http.StatusTooManyRequests {
				p.budget.ok()
			}
			return resp, nil
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if code := errorCode(raw); code == string(stripe.ErrorCodeLockTimeout) {
			// One object was busy, not the account: stripe-go retries it.
			resp.Body = io.NopCloser(bytes.NewReader(raw))
			return resp, nil
		}
		p.budget.throttled.Add(1)
		p.usage.throttled.Add(1)
		p.budget.throttle(retryAfter(resp.Header.Get("Retry-After")))
	}
}

// endpointOf names the Stripe endpoint of a request: its method and path
// with object ids taken out ("POST /v1/customers/{id}/balance_transactions").
func endpointOf(method, path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if j := strings.IndexByte(s, '_'); j > 0 && strings.IndexFunc(s[j+1:], func(r rune) bool { return unicode.IsDigit(r) || unicode.IsUpper(r) }) >= 0 {
			segs[i] = "{id}"
		}
	}
	return method + " " + strings.Join(segs, "/")
}

func errorCode(body []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Error.Code
}

func retryAfter(v string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}
