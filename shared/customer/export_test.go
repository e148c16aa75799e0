package customer

import (
	"context"

	"example.com/billing/shared/account"
)

// RecordCustomer is recordCustomer, for the tests that play a creator whose
// answer comes back late.
func (s *Service) RecordCustomer(ctx context.Context, userID, customerID string, generation int64) (account.Account, error) {
	return s.recordCustomer(ctx, userID, customerID, generation)
}
