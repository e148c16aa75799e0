package reconciler_test

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/stripe/stripe-go/v76"

	"example.com/billing/shared/checkout"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/reconciler"
	"example.com/billing/shared/settlement"
	"example.com/billing/shared/testsupport/testenv"
)

type env struct {
	*testenv.Billing
	clock time.Time
	svc   *reconciler.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{Billing: testenv.NewBilling(t), clock: time.Now().UTC()}
	e.svc = reconciler.New(e.FS, e.Payments, e.Customers, e.Ledger, e.Services.Events, reconciler.Config{Window: 72 * time.Hour, StaleAfter: 24 * time.Hour, BatchSize: 10}).
		WithClock(func() time.Time { return e.clock })
	return e
}

func (e *env) start(t *testing.T, userID string, amount int64) checkout.Started {
	t.Helper()
	s, err := e.Checkout.Start(context.Background(), checkout.Payment{UserID: userID, Type: ledger.TypeCardTopUp, Charge: amount, Credit: amount, Currency: "usd"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) balance(t *testing.T, userID string) int64 {
	t.Helper()
	b, err := e.Ledger.Balance(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return b.Amount
}

func (e *env) webhook(t *testing.T, typ, piID string) ledger.Outcome {
	t.Helper()
	pi, _ := e.Stripe.PaymentIntent(piID)
	p := ledger.Payment{UserID: pi.Metadata["user_id"], TransactionID: pi.Metadata["transaction_id"], PaymentIntentID: pi.ID,
		Status: ledger.StatusSucceeded, AmountReceived: pi.AmountReceived, Currency: string(pi.Currency)}
	out, err := e.Ledger.Process(context.Background(), ledger.Event{ID: "evt_" + typ + piID, Type: typ}, e.Ledger.SettleTopUp(p))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReconcileCreditsWhatTheWebhookMissedExactlyOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lost := e.start(t, "u1", 2500)      // paid; its webhook is lost
	delivered := e.start(t, "u1", 1000) // paid; its webhook arrives first
	canceled := e.start(t, "u2", 3000)  // the user gave up
	pending := e.start(t, "u3", 4000)   // still open
	for _, id := range []string{lost.Intent.ID, delivered.Intent.ID} {
		if _, err := e.Stripe.SucceedPaymentIntent(id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Payments.CancelPaymentIntent(context.Background(), canceled.Intent.ID); err != nil {
		t.Fatal(err)
	}
	// A payment this service did not start, on the same Stripe account.
	if _, err := e.Stripe.Client().PaymentIntents.New(&stripe.PaymentIntentParams{Amount: stripe.Int64(999), Currency: stripe.String("usd")}); err != nil {
		t.Fatal(err)
	}
	e.webhook(t, "payment_intent.succeeded", delivered.Intent.ID)

	r, err := e.svc.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Fixed != 2 || r.Seen != 4 || r.Failed != 0 {
		t.Errorf("report = %+v, want 4 seen, 2 fixed (the lost credit, the cancellation)", r)
	}
	if got := e.balance(t, "u1"); got != 3500 {
		t.Errorf("u1 balance = %d, want 3500", got)
	}
	// The late webhook, and reconciling again, change nothing.
	if out := e.webhook(t, "payment_intent.succeeded", lost.Intent.ID); out.Result != ledger.ResultUnchanged {
		t.Errorf("late webhook: %s, want unchanged", out.Result)
	}
	if r, err := e.svc.Reconcile(context.Background()); err != nil || r.Fixed != 0 {
		t.Errorf("second run: %+v, %v; want nothing fixed", r, err)
	}
	if got := e.balance(t, "u1"); got != 3500 {
		t.Errorf("u1 balance = %d after the late webhook, want 3500", got)
	}
	if tx, _ := e.Ledger.Transaction(context.Background(), "u2", canceled.Transaction.ID); tx.Status != ledger.StatusCanceled {
		t.Errorf("canceled top-up is %s", tx.Status)
	}
	if tx, _ := e.Ledger.Transaction(context.Background(), "u3", pending.Transaction.ID); tx.Status != ledger.StatusPending {
		t.Errorf("open top-up is %s, want pending", tx.Status)
	}
	// Outside the window, nothing is looked at.
	e.clock = e.clock.Add(4 * 24 * time.Hour)
	if r, err := e.svc.Reconcile(context.Background()); err != nil || r.Seen != 0 {
		t.Errorf("after the window: %+v, %v", r, err)
	}
}

// Checkout does not record a fresh payment's intent on its transaction (the
// browser has yet to confirm it), so a stale top-up without one is looked up
// in Stripe: found, it is canceled there (or credited, if paid) like one
// with its intent recorded; only one Stripe has no intent for is abandoned.
func TestCancelStalePayments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	abandoned := e.start(t, "u1", 2500)
	paid := e.start(t, "u2", 1500) // succeeded, webhook lost
	if _, err := e.Stripe.SucceedPaymentIntent(paid.Intent.ID); err != nil {
		t.Fatal(err)
	}
	for _, s := range []checkout.Started{abandoned, paid} {
		if tx, _ := e.Ledger.Transaction(ctx, s.Transaction.UserID, s.Transaction.ID); tx.PaymentIntentID != "" {
			t.Fatalf("%s records intent %s: the test wants it unrecorded, as checkout leaves it", tx.ID, tx.PaymentIntentID)
		}
	}
	// Top-ups whose process died before they reached Stripe: of a user
	// without an account, and of one whose customer has no intent for it.
	for _, tu := range []ledger.TopUp{
		{UserID: "u3", ID: "tx_dead", Type: ledger.TypeCardTopUp, Amount: 1000, Currency: "usd"},
		{UserID: "u1", ID: "tx_dead_u1", Type: ledger.TypeCardTopUp, Amount: 1000, Currency: "usd"},
	} {
		if _, _, err := e.Ledger.BeginTopUp(ctx, tu); err != nil {
			t.Fatal(err)
		}
	}

	if r, err := e.svc.CancelStalePayments(context.Background()); err != nil || r.Seen != 0 {
		t.Fatalf("fresh payments: %+v, %v; want none touched", r, err)
	}
	e.clock = e.clock.Add(25 * time.Hour)
	r, err := e.svc.CancelStalePayments(ctx)
	if err != nil || r.Seen != 4 || r.Fixed != 4 {
		t.Fatalf("report = %+v, %v; want the 4 stale ones settled", r, err)
	}
	if pi, _ := e.Stripe.PaymentIntent(abandoned.Intent.ID); pi.Status != "canceled" {
		t.Errorf("abandoned intent is %s in Stripe, want canceled", pi.Status)
	}
	type end struct{ Status, Intent, FailureCode string }
	want := map[[2]string]end{
		{"u1", abandoned.Transaction.ID}: {ledger.StatusCanceled, abandoned.Intent.ID, "canceled"},
		{"u2", paid.Transaction.ID}:      {ledger.StatusSucceeded, paid.Intent.ID, ""},
		{"u3", "tx_dead"}:                {ledger.StatusCanceled, "", "abandoned"},
		{"u1", "tx_dead_u1"}:             {ledger.StatusCanceled, "", "abandoned"},
	}
	for key, w := range want {
		tx, err := e.Ledger.Transaction(ctx, key[0], key[1])
		if got := (end{tx.Status, tx.PaymentIntentID, tx.FailureCode}); err != nil || got != w {
			t.Errorf("%s/%s = %+v, %v; want %+v", key[0], key[1], got, err, w)
		}
	}
	if n := len(e.Stripe.PaymentIntents()); n != 2 {
		t.Errorf("%d intents in Stripe, want 2: the sweep creates none", n)
	}
	if got := e.balance(t, "u2"); got != 1500 {
		t.Errorf("u2 balance = %d, want 1500 (credited, not canceled)", got)
	}
	// Running again changes nothing.
	if r, err := e.svc.CancelStalePayments(ctx); err != nil || r.Seen != 0 {
		t.Errorf("second run: %+v, %v", r, err)
	}
}

// Pending rows of other kinds (an invoice credit or a deletion refund left
// half-way, which their own flows finish) are not stale payments: the sweep
// neither touches them nor lets them use up its batch.
func TestCancelStalePaymentsTakesOnlyTopUps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.svc = reconciler.New(e.FS, e.Payments, e.Customers, e.Ledger, e.Services.Events, reconciler.Config{Window: 72 * time.Hour, StaleAfter: 24 * time.Hour, BatchSize: 1}).
		WithClock(func() time.Time { return e.clock })
	ctx := context.Background()
	others := []ledger.Transaction{
		{ID: "credit_in_1", UserID: "u1", Type: ledger.TypeInvoiceCredit, Status: ledger.StatusPending},
		{ID: "refund_1", UserID: "u1", Type: ledger.TypeRefund, Status: ledger.StatusPending},
	}
	if err := e.FS.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		for _, o := range others {
			if err := e.Ledger.Record(tx, o); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	abandoned := e.start(t, "u1", 2500)
	e.clock = e.clock.Add(25 * time.Hour)

	r, err := e.svc.CancelStalePayments(ctx)
	if err != nil || r.Seen != 1 || r.Fixed != 1 || r.Failed != 0 {
		t.Fatalf("report = %+v, %v; want the one top-up seen and canceled", r, err)
	}
	if tx, _ := e.Ledger.Transaction(ctx, "u1", abandoned.Transaction.ID); tx.Status != ledger.StatusCanceled {
		t.Errorf("abandoned top-up is %s, want canceled", tx.Status)
	}
	for _, o := range others {
		if tx, _ := e.Ledger.Transaction(ctx, "u1", o.ID); tx.Status != ledger.StatusPending {
			t.Errorf("%s %s is %s, want it left pending for its own flow", o.Type, o.ID, tx.Status)
		}
	}
	if r, err := e.svc.CancelStalePayments(ctx); err != nil || r.Seen != 0 {
		t.Errorf("second run: %+v, %v; want nothing left", r, err)
	}
}

// A payment Reconcile finds succeeded on an account deleted meanwhile (its
// webhook lost) is not credited: it goes back to its card at once, as it
// would from the webhook, not at the deletion sweep's next run.
func TestReconcileReturnsAPaymentToADeletedAccountAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	s := e.start(t, "u1", 2500)
	// Declined, and reported so: the top-up is failed, not pending.
	if _, err := e.Stripe.FailPaymentIntent(s.Intent.ID, ""); err != nil {
		t.Fatal(err)
	}
	pi, err := e.Payments.GetPaymentIntent(ctx, s.Intent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Ledger.Process(ctx, ledger.Event{ID: "evt_failed", Type: "payment_intent.payment_failed"},
		e.Ledger.SettleTopUp(settlement.Payment(pi, ledger.StatusFailed))); err != nil {
		t.Fatal(err)
	}
	// Paid with another card; that webhook is lost. Then the user deletes
	// the account (nothing on it: deleted at once).
	if _, err := e.Stripe.SucceedPaymentIntent(s.Intent.ID); err != nil {
		t.Fatal(err)
	}
	if d, err := e.Services.Deletions.Request(ctx, "u1", "u1@example.com"); err != nil || d.State != "deleted" {
		t.Fatalf("deletion = %+v, %v; want deleted", d, err)
	}
	if _, err := e.svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	var refunded int64
	for _, r := range e.Stripe.Refunds() {
		if r.PaymentIntent != nil && r.PaymentIntent.ID == s.Intent.ID {
			refunded += r.Amount
		}
	}
	if refunded != 2500 {
		t.Errorf("refunded %d of the payment after Reconcile, want 2500", refunded)
	}
	if got := e.balance(t, "u1"); got != 0 {
		t.Errorf("balance = %d, want 0", got)
	}
}
