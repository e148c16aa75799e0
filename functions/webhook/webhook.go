// Package webhook is the StripeWebhook function: it verifies each event's
// signature, then applies the event through the ledger's exactly-once
// Process, which records the event id in the same Firestore transaction as
// its effect. It answers 200 for processed, duplicate and ignored events,
// 400 for anything unsigned or malformed (writing nothing), and 5xx only for
// transient failures, so that Stripe retries exactly what needs retrying.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/stripe/stripe-go/v76"

	"example.com/billing/shared/httpx"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/platform"
	"example.com/billing/shared/store"
)

// maxEventBytes bounds a webhook body. Stripe's events are far larger than
// the console's 64 KiB limit when they carry invoices with many lines.
const maxEventBytes = 1 << 20

type (
	events interface {
		Process(ctx context.Context, ev ledger.Event, effect ledger.Effect) (ledger.Outcome, error)
		SettleTopUp(p ledger.Payment) ledger.Effect
		RefundCharge(r ledger.ChargeRefund) ledger.Effect
		DisputeOpened(d ledger.Dispute) ledger.Effect
		DisputeClosed(d ledger.Dispute) ledger.Effect
	}
	deletions interface {
		InvoicePaid(inv payments.Invoice) ledger.Effect
		Advance(ctx context.Context, userID string) error
	}
	credits interface {
		Created(inv payments.Invoice) ledger.Effect
		Finish(ctx context.Context, userID, invoiceID string) error
	}
)

// Server handles Stripe's webhook deliveries.
type Server struct {
	secrets   []string
	ledger    events
	deletions deletions
	credits   credits
}

// NewServer wires a Server that accepts events signed with any of secrets.
// The deletion and invoice-credit services may be nil in tests that send no
// invoice events.
func NewServer(secrets []string, l events, d deletions, c credits) *Server {
	return &Server{secrets: secrets, ledger: l, deletions: d, credits: c}
}

var (
	errBadSignature = httpx.Errorf(http.StatusBadRequest, "invalid_signature", "The Stripe-Signature header is missing, stale, or does not match the payload.")
	errMalformed    = httpx.Errorf(http.StatusBadRequest, "malformed_event", "The body is not a Stripe event this endpoint can read.")
	errTransient    = httpx.Errorf(http.StatusServiceUnavailable, "temporarily_unavailable", "The event could not be recorded right now; retry later.")
)

type response struct {
	Received bool   `json:"received"`
	Result   string `json:"result"`
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out, err := s.handleWebhook(w, r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, response{Received: true, Result: out.Result})
}

func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) (ledger.Outcome, error) {
	if err := httpx.Method(r, http.MethodPost); err != nil {
		return ledger.Outcome{}, err
	}
	body, err := httpx.ReadBody(w, r, maxEventBytes)
	if err != nil {
		return ledger.Outcome{}, err
	}
	ev, err := payments.VerifyEvent(body, r.Header.Get("Stripe-Signature"), s.secrets)
	switch {
	case errors.Is(err, payments.ErrBadSignature):
		return ledger.Outcome{}, errBadSignature.WithCause(err)
	case err != nil:
		return ledger.Outcome{}, errMalformed.WithCause(err)
	case store.CheckID(ev.ID) != nil:
		return ledger.Outcome{}, errMalformed.WithCause(fmt.Errorf("event id %q", ev.ID))
	}
	ctx := r.Context()
	logger := logging.FromContext(ctx).With("event_id", ev.ID, "event_type", string(ev.Type))

	effect, objectID, err := s.effectOf(ev)
	if err != nil {
		return ledger.Outcome{}, errMalformed.WithCause(err)
	}
	out, err := s.ledger.Process(ctx, ledger.Event{ID: ev.ID, Type: string(ev.Type), ObjectID: objectID}, effect)
	if err != nil {
		// Every Firestore failure is treated as transient, including the
		// InvalidArgument a dropped connection leaves behind: Stripe retries
		// for three days and nothing was recorded.
		return ledger.Outcome{}, errTransient.WithCause(err)
	}
	attrs := []any{"result", out.Result, "object_id", objectID, "user_id", out.UserID, "transaction_id", out.TransactionID, "amount", out.Amount}
	if out.Detail != "" {
		attrs = append(attrs, "detail", out.Detail)
	}
	if out.Result == ledger.ResultUnmatched {
		logger.WarnContext(ctx, "stripe event matched nothing of ours", attrs...)
	} else {
		logger.InfoContext(ctx, "stripe event processed", attrs...)
	}
	// A paid final invoice has work outside Firestore (cards, the
	// account-deleted event). It runs from the recorded state, also on a
	// duplicate delivery (the first one may have died right after the
	// commit); what fails here the deletion sweep finishes.
	settled := out.UserID != "" && (out.Result == ledger.ResultApplied || out.Result == ledger.ResultDuplicate)
	if ev.Type == stripe.EventTypeInvoicePaid && settled {
		if err := s.deletions.Advance(ctx, out.UserID); err != nil {
			logger.WarnContext(ctx, "deletion not completed yet; the sweep will finish it", "user_id", out.UserID, "error", err.Error())
		}
	}
	// Likewise the credit recorded for a new invoice is applied in Stripe
	// from its ledger entry; Reconcile finishes what fails here.
	if ev.Type == stripe.EventTypeInvoiceCreated && settled {
		if err := s.credits.Finish(ctx, out.UserID, objectID); err != nil {
			logger.WarnContext(ctx, "invoice credit not applied in Stripe yet; reconcile will finish it", "user_id", out.UserID, "error", err.Error())
		}
	}
	return out, nil
}

// effectOf chooses what an event does. Unknown types are recorded as
// ignored, so that their redeliveries are recognised as duplicates too.
func (s *Server) effectOf(ev stripe.Event) (ledger.Effect, string, error) {
	var status string
	switch ev.Type {
	case stripe.EventTypeChargeRefunded:
		var ch stripe.Charge
		if err := json.Unmarshal(ev.Data.Raw, &ch); err != nil || ch.ID == "" {
			return nil, "", fmt.Errorf("%s: data.object is not a charge: %v", ev.Type, err)
		}
		return s.ledger.RefundCharge(ledger.ChargeRefund{PaymentIntentID: idOf(ch.PaymentIntent), ChargeID: ch.ID, AmountRefunded: ch.AmountRefunded}), ch.ID, nil
	case stripe.EventTypeChargeDisputeCreated, stripe.EventTypeChargeDisputeClosed:
		var dp stripe.Dispute
		if err := json.Unmarshal(ev.Data.Raw, &dp); err != nil || dp.ID == "" {
			return nil, "", fmt.Errorf("%s: data.object is not a dispute: %v", ev.Type, err)
		}
		d := ledger.Dispute{ID: dp.ID, PaymentIntentID: idOf(dp.PaymentIntent), Amount: dp.Amount, Status: string(dp.Status)}
		if ev.Type == stripe.EventTypeChargeDisputeCreated {
			return s.ledger.DisputeOpened(d), dp.ID, nil
		}
		return s.ledger.DisputeClosed(d), dp.ID, nil
	case stripe.EventTypeInvoicePaid, stripe.EventTypeInvoiceCreated:
		var inv stripe.Invoice
		if err := json.Unmarshal(ev.Data.Raw, &inv); err != nil || inv.ID == "" {
			return nil, "", fmt.Errorf("%s: data.object is not an invoice: %v", ev.Type, err)
		}
		if ev.Type == stripe.EventTypeInvoiceCreated {
			return s.credits.Created(payments.InvoiceFrom(&inv)), inv.ID, nil
		}
		return s.deletions.InvoicePaid(payments.InvoiceFrom(&inv)), inv.ID, nil
	case stripe.EventTypePaymentIntentSucceeded:
		status = ledger.StatusSucceeded
	case stripe.EventTypePaymentIntentPaymentFailed:
		status = ledger.StatusFailed
	case stripe.EventTypePaymentIntentCanceled:
		status = ledger.StatusCanceled
	default:
		return ledger.Ignore("event type not handled"), objectID(ev), nil
	}
	var pi stripe.PaymentIntent
	if err := json.Unmarshal(ev.Data.Raw, &pi); err != nil || pi.ID == "" {
		return nil, "", fmt.Errorf("%s: data.object is not a payment intent: %v", ev.Type, err)
	}
	p := ledger.Payment{
		UserID:          pi.Metadata[payments.MetadataUserID],
		TransactionID:   pi.Metadata[payments.MetadataTransactionID],
		PaymentIntentID: pi.ID,
		Status:          status,
		AmountReceived:  pi.AmountReceived,
		Currency:        string(pi.Currency),
	}
	switch {
	case status == ledger.StatusCanceled:
		p.FailureCode, p.FailureMessage = "canceled", string(pi.CancellationReason)
	case pi.LastPaymentError != nil:
		p.FailureCode, p.FailureMessage = string(pi.LastPaymentError.Code), pi.LastPaymentError.Msg
	}
	return s.ledger.SettleTopUp(p), pi.ID, nil
}

func idOf(pi *stripe.PaymentIntent) string {
	if pi == nil {
		return ""
	}
	return pi.ID
}

// objectID reads data.object.id of any event, for the record.
func objectID(ev stripe.Event) string {
	var obj struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(ev.Data.Raw, &obj)
	return obj.ID
}

var server = sync.OnceValues(func() (http.Handler, error) {
	cfg, err := platform.StripeConfig()
	if err != nil {
		return nil, err
	}
	if err := cfg.ValidateWebhook(); err != nil {
		return nil, err
	}
	l, err := platform.Ledger()
	if err != nil {
		return nil, err
	}
	d, err := platform.Deletions()
	if err != nil {
		return nil, err
	}
	c, err := platform.InvoiceCredits()
	if err != nil {
		return nil, err
	}
	return NewServer(cfg.Secrets(), l, d, c), nil
})

// Handle is the StripeWebhook entry point.
func Handle(w http.ResponseWriter, r *http.Request) {
	platform.Serve(w, r, "StripeWebhook", server)
}
