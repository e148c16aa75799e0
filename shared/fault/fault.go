// Package fault is the seam of the crash tests: named points in the flows
// (between a commit and a Stripe call, between a Stripe call and recording
// it, before publishing) where a test makes the process "die" by returning
// an error, to prove that the normal retry (a redelivered webhook, the
// client's retry, a sweep) ends in the same state as a run without a
// failure. A point does nothing unless the context carries an Injector, and
// production code never creates one.
package fault

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrInjected is what an armed point returns.
var ErrInjected = errors.New("injected fault")

// Injector arms points.
type Injector struct {
	mu    sync.Mutex
	armed map[string]int
	hits  map[string]int
}

// New returns an injector with nothing armed.
func New() *Injector {
	return &Injector{armed: map[string]int{}, hits: map[string]int{}}
}

// Fail arms point to fail the next times it is reached.
func (i *Injector) Fail(point string, times int) *Injector {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.armed[point] += times
	return i
}

// Hits reports how often point was reached.
func (i *Injector) Hits(point string) int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.hits[point]
}

type ctxKey struct{}

// With returns ctx carrying i.
func With(ctx context.Context, i *Injector) context.Context {
	return context.WithValue(ctx, ctxKey{}, i)
}

// Point is a named place a flow may die. It returns ErrInjected when the
// context's injector armed it, and nil otherwise (always, in production).
func Point(ctx context.Context, name string) error {
	i, ok := ctx.Value(ctxKey{}).(*Injector)
	if !ok {
		return nil
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.hits[name]++
	if i.armed[name] > 0 {
		i.armed[name]--
		return fmt.Errorf("%w at %s", ErrInjected, name)
	}
	return nil
}

// The points, named here so tests and code agree.
const (
	CheckoutAfterBegin    = "checkout.after-begin"    // pending transaction committed; Stripe not called
	CheckoutAfterIntent   = "checkout.after-intent"   // PaymentIntent created in Stripe; not recorded
	LedgerBeforeCommit    = "ledger.before-commit"    // effect applied in the transaction; not committed
	LedgerAfterCommit     = "ledger.after-commit"     // committed; the sender not answered
	DeletionAfterRecord   = "deletion.after-record"   // request committed; nothing in Stripe yet
	DeletionAfterLine     = "deletion.after-line"     // one line added to the draft final invoice; the rest not yet
	DeletionAfterDraft    = "deletion.after-draft"    // final invoice created as a draft; not finalized or recorded
	DeletionAfterInvoice  = "deletion.after-invoice"  // final invoice created and sent; not recorded
	DeletionAfterRefund   = "deletion.after-refund"   // a refund made in Stripe; not recorded
	DeletionAfterDetach   = "deletion.after-detach"   // cards detached; account not marked deleted
	OutboxAfterCommit     = "outbox.before-publish"   // event recorded; not published
	OutboxAfterPublish    = "outbox.after-publish"    // published; not marked published
	InvoiceCreditRecorded = "invoice-credit.recorded" // credit recorded and debited; Stripe not called
	InvoiceCreditApplied  = "invoice-credit.applied"  // credit applied in Stripe; not marked applied
)
