package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"example.com/billing/shared/auth"
	"example.com/billing/shared/customer"
	"example.com/billing/shared/httpx"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/platform"
	"example.com/billing/shared/testsupport/stripetest"
)

// payer serves POST /dev/pay, local only and never in functions.go: it
// plays the card holder of a pending top-up, what Stripe.js and the Payment
// Element do in a real console. It confirms the user's PaymentIntent with a
// Stripe test card; the Stripe in use (the double, or Stripe in test mode
// through `stripe listen`) then sends payment_intent.succeeded (or
// payment_failed) to the webhook as it would for a real card. A stateless
// stripe-mock confirms nothing, so then the payer sends that event itself.
// It answers once the webhook has settled the transaction.
type payer struct {
	verifier  *auth.Verifier
	ledger    *ledger.Ledger
	customers *customer.Service
	stripe    *payments.Client
	webhook   string
	secret    string
}

// payerFromEnv builds the payer on the first request from the graph the
// functions of this process use (platform.Default).
var payerFromEnv = sync.OnceValues(func() (*payer, error) {
	s, err := platform.Default()
	if err != nil {
		return nil, err
	}
	secrets, err := s.WebhookSecrets()
	if err != nil {
		return nil, err
	}
	if s.Verifier == nil {
		return nil, errors.New("AUTH_* is not configured")
	}
	return &payer{verifier: s.Verifier, ledger: s.Ledger, customers: s.Customers, stripe: s.Payments,
		webhook: "http://127.0.0.1:" + env("PORT", "8080") + "/StripeWebhook", secret: secrets[0]}, nil
})

type payRequest struct {
	TransactionID string `json:"transactionId"`
	// PaymentMethod is a Stripe test card; pm_card_visa when empty.
	PaymentMethod string `json:"paymentMethod"`
}

type payResponse struct {
	TransactionID   string `json:"transactionId"`
	PaymentIntentID string `json:"paymentIntentId"`
	// Status is the transaction's, once the webhook settled it (still
	// pending if it did not within the wait).
	Status string `json:"status"`
}

// settleWait bounds how long /dev/pay waits for the webhook.
const settleWait = 15 * time.Second

func servePay(w http.ResponseWriter, r *http.Request) {
	p, err := payerFromEnv()
	if err != nil {
		httpx.WriteError(w, r, &httpx.Error{Status: http.StatusInternalServerError, Code: "service_misconfigured", Message: "The local payer is misconfigured: " + err.Error()})
		return
	}
	resp, err := p.pay(w, r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
}

func (p *payer) pay(w http.ResponseWriter, r *http.Request) (payResponse, error) {
	if err := httpx.Method(r, http.MethodPost); err != nil {
		return payResponse{}, err
	}
	user, err := p.verifier.Authenticate(r)
	if err != nil {
		return payResponse{}, err
	}
	var req payRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return payResponse{}, err
	}
	card := cmp.Or(req.PaymentMethod, "pm_card_visa")
	if !strings.HasPrefix(card, "pm_card_") {
		return payResponse{}, httpx.Errorf(http.StatusBadRequest, "invalid_request", "paymentMethod must be one of Stripe's test cards (pm_card_...).")
	}
	ctx := r.Context()
	tx, err := p.ledger.Transaction(ctx, user.ID, req.TransactionID)
	if err == nil && tx.PaymentIntentID == "" && tx.Status == ledger.StatusPending {
		tx.PaymentIntentID, err = p.unrecordedIntent(ctx, tx)
	}
	switch {
	case errors.Is(err, ledger.ErrNotFound), err == nil && tx.PaymentIntentID == "":
		return payResponse{}, httpx.Errorf(http.StatusNotFound, "no_such_payment", "You have no payment %q to pay.", req.TransactionID)
	case err != nil:
		return payResponse{}, err
	case tx.Status != ledger.StatusPending:
		return payResponse{TransactionID: tx.ID, PaymentIntentID: tx.PaymentIntentID, Status: tx.Status}, nil
	}

	pi, err := p.stripe.ConfirmPaymentIntent(ctx, tx.PaymentIntentID, card)
	switch {
	case errors.Is(err, payments.ErrCardDeclined):
		// Declined: Stripe recorded payment_intent.payment_failed.
	case err != nil:
		return payResponse{}, httpx.Errorf(http.StatusBadGateway, "payment_provider_unavailable", "Stripe did not confirm the payment: %v", err)
	case pi.ID != tx.PaymentIntentID:
		// stripe-mock answers every request with the same fixture and
		// remembers nothing: play the event it will never send.
		if err := p.playEvent(ctx, user.ID, tx, !strings.Contains(card, "Declined")); err != nil {
			return payResponse{}, err
		}
	}
	tx, err = p.waitSettled(ctx, user.ID, tx.ID)
	if err != nil {
		return payResponse{}, err
	}
	logging.FromContext(ctx).InfoContext(ctx, "dev payment played", "user_id", user.ID, "transaction_id", tx.ID, "status", tx.Status)
	return payResponse{TransactionID: tx.ID, PaymentIntentID: tx.PaymentIntentID, Status: tx.Status}, nil
}

// unrecordedIntent finds the intent of a pending top-up that AddFunds left
// unrecorded (a fresh payment's is recorded by its outcome), as the console
// knows it from AddFunds' answer: the customer's intent naming the
// transaction. None ("") when Stripe has none; stripe-mock, which keeps
// nothing, never has one, so there pay a top-up whose intent is recorded.
func (p *payer) unrecordedIntent(ctx context.Context, tx ledger.Transaction) (string, error) {
	acct, err := p.customers.Get(ctx, tx.UserID)
	if err != nil || acct.CustomerID == "" {
		return "", err
	}
	pi, err := p.stripe.FindPaymentIntent(ctx, acct.CustomerID, tx.ID, tx.CreatedAt.Add(-time.Minute))
	if errors.Is(err, payments.ErrNotFound) {
		return "", nil
	}
	return pi.ID, err
}

// waitSettled polls the transaction until the webhook moved it on.
func (p *payer) waitSettled(ctx context.Context, userID, txID string) (ledger.Transaction, error) {
	deadline := time.Now().Add(settleWait)
	for {
		tx, err := p.ledger.Transaction(ctx, userID, txID)
		if err != nil || tx.Status != ledger.StatusPending || time.Now().After(deadline) {
			return tx, err
		}
		select {
		case <-ctx.Done():
			return tx, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// playEvent sends the webhook a signed event about the top-up's
// PaymentIntent, as Stripe would after the card holder paid.
func (p *payer) playEvent(ctx context.Context, userID string, tx ledger.Transaction, succeeded bool) error {
	pi := map[string]any{
		"id": tx.PaymentIntentID, "object": "payment_intent", "amount": tx.Amount, "currency": tx.Currency,
		"livemode": false, "created": tx.CreatedAt.Unix(),
		"metadata": map[string]string{
			payments.MetadataUserID: userID, payments.MetadataTransactionID: tx.ID, payments.MetadataKind: tx.Type,
		},
	}
	typ := "payment_intent.succeeded"
	if succeeded {
		pi["status"], pi["amount_received"] = "succeeded", tx.Amount
	} else {
		typ = "payment_intent.payment_failed"
		pi["status"], pi["amount_received"] = "requires_payment_method", 0
		pi["last_payment_error"] = map[string]any{"type": "card_error", "code": "card_declined", "message": "Your card was declined."}
	}
	now := time.Now()
	payload := stripetest.NewEvent(fmt.Sprintf("evt_dev_%d", now.UnixNano()), typ, pi, now)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.webhook, strings.NewReader(string(payload)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", stripetest.SignatureHeader(payload, p.secret, now))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the webhook answered %s with %d", typ, resp.StatusCode)
	}
	return nil
}
