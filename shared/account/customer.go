package account

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/store"
)

// The Stripe customer's fields, written by package customer: it decides,
// these record. Each runs inside the caller's transaction, after its reads.

// Attempt is one claimed try at creating the account's Stripe customer,
// recorded before Stripe is called.
type Attempt struct {
	Number int64 // attempts so far, this one included
	At     time.Time
	// Lease is when the account is due again (repairAt): other workers
	// leave it alone until then.
	Lease time.Time
}

// Open records a new account, still without a customer, with its first
// attempt.
func (s *Store) Open(tx *firestore.Transaction, userID, email string, a Attempt) error {
	return tx.Set(s.Ref(userID), map[string]any{
		"email": email, "paymentsStatus": PaymentsPending, "createdAt": a.At, "customerId": "",
		"attempts": a.Number, "updatedAt": a.At, "lastAttemptAt": a.At, "repairAt": a.Lease,
	}, firestore.MergeAll)
}

// RecordAttempt records another attempt on an existing account; email is
// written when not empty (the caller passes it when the account has none).
func (s *Store) RecordAttempt(tx *firestore.Transaction, userID, email string, a Attempt) error {
	fields := map[string]any{"attempts": a.Number, "updatedAt": a.At, "lastAttemptAt": a.At, "repairAt": a.Lease}
	if email != "" {
		fields["email"] = email
	}
	return tx.Set(s.Ref(userID), fields, firestore.MergeAll)
}

// SetCustomer records the account's Stripe customer: payments are ready,
// the last error and the repair schedule are gone.
func (s *Store) SetCustomer(tx *firestore.Transaction, userID, customerID string, at time.Time) error {
	return tx.Set(s.Ref(userID), map[string]any{
		"customerId": customerID, "paymentsStatus": PaymentsReady,
		"lastError": firestore.Delete, "repairAt": firestore.Delete, "updatedAt": at,
	}, firestore.MergeAll)
}

// ForgetCustomer records that the account's Stripe customer is gone
// (deleted in Stripe): no customer, payments pending, due for repair at
// once, and generation (the customers deleted so far) for the next one's
// key.
func (s *Store) ForgetCustomer(tx *firestore.Transaction, userID string, generation int64, last LastError) error {
	return tx.Set(s.Ref(userID), map[string]any{
		"customerId": "", "paymentsStatus": PaymentsPending, "customerGeneration": generation,
		"lastError": &last, "repairAt": last.At, "updatedAt": last.At,
	}, firestore.MergeAll)
}

// RecordFailure records a failed attempt: the payments status it leaves
// (PaymentsPending or PaymentsFailed), the error, when to try again, and
// the customer key's round (see Account.CustomerKeyRound).
func (s *Store) RecordFailure(tx *firestore.Transaction, userID, paymentsStatus string, last LastError, next, at time.Time, keyRound int64) error {
	fields := map[string]any{"paymentsStatus": paymentsStatus, "lastError": &last, "repairAt": next, "updatedAt": at}
	if keyRound != 0 {
		fields["customerKeyRound"] = keyRound
	}
	return tx.Set(s.Ref(userID), fields, firestore.MergeAll)
}

// Reschedule makes an attempt that was cut short (Stripe's rate limit, the
// caller's time ran out) due again at next, leaving the payments status and
// the last error as they were: it was not the account's failure.
func (s *Store) Reschedule(tx *firestore.Transaction, userID string, next, at time.Time) error {
	return tx.Set(s.Ref(userID), map[string]any{"repairAt": next, "updatedAt": at}, firestore.MergeAll)
}

// DueQuery finds the accounts whose repairAt has passed at now, oldest
// first (a sweep pages through it).
func (s *Store) DueQuery(now time.Time) firestore.Query {
	return s.fs.Collection(store.AccountsCollection).
		Where("repairAt", "<=", now).
		OrderBy("repairAt", firestore.Asc)
}

// DueForRepair lists up to limit accounts whose repairAt has passed at now,
// oldest first.
func (s *Store) DueForRepair(ctx context.Context, now time.Time, limit int) ([]string, error) {
	snaps, err := s.DueQuery(now).Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("find accounts to repair: %w", err)
	}
	ids := make([]string, len(snaps))
	for i, snap := range snaps {
		ids[i] = snap.Ref.ID
	}
	return ids, nil
}
