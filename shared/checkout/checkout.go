// Package checkout starts the card payments that end in a balance credit:
// AddFunds' top-ups and PurchasePackage's plans. It owns their order, which
// is the same for every payment path: make sure the Stripe customer exists,
// record the pending ledger transaction, create its PaymentIntent with a
// deterministic idempotency key whose metadata names the transaction, and
// record the intent on the transaction where the answer depends on it (a
// saved card, a retry; see Service.Start): a fresh payment the browser has
// yet to confirm gets its intent recorded when Stripe reports its outcome.
// It never credits; the webhook (or a reconciliation) does, once Stripe
// reports the payment.
package checkout

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"example.com/billing/shared/account"
	"example.com/billing/shared/fault"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/logging"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/store"
)

// ErrAccountClosing: the account is being deleted (or is); billing has
// stopped, so no payment may start. It is account.ErrClosing.
var ErrAccountClosing = account.ErrClosing

// ErrNotRecorded: the PaymentIntent exists in Stripe (and, with a saved
// card, may have been charged) but could not be recorded here. The webhook
// still finds the transaction by the intent's metadata, and a retry with the
// same Idempotency-Key answers with the intent's real outcome.
var ErrNotRecorded = errors.New("the payment was sent to Stripe but not recorded")

// ErrInProgress: Stripe is still processing a request with this payment's
// idempotency key (409): the payment is in progress, not failed; a retry
// answers with its outcome.
var ErrInProgress = errors.New("the payment is still being processed")

// ErrBadIdempotencyKey: a client key we cannot use.
var ErrBadIdempotencyKey = errors.New("the Idempotency-Key header must be 1 to 255 printable characters")

// Failure codes recorded on a transaction that never got going.
const (
	FailureCardDeclined        = "card_declined"
	FailureProviderUnavailable = "payment_provider_unavailable"
)

// What the service needs of its dependencies.
type (
	customers interface {
		Get(ctx context.Context, userID string) (account.Account, error)
		EnsureMissing(ctx context.Context, userID, email string) (account.Account, error)
		Ensure(ctx context.Context, userID, email string) (account.Account, error)
		Forget(ctx context.Context, userID, customerID string) error
	}
	intents interface {
		CreatePaymentIntent(ctx context.Context, p payments.NewPaymentIntent, idempotencyKey string) (payments.PaymentIntent, error)
		GetPaymentIntent(ctx context.Context, id string) (payments.PaymentIntent, error)
		FindPaymentIntent(ctx context.Context, customerID, transactionID string, since time.Time) (payments.PaymentIntent, error)
	}
	topUps interface {
		Transaction(ctx context.Context, userID, txID string) (ledger.Transaction, error)
		BeginTopUp(ctx context.Context, t ledger.TopUp) (ledger.Transaction, bool, error)
		AbandonTopUp(ctx context.Context, userID, txID string) (bool, error)
		TouchTopUp(ctx context.Context, userID, txID string) error
		AttachPaymentIntent(ctx context.Context, userID, txID, paymentIntentID string) error
		AttachNewPaymentIntent(ctx context.Context, userID, txID, paymentIntentID string) error
		FailTopUp(ctx context.Context, userID, txID, paymentIntentID, code, message string) error
	}
)

// Service starts payments.
type Service struct {
	customers customers
	intents   intents
	ledger    topUps
}

// New wires a Service.
func New(c customers, i intents, l topUps) *Service {
	return &Service{customers: c, intents: i, ledger: l}
}

// Payment is one payment to start.
type Payment struct {
	UserID string
	Email  string
	// IdempotencyKey is the client's; with it a retry is the same payment.
	IdempotencyKey  string
	Type            string // ledger.TypeCardTopUp or ledger.TypePackagePurchase
	Charge          int64  // what the card is charged
	Credit          int64  // what the balance gains
	Currency        string
	PaymentMethodID string // a saved card: confirm now, server-side
	PackageID       string
	Description     string
}

// Started is a payment under way.
type Started struct {
	Transaction ledger.Transaction
	Intent      payments.PaymentIntent
}

// Start starts p, or answers a retry of it from what the first attempt
// recorded. A declined card is a *payments.Error of kind ErrCardDeclined,
// also when replayed; a key reused for another payment is ledger.ErrConflict.
//
// Its critical path is one Firestore round trip and the Stripe call: the
// account is read while the pending transaction is recorded (neither waits
// for the other), then the intent is created. The record made before Stripe
// is what makes a crash safe. When the account turns out to have no
// customer yet (a user's first payment, Stripe down at sign-up) or to be
// closing, the fresh record is taken back and the payment takes the long
// way: the customer first, then the record.
//
// The intent is recorded on the transaction (paymentIntentId, and its
// payment_intents index) only where the answer depends on it:
//   - a saved card (PaymentMethodID) is confirmed server-side and may be
//     charged by the create itself, so its intent is recorded before the
//     answer, and an answer that could not record it is ErrNotRecorded;
//   - a retry (the transaction was found, not created) records what it
//     found or made, so later retries answer from the transaction.
//
// A fresh payment without a saved card answers without recording it: the
// intent cannot be paid until the browser confirms it with the client
// secret in this answer, and nothing here needs the id before then. The
// intent names the transaction in its metadata, so everything that follows
// finds it without the record, as it already had to after a crash between
// the create and the record: the webhook's settlement records the id and
// its index with the outcome (ledger.SettleTopUp); a retry with the same
// Idempotency-Key lists the customer's intents for the one naming the
// transaction (FindPaymentIntent) before creating one under the same Stripe
// key, and answers with it; CancelStalePayments looks it up the same way
// before it cancels; a deletion cancels every open intent of the customer
// in Stripe, recorded or not. Until then the pending transaction shows no
// paymentIntentId.
func (s *Service) Start(ctx context.Context, p Payment) (Started, error) {
	txID, err := transactionID(p.UserID, p.Type, p.IdempotencyKey)
	if err != nil {
		return Started{}, err
	}
	topUp := ledger.TopUp{
		UserID: p.UserID, ID: txID, Type: p.Type, Amount: p.Credit, ChargeAmount: p.Charge,
		Currency: p.Currency, PaymentMethodID: p.PaymentMethodID, PackageID: p.PackageID,
	}
	var (
		acct    account.Account
		acctErr error
		read    = make(chan struct{})
	)
	go func() {
		defer close(read)
		acct, acctErr = s.customers.Get(ctx, p.UserID)
	}()
	// Recorded, or found recorded by an earlier attempt of this request
	// (a client key makes the id the same), with or without its intent.
	tx, created, err := s.ledger.BeginTopUp(ctx, topUp)
	<-read
	if err != nil {
		return Started{}, err
	}
	// A retry of a payment that already has its intent answers from it.
	if tx.PaymentIntentID != "" {
		return s.replay(ctx, tx)
	}
	if acctErr == nil && acct.CustomerID != "" && acct.MayReceiveMoney() == nil {
		if !created {
			// Found recorded: pursue it, after telling the request that
			// recorded it, should it still be deciding, not to take it back.
			if tx, created, err = s.pursue(ctx, tx, topUp); err != nil {
				return Started{}, err
			}
		}
	} else {
		if created {
			if _, err := s.ledger.AbandonTopUp(ctx, tx.UserID, tx.ID); err != nil {
				logging.FromContext(ctx).ErrorContext(ctx, "could not take back a pending top-up that no payment followed",
					"transaction_id", tx.ID, "error", err.Error())
			}
		}
		if acctErr != nil && !errors.Is(acctErr, store.ErrNotFound) {
			return Started{}, acctErr
		}
		// The customer first, on every payment path.
		if acct.CustomerID == "" {
			if acct, err = s.customers.EnsureMissing(ctx, p.UserID, p.Email); err != nil {
				return Started{}, err
			}
		}
		if err := acct.MayReceiveMoney(); err != nil {
			return Started{}, err
		}
		if tx, created, err = s.ledger.BeginTopUp(ctx, topUp); err != nil {
			return Started{}, err
		}
		if tx.PaymentIntentID != "" {
			return s.replay(ctx, tx)
		}
		if !created {
			if tx, created, err = s.pursue(ctx, tx, topUp); err != nil {
				return Started{}, err
			}
		}
	}
	if err := fault.Point(ctx, fault.CheckoutAfterBegin); err != nil {
		return Started{}, err
	}
	metadata := map[string]string{
		payments.MetadataUserID:        p.UserID,
		payments.MetadataTransactionID: tx.ID,
		payments.MetadataKind:          p.Type,
	}
	if p.PackageID != "" {
		metadata[payments.MetadataPackageID] = p.PackageID
	}
	// A transaction that existed without its intent is a retry after a
	// failure that may have come after Stripe created the intent: look for
	// it first, since Stripe forgets the idempotency key after 24 h and a
	// second intent could charge a saved card twice.
	var pi payments.PaymentIntent
	if !created {
		var err error
		pi, err = s.intents.FindPaymentIntent(ctx, acct.CustomerID, tx.ID, tx.CreatedAt.Add(-time.Minute))
		if err != nil && !errors.Is(err, payments.ErrNotFound) {
			return Started{}, err
		}
	}
	if pi.ID == "" {
		var err error
		create := func() (payments.PaymentIntent, error) {
			return s.intents.CreatePaymentIntent(ctx, payments.NewPaymentIntent{
				CustomerID:      acct.CustomerID,
				Amount:          tx.ChargeAmount,
				Currency:        tx.Currency,
				PaymentMethodID: tx.PaymentMethodID,
				Description:     p.Description,
				Metadata:        metadata,
			}, intentKey(tx.ID, acct.CustomerGeneration))
		}
		pi, err = create()
		if payments.IsMissingCustomer(err) {
			// The customer was deleted in Stripe: repair it now, once,
			// and pay with the new one (nothing was created for the old).
			if acct, err = s.repairCustomer(ctx, p, acct.CustomerID); err == nil {
				pi, err = create()
			}
		}
		if err != nil {
			return Started{}, s.failed(ctx, tx, err)
		}
	}
	if err := fault.Point(ctx, fault.CheckoutAfterIntent); err != nil {
		return Started{}, fmt.Errorf("%w: %w", ErrNotRecorded, err)
	}
	if !created || tx.PaymentMethodID != "" {
		attach := s.ledger.AttachPaymentIntent
		if created {
			attach = s.ledger.AttachNewPaymentIntent
		}
		if err := attach(ctx, tx.UserID, tx.ID, pi.ID); err != nil {
			// The intent exists and carries our ids in its metadata, so the
			// webhook still finds the transaction.
			return Started{}, fmt.Errorf("%w: %w", ErrNotRecorded, err)
		}
	}
	logging.FromContext(ctx).InfoContext(ctx, "payment started", "type", p.Type, "transaction_id", tx.ID,
		"payment_intent_id", pi.ID, "charge", tx.ChargeAmount, "status", pi.Status)
	return Started{Transaction: tx, Intent: pi}, nil
}

// pursue claims a pending transaction this request found recorded, before
// it goes to Stripe with it (TouchTopUp). Taken back meanwhile by the
// request that recorded it, it is recorded again, this request's own.
func (s *Service) pursue(ctx context.Context, tx ledger.Transaction, topUp ledger.TopUp) (ledger.Transaction, bool, error) {
	err := s.ledger.TouchTopUp(ctx, tx.UserID, tx.ID)
	if errors.Is(err, ledger.ErrNotFound) {
		tx, created, err := s.ledger.BeginTopUp(ctx, topUp)
		if err == nil && !created {
			// Recorded again by yet another attempt: it touches it.
			return tx, false, s.ledger.TouchTopUp(ctx, tx.UserID, tx.ID)
		}
		return tx, created, err
	}
	return tx, false, err
}

// IdempotencyKey is the Stripe key of a transaction's PaymentIntent.
func IdempotencyKey(txID string) string { return "topup:" + txID }

// intentKey is IdempotencyKey for a customer of a later generation (the
// first was deleted in Stripe): the first key's result names the deleted
// customer, so the intent for the new one gets a key of its own.
func intentKey(txID string, customerGeneration int64) string {
	if customerGeneration == 0 {
		return IdempotencyKey(txID)
	}
	return fmt.Sprintf("%s:c%d", IdempotencyKey(txID), customerGeneration)
}

// repairCustomer forgets the user's customer that Stripe no longer has and
// ensures a new one.
func (s *Service) repairCustomer(ctx context.Context, p Payment, missing string) (account.Account, error) {
	if err := s.customers.Forget(ctx, p.UserID, missing); err != nil {
		return account.Account{}, err
	}
	acct, err := s.customers.Ensure(ctx, p.UserID, p.Email)
	if err != nil {
		return account.Account{}, err
	}
	return acct, acct.MayReceiveMoney()
}

// transactionID is random without a client key, and derived from the user,
// the payment type and the key otherwise, so that a retry lands on the same
// transaction (and so on the same Stripe idempotency key).
func transactionID(userID, typ, key string) (string, error) {
	if key == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return "tx_" + hex.EncodeToString(b), nil
	}
	if len(key) > 255 || strings.IndexFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "", ErrBadIdempotencyKey
	}
	sum := sha256.Sum256([]byte(userID + "\x00" + typ + "\x00" + key))
	return "tx_" + hex.EncodeToString(sum[:16]), nil
}

// replay answers a retried payment from its transaction and intent.
func (s *Service) replay(ctx context.Context, tx ledger.Transaction) (Started, error) {
	if tx.Status == ledger.StatusFailed && tx.FailureCode == FailureCardDeclined {
		return Started{}, &payments.Error{Op: "replay declined payment", Kind: payments.ErrCardDeclined,
			Code: FailureCardDeclined, Message: tx.FailureMessage, PaymentIntentID: tx.PaymentIntentID}
	}
	pi, err := s.intents.GetPaymentIntent(ctx, tx.PaymentIntentID)
	if err != nil {
		return Started{}, err
	}
	return Started{Transaction: tx, Intent: pi}, nil
}

// failed records why no payment could start and returns the cause. Stripe's
// "idempotency key in use" (409) is a payment in progress, never a failure:
// nothing is recorded and a retry finds the outcome.
func (s *Service) failed(ctx context.Context, tx ledger.Transaction, cause error) error {
	code, message, piID := FailureProviderUnavailable, "The payment provider could not be reached.", ""
	var pe *payments.Error
	if errors.As(cause, &pe) && pe.Status == http.StatusConflict {
		return fmt.Errorf("start payment %s: %w: %w", tx.ID, ErrInProgress, cause)
	}
	if errors.As(cause, &pe) {
		piID = pe.PaymentIntentID
		if errors.Is(cause, payments.ErrCardDeclined) {
			code, message = FailureCardDeclined, pe.Message
		}
	}
	if err := s.ledger.FailTopUp(ctx, tx.UserID, tx.ID, piID, code, message); err != nil {
		logging.FromContext(ctx).ErrorContext(ctx, "could not mark the payment failed", "transaction_id", tx.ID, "error", err.Error())
	}
	return fmt.Errorf("start payment %s: %w", tx.ID, cause)
}
