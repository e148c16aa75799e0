// Package reconciler makes the ledger agree with Stripe when webhooks were
// lost or late. Reconcile lists the recent PaymentIntents of our top-ups
// and packages and settles every one that ended (succeeded or canceled)
// through the same mapping (shared/settlement) and the same exactly-once
// path as the webhook (dispatch.Process, which also sends a payment made to
// a closing account back to its card), so a late webhook after a
// reconcile, or the reverse, changes nothing. It then lists Stripe's recent events of every type the
// webhook handles and applies each through the webhook's own dispatch,
// with the event's own id (events.go). CancelStalePayments cancels top-ups left pending too
// long (the user walked away) and credits the ones that turn out to have
// succeeded.
package reconciler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/account"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/settlement"
	"example.com/billing/shared/store"
	"example.com/billing/shared/sweep"
)

type (
	intents interface {
		PaymentIntentsSince(ctx context.Context, since time.Time, fn func(payments.PaymentIntent) error) error
		GetPaymentIntent(ctx context.Context, id string) (payments.PaymentIntent, error)
		CancelPaymentIntent(ctx context.Context, id string) (payments.PaymentIntent, error)
		FindPaymentIntent(ctx context.Context, customerID, transactionID string, since time.Time) (payments.PaymentIntent, error)
		EventsSince(ctx context.Context, since time.Time, types []payments.EventType, fn func(payments.Event) error) error
	}
	customers interface {
		Get(ctx context.Context, userID string) (account.Account, error)
	}
	settler interface {
		SettleTopUp(p ledger.Payment) ledger.Effect
	}
)

// Config of the jobs.
type Config struct {
	// Window is how far back Reconcile looks: longer than Stripe's 3 days
	// of webhook retries, so everything a webhook could still fix is seen.
	Window time.Duration `env:"RECONCILE_WINDOW, default=72h"`
	// StaleAfter is when a pending top-up is abandoned.
	StaleAfter time.Duration `env:"STALE_PAYMENT_AGE, default=24h"`
	// BatchSize bounds one CancelStalePayments run.
	BatchSize int `env:"STALE_PAYMENT_BATCH_SIZE, default=100"`
}

// Service runs the jobs.
type Service struct {
	fs        *firestore.Client
	stripe    intents
	customers customers
	ledger    settler
	events    applier
	cfg       Config
	now       func() time.Time
}

// New wires a Service; customers gives a stale top-up's Stripe customer,
// events applies the Stripe events Reconcile lists (the webhook's
// dispatch).
func New(fs *firestore.Client, stripe intents, c customers, l settler, events applier, cfg Config) *Service {
	return &Service{fs: fs, stripe: stripe, customers: c, ledger: l, events: events, cfg: cfg, now: func() time.Time { return time.Now().UTC() }}
}

// WithClock replaces the service's clock.
func (s *Service) WithClock(now func() time.Time) *Service {
	s.now = now
	return s
}

// Report says what a run did; Fixed counts what only this run put right.
// The counts are of PaymentIntents; Events those of the events replayed.
// Throttled counts payments a 429 from Stripe (or the run's end) cut
// short: not failures, the next run takes them.
type Report struct {
	Seen, Fixed, Unchanged, Skipped, Failed, Throttled int
	Events                                             EventReport
}

// settle applies the final state of pi through the exactly-once ledger.
// The record id names the source and the state, so the same reconciliation
// repeated is a duplicate, while a webhook for the same payment is still
// kept out by the transaction's own credited flag.
func (s *Service) settle(ctx context.Context, source string, pi payments.PaymentIntent) (ledger.Outcome, error) {
	status, ended := settlement.Ended(pi)
	if !ended {
		return ledger.Outcome{Result: ledger.ResultIgnored}, nil
	}
	return s.events.Process(ctx, ledger.Event{ID: source + "-" + pi.Status + "-" + pi.ID, Type: source + ".payment_intent." + pi.Status, ObjectID: pi.ID},
		s.ledger.SettleTopUp(settlement.Payment(pi, status)))
}

func (r *Report) count(out ledger.Outcome, err error) {
	switch {
	case err != nil:
		r.Failed++
	case out.Result == ledger.ResultApplied:
		r.Fixed++
	case out.Result == ledger.ResultIgnored:
		r.Skipped++
	default:
		r.Unchanged++
	}
}

// errStopped ends a listing when the run stops taking work.
var errStopped = errors.New("the run stopped taking work")

// Reconcile settles every ended PaymentIntent of ours created inside the
// window: Stripe's pages of 100 under the run's budget, each payment
// settled on one of the run's workers (sweep.From). Each fix is logged; a
// failure to settle one is counted and the run goes on (the next run
// retries it). A run out of time stops listing; the next one starts over.
func (s *Service) Reconcile(ctx context.Context) (Report, error) {
	var (
		r  Report
		mu sync.Mutex
	)
	logger := logging.FromContext(ctx)
	run := sweep.From(ctx)
	err := s.stripe.PaymentIntentsSince(ctx, s.now().Add(-s.cfg.Window), func(pi payments.PaymentIntent) error {
		if kind := pi.Kind(); kind != ledger.TypeCardTopUp && kind != ledger.TypePackagePurchase {
			return nil // not a payment this service started
		}
		if !run.Go(ctx, func(ctx context.Context) error {
			out, err := s.settle(ctx, "reconcile", pi)
			mu.Lock()
			r.Seen++
			r.count(out, err)
			mu.Unlock()
			switch {
			case err != nil:
				logger.ErrorContext(ctx, "reconcile could not settle a payment", "payment_intent_id", pi.ID, "error", err.Error())
			case out.Result == ledger.ResultApplied:
				logger.WarnContext(ctx, "reconcile fixed a payment the webhook had not", "payment_intent_id", pi.ID,
					"status", pi.Status, "user_id", out.UserID, "transaction_id", out.TransactionID, "amount", out.Amount)
			}
			return err
		}) {
			return errStopped
		}
		return nil
	})
	run.Wait()
	if err != nil && !errors.Is(err, errStopped) {
		return r, fmt.Errorf("reconcile: %w", err)
	}
	if r.Events, err = s.replayEvents(ctx); err != nil {
		return r, fmt.Errorf("reconcile: %w", err)
	}
	logger.InfoContext(ctx, "reconcile done", "seen", r.Seen, "fixed", r.Fixed, "unchanged", r.Unchanged, "failed", r.Failed,
		"events_seen", r.Events.Seen, "events_applied", r.Events.Applied, "events_failed", r.Events.Failed)
	return r, nil
}

// CancelStalePayments cancels, in Stripe and in the ledger, the top-ups
// still pending after StaleAfter. One that succeeded meanwhile is credited
// instead; one that never reached Stripe is marked canceled (a later
// reconcile still credits it, should an intent for it turn up paid). A
// top-up without a recorded intent is looked up in Stripe first (see
// cancelOne): checkout does not record the intent of a fresh payment the
// browser has yet to confirm.
//
// It works through every stale top-up, oldest first, BatchSize read at a
// time, on the workers and within the time and Stripe budget of the run in
// ctx (sweep.From). Only a failure to query Firestore is an error.
func (s *Service) CancelStalePayments(ctx context.Context) (Report, error) {
	var (
		r  Report
		mu sync.Mutex
	)
	logger := logging.FromContext(ctx)
	stale := func() firestore.Query {
		return s.fs.CollectionGroup(ledger.TransactionsCollection).
			Where("status", "==", ledger.StatusPending).Where("type", "in", ledger.PaymentTypes).Where("createdAt", "<", s.now().Add(-s.cfg.StaleAfter)).
			OrderBy("createdAt", firestore.Asc)
	}
	err := sweep.From(ctx).Drain(ctx, stale, s.cfg.BatchSize, func(ctx context.Context, snap *firestore.DocumentSnapshot) error {
		var t ledger.Transaction
		if err := snap.DataTo(&t); err != nil {
			mu.Lock()
			r.Failed++
			mu.Unlock()
			return err
		}
		t.ID = snap.Ref.ID
		out, err := s.cancelOne(ctx, t)
		mu.Lock()
		r.Seen++
		if err != nil && (payments.Throttled(err) || ctx.Err() != nil) {
			r.Throttled++
		} else {
			r.count(out, err)
		}
		mu.Unlock()
		if err != nil {
			logger.ErrorContext(ctx, "could not settle a stale payment", "user_id", t.UserID, "transaction_id", t.ID, "error", err.Error())
			return err
		}
		logger.InfoContext(ctx, "stale payment settled", "user_id", t.UserID, "transaction_id", t.ID, "payment_intent_id", t.PaymentIntentID, "result", out.Result, "amount", out.Amount)
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("find stale payments: %w", err)
	}
	return r, nil
}

func (s *Service) cancelOne(ctx context.Context, t ledger.Transaction) (ledger.Outcome, error) {
	id := t.PaymentIntentID
	if id == "" {
		found, err := s.findIntent(ctx, t)
		if err != nil {
			return ledger.Outcome{}, err
		}
		id = found.ID
	}
	if id == "" {
		return s.events.Process(ctx, ledger.Event{ID: "stale-" + t.UserID + "-" + t.ID, Type: "stale.transaction"},
			s.ledger.SettleTopUp(ledger.Payment{UserID: t.UserID, TransactionID: t.ID, Status: ledger.StatusCanceled, Currency: t.Currency,
				FailureCode: "abandoned", FailureMessage: "The payment never reached the payment provider."}))
	}
	pi, err := s.stripe.CancelPaymentIntent(ctx, id)
	if err != nil {
		return ledger.Outcome{}, err
	}
	if _, ended := settlement.Ended(pi); !ended {
		// processing: the bank has not answered; leave it for next time.
		return ledger.Outcome{Result: ledger.ResultIgnored}, nil
	}
	if pi.TransactionID() != t.ID {
		return ledger.Outcome{}, errors.New("payment intent " + pi.ID + " is not the transaction's")
	}
	return s.settle(ctx, "stale", pi)
}

// findIntent looks up in Stripe the intent of a pending top-up that has
// none recorded: checkout leaves a fresh payment's intent unrecorded until
// Stripe reports its outcome (and a crash can leave any unrecorded), yet it
// exists and can still be paid. Checkout made it for the account's customer
// with the transaction in its metadata. No customer, or no such intent,
// means the payment never reached Stripe: the zero PaymentIntent. (An
// intent of a customer since deleted in Stripe and replaced is not found;
// should it be paid, Reconcile still credits it.)
func (s *Service) findIntent(ctx context.Context, t ledger.Transaction) (payments.PaymentIntent, error) {
	acct, err := s.customers.Get(ctx, t.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return payments.PaymentIntent{}, nil
	case err != nil:
		return payments.PaymentIntent{}, err
	case acct.CustomerID == "":
		return payments.PaymentIntent{}, nil
	}
	pi, err := s.stripe.FindPaymentIntent(ctx, acct.CustomerID, t.ID, t.CreatedAt.Add(-time.Minute))
	if errors.Is(err, payments.ErrNotFound) {
		return payments.PaymentIntent{}, nil
	}
	return pi, err
}
