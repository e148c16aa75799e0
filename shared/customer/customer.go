// Package customer owns each user's account document and its Stripe
// customer. Ensure is the one way any payment path obtains a customer: it
// creates one lazily, adopts one whose Firestore write was lost, and never
// lets a user end up with two.
//
// Layout: accounts/{userId} holds email, customerId, paymentsStatus
// (pending | ready | failed), lastError, attempts and timestamps.
package customer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
)

// Payments statuses of an account.
const (
	StatusPending = "pending" // no customer yet; a later call or the sweep retries
	StatusReady   = "ready"   // the Stripe customer exists
	StatusFailed  = "failed"  // Stripe refused in a way a retry will not fix by itself
)

// Account is the stored account of a user.
type Account struct {
	UserID         string     `firestore:"-"`
	Email          string     `firestore:"email"`
	CustomerID     string     `firestore:"customerId"`
	PaymentsStatus string     `firestore:"paymentsStatus"`
	LastError      *LastError `firestore:"lastError,omitempty"`
	Attempts       int64      `firestore:"attempts"`
	CreatedAt      time.Time  `firestore:"createdAt"`
	UpdatedAt      time.Time  `firestore:"updatedAt"`
	LastAttemptAt  *time.Time `firestore:"lastAttemptAt,omitempty"`
}

// LastError is the last Stripe failure for the account.
type LastError struct {
	Operation string    `firestore:"operation"`
	Code      string    `firestore:"code"`
	Message   string    `firestore:"message"`
	At        time.Time `firestore:"at"`
}

// stripeCustomers is the part of the Stripe port Ensure needs.
type stripeCustomers interface {
	CreateCustomer(ctx context.Context, userID, email, idempotencyKey string) (payments.Customer, error)
	FindCustomerByUserID(ctx context.Context, userID string) (payments.Customer, error)
}

// Service ensures customers.
type Service struct {
	fs     *firestore.Client
	stripe stripeCustomers
	now    func() time.Time
}

// New returns a Service.
func New(fs *firestore.Client, stripe stripeCustomers) *Service {
	return &Service{fs: fs, stripe: stripe, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// IdempotencyKey is the Stripe idempotency key of a user's customer
// creation: every creator of one user's customer uses it, so concurrent
// creators within Stripe's 24 h key memory get the same customer.
func IdempotencyKey(userID string) string { return "customer:" + userID }

func (s *Service) ref(userID string) *firestore.DocumentRef {
	return s.fs.Collection(ledger.AccountsCollection).Doc(userID)
}

// Get returns the stored account, or ledger.ErrNotFound.
func (s *Service) Get(ctx context.Context, userID string) (Account, error) {
	if err := ledger.CheckID(userID); err != nil {
		return Account{}, err
	}
	snap, err := s.ref(userID).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return Account{}, fmt.Errorf("account %s: %w", userID, ledger.ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("read account %s: %w", userID, err)
	}
	return decode(snap)
}

func decode(snap *firestore.DocumentSnapshot) (Account, error) {
	var a Account
	if err := snap.DataTo(&a); err != nil {
		return Account{}, fmt.Errorf("decode account %s: %w", snap.Ref.ID, err)
	}
	a.UserID = snap.Ref.ID
	return a, nil
}

// Ensure returns the account with its Stripe customer, creating the customer
// if needed. The account is recorded first, so that when Stripe fails the
// user still exists (pending) and a later call or the sweep finishes the job.
// A Stripe failure is returned wrapped (errors.Is payments.ErrUnavailable,
// ErrMisconfigured, ...) together with the recorded account. Callers put the
// user id in the context's logger, so Stripe failures are logged with it.
func (s *Service) Ensure(ctx context.Context, userID, email string) (Account, error) {
	// The common case, a customer already recorded, costs one read.
	if acct, err := s.Get(ctx, userID); err == nil && acct.CustomerID != "" {
		return acct, nil
	}
	acct, err := s.claim(ctx, userID, email)
	if err != nil || acct.CustomerID != "" {
		return acct, err
	}
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
		cust, err = s.stripe.CreateCustomer(ctx, userID, acct.Email, IdempotencyKey(userID))
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
	return s.recordCustomer(ctx, userID, cust.ID)
}

// claim records the account (and the attempt) before Stripe is called.
func (s *Service) claim(ctx context.Context, userID, email string) (Account, error) {
	if err := ledger.CheckID(userID); err != nil {
		return Account{}, err
	}
	var acct Account
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(s.ref(userID))
		now := s.now()
		switch {
		case status.Code(err) == codes.NotFound:
			acct = Account{UserID: userID, Email: email, PaymentsStatus: StatusPending, CreatedAt: now}
		case err != nil:
			return err
		default:
			if acct, err = decode(snap); err != nil {
				return err
			}
			if acct.CustomerID != "" {
				return nil
			}
			if acct.Email == "" {
				acct.Email = email
			}
		}
		acct.Attempts++
		acct.UpdatedAt, acct.LastAttemptAt = now, &now
		return tx.Set(s.ref(userID), acct)
	})
	if err != nil {
		return Account{}, fmt.Errorf("record account %s: %w", userID, err)
	}
	return acct, nil
}

// recordCustomer stores the customer id unless another caller stored one
// first; the stored one wins, so every caller returns the same customer.
func (s *Service) recordCustomer(ctx context.Context, userID, customerID string) (Account, error) {
	var acct Account
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(s.ref(userID))
		if err != nil {
			return err
		}
		if acct, err = decode(snap); err != nil {
			return err
		}
		if acct.CustomerID != "" {
			if acct.CustomerID != customerID {
				logging.FromContext(ctx).ErrorContext(ctx, "a second Stripe customer exists for the user; keeping the recorded one",
					"user_id", userID, "customer_id", acct.CustomerID, "other_customer_id", customerID)
			}
			return nil
		}
		acct.CustomerID, acct.PaymentsStatus, acct.LastError, acct.UpdatedAt = customerID, StatusReady, nil, s.now()
		return tx.Set(s.ref(userID), acct)
	})
	if err != nil {
		return Account{}, fmt.Errorf("record customer of %s: %w", userID, err)
	}
	return acct, nil
}

// recordFailure notes the Stripe failure on the account and returns it.
// Misconfiguration and rejected requests mark the account failed (an
// operator must look); anything else leaves it pending for a retry.
func (s *Service) recordFailure(ctx context.Context, acct Account, cause error) (Account, error) {
	st := StatusPending
	if errors.Is(cause, payments.ErrMisconfigured) || errors.Is(cause, payments.ErrRejected) {
		st = StatusFailed
	}
	last := &LastError{Operation: "ensure customer", Message: cause.Error(), At: s.now()}
	var pe *payments.Error
	if errors.As(cause, &pe) {
		last.Operation, last.Code, last.Message = pe.Op, pe.Code, pe.Kind.Error()
	}
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(s.ref(acct.UserID))
		if err != nil {
			return err
		}
		if acct, err = decode(snap); err != nil {
			return err
		}
		if acct.CustomerID != "" {
			return nil // another caller succeeded meanwhile
		}
		acct.PaymentsStatus, acct.LastError, acct.UpdatedAt = st, last, s.now()
		return tx.Set(s.ref(acct.UserID), acct)
	})
	if err != nil {
		return acct, errors.Join(fmt.Errorf("ensure customer of %s: %w", acct.UserID, cause), fmt.Errorf("record failure: %w", err))
	}
	if acct.CustomerID != "" {
		return acct, nil
	}
	return acct, fmt.Errorf("ensure customer of %s: %w", acct.UserID, cause)
}
