package onboarding

import (
	"context"
	"errors"

	"github.com/cloudevents/sdk-go/v2/event"

	"example.com/billing/shared/events"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/store"
)

// activation is the data of a user-activated message.
type activation struct {
	UserID string `json:"userId"`
	Email  string `json:"email"`
}

// UserActivated handles a user-activated message. The account is recorded
// before Stripe is called, so activation is never lost or blocked:
//   - a poison message (not JSON, no valid user id) is logged and
//     acknowledged, never retried;
//   - Firestore failing, or Stripe unreachable, returns the error, so Pub/Sub
//     redelivers with its backoff;
//   - Stripe rejecting our key or the request is logged and acknowledged:
//     the account stays pending/failed and RepairCustomers retries it once
//     an operator has fixed the cause.
func (s *Server) UserActivated(ctx context.Context, e event.Event) error {
	var a activation
	msg, err := events.Decode(e, &a)
	logger := logging.FromContext(ctx).With("message_id", msg.ID)
	if err == nil {
		err = store.CheckID(a.UserID)
	}
	if err != nil {
		logger.ErrorContext(ctx, "poison user-activated message acknowledged without processing", "error", err.Error())
		return nil
	}
	logger = logger.With("user_id", a.UserID)
	ctx = logging.WithLogger(ctx, logger)
	acct, err := s.customers.Ensure(ctx, a.UserID, a.Email)
	switch {
	case err == nil:
		logger.InfoContext(ctx, "user activated", "customer_id", acct.CustomerID)
		return nil
	case errors.Is(err, payments.ErrMisconfigured), errors.Is(err, payments.ErrRejected):
		logger.WarnContext(ctx, "user activated without a Stripe customer; the repair sweep will retry", "payments_status", acct.PaymentsStatus)
		return nil
	default:
		logger.WarnContext(ctx, "user activation will be retried", "error", err.Error())
		return err
	}
}
