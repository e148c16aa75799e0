package stripetest

import "testing"

// Standalone starts a double outside any test, for a local stack that wants
// a Stripe with state (scripts/devtool stripe): on a free loopback port,
// until stop is called. Everything else is as with [New], whose test API it
// leaves as it is.
func Standalone() (s *Server, stop func()) {
	var tb standaloneTB
	s = New(&tb)
	return s, func() {
		for i := len(tb.cleanups) - 1; i >= 0; i-- {
			tb.cleanups[i]()
		}
	}
}

// standaloneTB is the testing.TB that New is given outside a test. New only
// marks itself a helper and registers its cleanup; any other method of the
// embedded nil TB would panic, which TestStandalone would show.
type standaloneTB struct {
	testing.TB
	cleanups []func()
}

func (*standaloneTB) Helper()            {}
func (t *standaloneTB) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }
