// Package webhook is the StripeWebhook function: the Stripe port
// (shared/payments) verifies each event's signature and parses it into the
// project's own types, then shared/dispatch applies it through the
// ledger's exactly-once Process, which records the event id in the same
// Firestore transaction as its effect (Reconcile applies the events it
// lists through the same dispatch). It answers 200 for processed, duplicate
// and ignored events, 400 for anything unsigned or malformed (writing
// nothing), and 5xx only for transient failures, so that Stripe retries
// exactly what needs retrying.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"example.com/billing/shared/dispatch"
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
	applier interface {
		Apply(ctx context.Context, ev payments.Event) (ledger.Outcome, error)
	}
)

// Server handles Stripe's webhook deliveries.
type Server struct {
	secrets []string
	events  applier
}

// NewServer wires a Server that accepts events signed with any of secrets
// and applies them through l, d, c and i (see dispatch.New). The deletion
// and invoice-credit services may be nil in tests that send no invoice
// events, the intents where no dispute precedes its payment's success;
// customer events are ignored (New wires them).
func NewServer(secrets []string, l dispatch.Books, d dispatch.Deletions, c dispatch.Credits, i dispatch.Intents) *Server {
	return &Server{secrets: secrets, events: dispatch.New(l, d, c, nil, i)}
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
	ctx = logging.WithLogger(ctx, logger)

	out, err := s.events.Apply(ctx, ev)
	if err != nil {
		// Every Firestore failure is treated as transient, including the
		// InvalidArgument a dropped connection leaves behind: Stripe retries
		// for three days and nothing was recorded.
		return ledger.Outcome{}, errTransient.WithCause(err)
	}
	attrs := []any{"result", out.Result, "object_id", ev.ObjectID, "user_id", out.UserID, "transaction_id", out.TransactionID, "amount", out.Amount}
	if out.Detail != "" {
		attrs = append(attrs, "detail", out.Detail)
	}
	if out.Result == ledger.ResultUnmatched {
		logger.WarnContext(ctx, "stripe event matched nothing of ours", attrs...)
	} else {
		logger.InfoContext(ctx, "stripe event processed", attrs...)
	}
	return out, nil
}

// New builds the StripeWebhook function from the services.
func New(s *platform.Services) (http.Handler, error) {
	secrets, err := s.WebhookSecrets()
	if err != nil {
		return nil, err
	}
	return &Server{secrets: secrets, events: s.Events}, nil
}
