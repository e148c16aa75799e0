package customer

import (
	"context"
	"errors"

	"example.com/billing/shared/account"
)

// EnsureMissing is Ensure for a caller that has just read the account
// (Get) and found no customer, as checkout does: it goes straight to the
// claim, whose transaction reads the account anyway, so the account is not
// read a second time outside it.
func (s *Service) EnsureMissing(ctx context.Context, userID, email string) (account.Account, error) {
	acct, err := s.claim(ctx, userID, email, always)
	if err != nil || acct.CustomerID != "" {
		return acct, err
	}
	if acct, err = s.create(ctx, acct); errors.Is(err, errSuperseded) {
		// Deleted in Stripe meanwhile: the current generation's customer.
		acct, _, err = s.ensureWhen(ctx, userID, email, always)
	}
	return acct, err
}
