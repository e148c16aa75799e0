package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/account"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/testenv"
)

// A retry that names the same transaction with another charge (a package
// whose price changed between attempts) is a conflict, not the same
// payment: the card would be charged what the first attempt recorded.
func TestBeginTopUpConflictsOnAnotherCharge(t *testing.T) {
	t.Parallel()
	l := ledger.New(testenv.Firestore(t))
	ctx := context.Background()
	req := ledger.TopUp{UserID: "u", ID: "tx", Type: ledger.TypeCardTopUp, Amount: 2500, ChargeAmount: 2500, Currency: ledger.Currency}
	if _, created, err := l.BeginTopUp(ctx, req); err != nil || !created {
		t.Fatal(created, err)
	}
	req.ChargeAmount = 2000
	if _, _, err := l.BeginTopUp(ctx, req); !errors.Is(err, ledger.ErrConflict) {
		t.Errorf("same credit, other charge: err = %v, want ErrConflict", err)
	}
}

// A package is refused inside the ledger's own transaction once the
// account holds a plan (the handler's earlier check can race a purchase
// that settles meanwhile): the plan's credit is granted once per account.
func TestBeginPackageRefusedOnceThePlanIsHeld(t *testing.T) {
	t.Parallel()
	fs := testenv.Firestore(t)
	l := ledger.New(fs)
	ctx := context.Background()
	if err := fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		return account.NewStore(fs).SetPlan(tx, "u", "partner-pro", time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	_, created, err := l.BeginTopUp(ctx, ledger.TopUp{UserID: "u", ID: "tx_pkg", Type: ledger.TypePackagePurchase, PackageID: "partner-pro",
		Amount: 15000, ChargeAmount: 10000, Currency: ledger.Currency})
	if !errors.Is(err, ledger.ErrPackagePurchased) || created {
		t.Errorf("BeginTopUp of a package on an account holding a plan: created %v, err = %v; want ErrPackagePurchased", created, err)
	}
	if _, err := l.Transaction(ctx, "u", "tx_pkg"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("transaction recorded anyway: %v", err)
	}
}
