package customer

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/account"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/store"
)

// Customers deleted in Stripe are repaired: customer.deleted (CustomerDeleted)
// or a call that finds the customer missing (Forget) clears the recorded
// customer and moves the account to its next generation, due for repair at
// once; the next Ensure creates a new customer under that generation's key
// (KeyFor). The index of the deleted customer stays: its invoices still
// name the user.

// CustomerDeleted is the effect of customer.deleted: the account whose
// recorded customer it is forgets it. A customer that is not (or no
// longer) an account's current one changes nothing.
func (s *Service) CustomerDeleted(customerID string) ledger.Effect {
	return ledger.ReadsItself(func(ctx context.Context, tx *firestore.Transaction) (ledger.Outcome, error) {
		userID, ok, err := s.UserIn(tx, customerID)
		if err != nil || !ok {
			return ledger.Outcome{Result: ledger.ResultUnmatched, Detail: "not one of our customers"}, err
		}
		out := ledger.Outcome{UserID: userID}
		forgot, err := s.forgetIn(tx, userID, customerID, "the Stripe customer was deleted")
		if err != nil {
			return ledger.Outcome{}, err
		}
		if !forgot {
			out.Result, out.Detail = ledger.ResultUnchanged, "not the account's current customer"
			return out, nil
		}
		out.Result, out.Detail = ledger.ResultApplied, "customer forgotten; the next ensure creates a new one"
		return out, nil
	})
}

// Forget clears the user's recorded customer, if it is still customerID:
// a call found it missing in Stripe (resource_missing). The caller may then
// Ensure a new one at once.
func (s *Service) Forget(ctx context.Context, userID, customerID string) error {
	var forgot bool
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		var err error
		forgot, err = s.forgetIn(tx, userID, customerID, "the Stripe customer is missing")
		return err
	})
	if err != nil {
		return fmt.Errorf("forget customer %s of %s: %w", customerID, userID, err)
	}
	if forgot {
		logging.FromContext(ctx).WarnContext(ctx, "stripe customer missing; forgotten, a new one will be created", "customer_id", customerID)
	}
	return nil
}

// forgetIn forgets, inside tx, the user's customer if it is customerID.
func (s *Service) forgetIn(tx *firestore.Transaction, userID, customerID, why string) (bool, error) {
	acct, err := s.accounts.GetIn(tx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil || acct.CustomerID == "" || acct.CustomerID != customerID {
		return false, err
	}
	now := s.now()
	return true, s.accounts.ForgetCustomer(tx, userID, acct.CustomerGeneration+1, account.LastError{
		Operation: "ensure customer", Kind: "customer_deleted", Code: "resource_missing", Message: why + ": " + customerID, At: now,
	})
}
