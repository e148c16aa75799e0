// Package customer owns each user's Stripe customer. Ensure is the one way
// any payment path obtains a customer: it records the account before
// calling Stripe (so Stripe being down or misconfigured never loses or
// blocks a user), creates the customer lazily, adopts one whose Firestore
// write was lost, and never lets a user end up with two. Accounts still
// without a customer carry a repairAt time, with exponential backoff, which
// the RepairCustomers sweep works through. The account document belongs to
// package account: this package decides, and records through it.
//
// Layout: stripe_customers/{customerId} holds userId, the user of a customer.
package customer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"example.com/billing/shared/account"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/store"
)

// Payments statuses of an account.
const (
	// StatusPending: no customer yet; a later call or the sweep retries
	// (Stripe unreachable, or our key rejected: an operator's fix, not the
	// user's).
	StatusPending = account.PaymentsPending
	// StatusReady: the Stripe customer exists.
	StatusReady = account.PaymentsReady
	// StatusFailed: Stripe refused this user's request itself; the sweep
	// still retries, with backoff, but someone should look.
	StatusFailed = account.PaymentsFailed
)

// Backoff between attempts for one account: 5 s doubling up to an hour.
// It paces only the sweep: a person waiting (EnsureNow) is served at once,
// but for RetryGuard after any attempt, which absorbs bursts.
const (
	firstBackoff = 5 * time.Second
	maxBackoff   = time.Hour
	RetryGuard   = 2 * time.Second
)

// Backoff is the wait after the n-th failed attempt (n >= 1).
func Backoff(n int64) time.Duration {
	d := firstBackoff
	for i := int64(1); i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// ErrNotDue: the account is waiting out its backoff (or another worker holds
// it); nothing was attempted.
var ErrNotDue = errors.New("account is not due for another attempt")

// errSuperseded: a customer created for a generation the account has left
// (its customer was deleted in Stripe meanwhile); the next attempt creates
// the current generation's.
var errSuperseded = errors.New("customer superseded")

// stripeCustomers is the part of the Stripe port Ensure needs.
type stripeCustomers interface {
	CreateCustomer(ctx context.Context, userID, email, idempotencyKey string) (payments.Customer, error)
	FindCustomerByUserID(ctx context.Context, userID string) (payments.Customer, error)
}

// Service ensures customers.
type Service struct {
	fs       *firestore.Client
	accounts *account.Store
	stripe   stripeCustomers
	now      func() time.Time
}

// New returns a Service.
func New(fs *firestore.Client, stripe stripeCustomers) *Service {
	return &Service{fs: fs, accounts: account.NewStore(fs), stripe: stripe,
		now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// WithClock replaces the service's clock (tests step it across backoffs).
func (s *Service) WithClock(now func() time.Time) *Service {
	s.now = now
	return s
}

// IndexCollection maps a Stripe customer to its user
// (stripe_customers/{customerId}: userId), so that events about a customer
// (invoices) find the user by document id.
const IndexCollection = "stripe_customers"

// UserIn reads, inside tx, the user of a Stripe customer.
func (s *Service) UserIn(tx *firestore.Transaction, customerID string) (string, bool, error) {
	if store.CheckID(customerID) != nil {
		return "", false, nil
	}
	snap, err := tx.Get(s.fs.Collection(IndexCollection).Doc(customerID))
	if status.Code(err) == codes.NotFound {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	userID, _ := snap.Data()["userId"].(string)
	return userID, userID != "", nil
}

// IdempotencyKey is the Stripe idempotency key of a user's customer
// creation: every creator of one user's customer uses it, so concurrent
// creators within Stripe's 24 h key memory get the same customer.
func IdempotencyKey(userID string) string { return "customer:" + userID }

// KeyFor is the key of the user's customer of a generation: the first
// (generation 0) uses IdempotencyKey; each customer deleted in Stripe moves
// the account to the next generation, whose key is new, since the old key
// would return the deleted customer. Likewise each create Stripe failed
// with a 5xx while executing moves it to the next key round (round 0 adds
// nothing), since the old key would replay that error for 24 hours.
func KeyFor(userID string, generation, round int64) string {
	key := IdempotencyKey(userID)
	if generation != 0 {
		key = fmt.Sprintf("%s:%d", key, generation)
	}
	if round != 0 {
		key = fmt.Sprintf("%s:r%d", key, round)
	}
	return key
}

// SearchLag is how long a new customer may take to show in Stripe's
// Search API: a create under a new key round waits for it to pass since
// the account's last failure, so that the search before it finds a
// customer the failed request created nonetheless.
const SearchLag = time.Minute

// keyRound is the round whose key an attempt at now creates with: the
// account's, once the search can be trusted to find what the failed
// request of the round before may have created; until then the previous
// one (which replays Stripe's saved error, changing nothing).
func keyRound(acct account.Account, now time.Time) int64 {
	round := acct.CustomerKeyRound
	if round > 0 && acct.LastError != nil && now.Sub(acct.LastError.At) < SearchLag {
		round--
	}
	return round
}

// savedByStripe reports a failure Stripe keeps as the idempotency key's
// result: a 5xx from an endpoint that had started executing (an error
// Stripe raises before, such as a 429 or a parameter error, is not
// saved; a replayed 5xx is the saved one again).
func savedByStripe(err error) bool {
	var pe *payments.Error
	return errors.As(err, &pe) && pe.Status >= 500
}

// Get returns the stored account, or store.ErrNotFound.
func (s *Service) Get(ctx context.Context, userID string) (account.Account, error) {
	return s.accounts.Get(ctx, userID)
}

// Ensure returns the account with its Stripe customer, creating the customer
// if needed; it always tries Stripe when the customer is missing. A Stripe
// failure is returned wrapped (errors.Is payments.ErrUnavailable,
// ErrMisconfigured, ...) together with the recorded account. Callers put the
// user id in the context's logger, so Stripe failures are logged with it.
func (s *Service) Ensure(ctx context.Context, userID, email string) (account.Account, error) {
	acct, _, err := s.ensureWhen(ctx, userID, email, always)
	return acct, err
}

// EnsureNow is Ensure for a page load: a person is waiting, so a missing
// customer is tried at once whatever the sweep's backoff, except within
// RetryGuard of the last attempt (a burst of page loads, or Stripe still
// down a second ago), when the account is returned as recorded with
// ErrNotDue.
func (s *Service) EnsureNow(ctx context.Context, userID, email string) (account.Account, error) {
	acct, _, err := s.ensureWhen(ctx, userID, email, unlessJustTried)
	return acct, err
}

// EnsureIfDue is Ensure for callers that must not hammer Stripe (the
// sweep): an account waiting out its backoff, or claimed by another worker
// a moment ago, is returned as recorded with ErrNotDue.
func (s *Service) EnsureIfDue(ctx context.Context, userID, email string) (account.Account, error) {
	acct, _, err := s.ensure(ctx, userID, email, true)
	return acct, err
}

// claimMode says when a missing customer is tried.
type claimMode int

const (
	always          claimMode = iota // Ensure
	unlessJustTried                  // EnsureNow: not within RetryGuard of the last attempt
	onlyIfDue                        // EnsureIfDue and the sweep: not before repairAt
)

// ensure also reports whether this call went to Stripe for the customer.
func (s *Service) ensure(ctx context.Context, userID, email string, ifDue bool) (account.Account, bool, error) {
	if ifDue {
		return s.ensureWhen(ctx, userID, email, onlyIfDue)
	}
	return s.ensureWhen(ctx, userID, email, always)
}

func (s *Service) ensureWhen(ctx context.Context, userID, email string, mode claimMode) (account.Account, bool, error) {
	// The common case, a customer already recorded, costs one read.
	if acct, err := s.Get(ctx, userID); err == nil && acct.CustomerID != "" {
		return acct, false, nil
	}
	acct, err := s.claim(ctx, userID, email, mode)
	if err != nil || acct.CustomerID != "" {
		return acct, false, err
	}
	if acct, err = s.create(ctx, acct); errors.Is(err, errSuperseded) {
		// The customer was deleted in Stripe while this attempt created
		// one for the old generation: create the new generation's now.
		if acct, err = s.claim(ctx, userID, email, always); err == nil && acct.CustomerID == "" {
			acct, err = s.create(ctx, acct)
		}
	}
	return acct, true, err
}

// create finds or creates the customer of a claimed account and records it.
func (s *Service) create(ctx context.Context, acct account.Account) (account.Account, error) {
	userID := acct.UserID
	var err error
	var cust payments.Customer
	if acct.Attempts > 1 {
		// An earlier attempt may have created the customer and died before
		// recording it, longer ago than Stripe remembers idempotency keys.
		cust, err = s.stripe.FindCustomerByUserID(ctx, userID)
		if err != nil && !errors.Is(err, payments.ErrNotFound) {
			return s.recordFailure(ctx, acct, err)
		}
	}
	if cust.ID == "" {
		round := keyRound(acct, s.now())
		cust, err = s.stripe.CreateCustomer(ctx, userID, acct.Email, KeyFor(userID, acct.CustomerGeneration, round))
		if savedByStripe(err) {
			acct.CustomerKeyRound = round + 1
		}
		if errors.Is(err, payments.ErrRejected) {
			// The key was first used with other parameters (the email
			// changed between attempts): the customer exists; find it.
			if found, ferr := s.stripe.FindCustomerByUserID(ctx, userID); ferr == nil {
				cust, err = found, nil
			}
		}
		if err != nil {
			return s.recordFailure(ctx, acct, err)
		}
	}
	return s.recordCustomer(ctx, userID, cust.ID, acct.CustomerGeneration)
}

// claim records the account and the attempt before Stripe is called, and
// moves repairAt past the attempt, a lease that keeps sweeps off an account
// someone is working on. With onlyIfDue an account whose repairAt is still
// ahead is left alone; with unlessJustTried one attempted within RetryGuard.
func (s *Service) claim(ctx context.Context, userID, email string, mode claimMode) (account.Account, error) {
	if err := store.CheckID(userID); err != nil {
		return account.Account{}, err
	}
	var acct account.Account
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		stored, err := s.accounts.GetIn(tx, userID)
		now := s.now()
		isNew, newEmail := false, ""
		switch {
		case errors.Is(err, store.ErrNotFound):
			isNew = true
			acct = account.Account{UserID: userID, Email: email, PaymentsStatus: StatusPending, CreatedAt: now}
		case err != nil:
			return err
		default:
			acct = stored
			if acct.CustomerID != "" {
				return nil
			}
			if mode == onlyIfDue && acct.RepairAt != nil && acct.RepairAt.After(now) {
				return ErrNotDue
			}
			if mode == unlessJustTried && acct.LastAttemptAt != nil && now.Sub(*acct.LastAttemptAt) < RetryGuard {
				return ErrNotDue
			}
			if acct.Email == "" && email != "" {
				acct.Email, newEmail = email, email
			}
		}
		acct.Attempts++
		lease := now.Add(Backoff(acct.Attempts))
		acct.UpdatedAt, acct.LastAttemptAt, acct.RepairAt = now, &now, &lease
		attempt := account.Attempt{Number: acct.Attempts, At: now, Lease: lease}
		if isNew {
			return s.accounts.Open(tx, userID, email, attempt)
		}
		return s.accounts.RecordAttempt(tx, userID, newEmail, attempt)
	})
	if errors.Is(err, ErrNotDue) {
		return acct, err
	}
	if err != nil {
		return account.Account{}, fmt.Errorf("record account %s: %w", userID, err)
	}
	return acct, nil
}

// recordCustomer stores the customer id (created for the account's
// generation) unless another caller stored one first; the stored one wins,
// so every caller returns the same customer. A customer of an older
// generation (created before the account's customer was deleted in Stripe)
// is never stored.
func (s *Service) recordCustomer(ctx context.Context, userID, customerID string, generation int64) (account.Account, error) {
	var acct account.Account
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		var err error
		if acct, err = s.accounts.GetIn(tx, userID); err != nil {
			return err
		}
		if acct.CustomerID != "" {
			if acct.CustomerID != customerID {
				logging.FromContext(ctx).ErrorContext(ctx, "a second Stripe customer exists for the user; keeping the recorded one",
					"customer_id", acct.CustomerID, "other_customer_id", customerID)
			}
			return nil
		}
		if acct.CustomerGeneration != generation {
			return fmt.Errorf("customer %s was created for generation %d, the account is at %d: %w", customerID, generation, acct.CustomerGeneration, errSuperseded)
		}
		now := s.now()
		acct.CustomerID, acct.PaymentsStatus, acct.LastError, acct.RepairAt, acct.UpdatedAt = customerID, StatusReady, nil, nil, now
		if err := tx.Set(s.fs.Collection(IndexCollection).Doc(customerID), map[string]any{"userId": userID, "createdAt": now}); err != nil {
			return err
		}
		return s.accounts.SetCustomer(tx, userID, customerID, now)
	})
	if err != nil {
		return account.Account{}, fmt.Errorf("record customer of %s: %w", userID, err)
	}
	logging.FromContext(ctx).InfoContext(ctx, "stripe customer ready", "customer_id", acct.CustomerID)
	return acct, nil
}

// recordFailure notes the Stripe failure on the account, schedules the next
// attempt after the backoff, and returns the failure. It records even when
// the caller's deadline has passed: a lost note would hide the account from
// the sweep's reasons.
func (s *Service) recordFailure(ctx context.Context, acct account.Account, cause error) (account.Account, error) {
	if cutShort(ctx, cause) {
		return s.reschedule(ctx, acct, cause)
	}
	st := StatusPending
	if errors.Is(cause, payments.ErrRejected) {
		st = StatusFailed
	}
	now := s.now()
	last := &account.LastError{Operation: "ensure customer", Kind: "unknown", Message: cause.Error(), At: now}
	var pe *payments.Error
	if errors.As(cause, &pe) {
		last.Operation, last.Kind, last.Code, last.Message = pe.Op, pe.Kind.Error(), pe.Code, pe.Message
	}
	next := now.Add(Backoff(acct.Attempts))
	attempted := acct
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		stored, err := s.accounts.GetIn(tx, acct.UserID)
		if err != nil {
			return err
		}
		if acct = stored; acct.CustomerID != "" {
			return nil // another caller succeeded meanwhile
		}
		round := max(stored.CustomerKeyRound, attempted.CustomerKeyRound)
		acct.PaymentsStatus, acct.LastError, acct.RepairAt, acct.UpdatedAt, acct.CustomerKeyRound = st, last, &next, now, round
		return s.accounts.RecordFailure(tx, acct.UserID, st, *last, next, now, round)
	})
	if err != nil {
		return acct, errors.Join(fmt.Errorf("ensure customer of %s: %w", acct.UserID, cause), fmt.Errorf("record failure: %w", err))
	}
	if acct.CustomerID != "" {
		return acct, nil
	}
	return acct, fmt.Errorf("ensure customer of %s: %w", acct.UserID, cause)
}

// reschedule makes an attempt cut short by Stripe's rate limit or the
// caller's deadline due again at once, and returns the cause: the account's
// status, last error and backoff are not its business.
func (s *Service) reschedule(ctx context.Context, acct account.Account, cause error) (account.Account, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		stored, err := s.accounts.GetIn(tx, acct.UserID)
		if err != nil {
			return err
		}
		if acct = stored; acct.CustomerID != "" {
			return nil
		}
		now := s.now()
		acct.RepairAt, acct.UpdatedAt = &now, now
		return s.accounts.Reschedule(tx, acct.UserID, now, now)
	})
	if err != nil {
		return acct, errors.Join(fmt.Errorf("ensure customer of %s: %w", acct.UserID, cause), fmt.Errorf("reschedule: %w", err))
	}
	if acct.CustomerID != "" {
		return acct, nil
	}
	return acct, fmt.Errorf("ensure customer of %s: %w", acct.UserID, cause)
}
