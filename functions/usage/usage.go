// Package usage is the OnUsageReported function: it stores each usage
// report of the satellite exactly once by reportId, so the deletion flow
// can bill usage since the last invoice. A redelivered report changes
// nothing; a report that can never be stored is logged and acknowledged;
// a Firestore failure is returned so Pub/Sub redelivers.
package usage

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"

	"example.com/billing/shared/events"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/metering"
	"example.com/billing/shared/platform"
)

type store interface {
	Save(ctx context.Context, r metering.Report) (bool, error)
}

// Reported returns the handler of one usage-reported message.
func Reported(s store) platform.EventHandler {
	return func(ctx context.Context, e event.Event) error {
		var raw rawJSON
		msg, err := events.Decode(e, &raw)
		logger := logging.FromContext(ctx).With("message_id", msg.ID)
		var r metering.Report
		if err == nil {
			r, err = metering.ParseReport(raw)
		}
		if err != nil {
			logger.ErrorContext(ctx, "poison usage-reported message acknowledged without processing", "error", err.Error())
			return nil
		}
		logger = logger.With("user_id", r.UserID, "report_id", r.ReportID)
		isNew, err := s.Save(ctx, r)
		if err != nil {
			logger.WarnContext(ctx, "usage report will be retried", "error", err.Error())
			return err
		}
		logger.InfoContext(ctx, "usage report stored", "new", isNew, "period_start", r.PeriodStart, "period_end", r.PeriodEnd)
		return nil
	}
}

// rawJSON keeps the message data as it came, for ParseReport.
type rawJSON []byte

func (r *rawJSON) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

// New builds OnUsageReported from the services.
func New(s *platform.Services) platform.EventHandler { return Reported(s.Usage) }
