package settlement_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"example.com/billing/shared/ledger"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/settlement"
)

func TestPayment(t *testing.T) {
	t.Parallel()
	ours := map[string]string{payments.MetadataUserID: "u1", payments.MetadataTransactionID: "tx_1", payments.MetadataKind: ledger.TypeCardTopUp}
	cases := []struct {
		name   string
		pi     payments.PaymentIntent
		status string
		want   ledger.Payment
	}{
		{
			name:   "succeeded",
			pi:     payments.PaymentIntent{ID: "pi_1", Status: "succeeded", Amount: 2500, AmountReceived: 2500, Currency: "usd", Metadata: ours},
			status: ledger.StatusSucceeded,
			want:   ledger.Payment{UserID: "u1", TransactionID: "tx_1", PaymentIntentID: "pi_1", Status: ledger.StatusSucceeded, AmountReceived: 2500, Currency: "usd"},
		},
		{
			name:   "succeeded after a declined attempt: the old error rides along, the ledger ignores it",
			pi:     payments.PaymentIntent{ID: "pi_1", Status: "succeeded", AmountReceived: 2500, Currency: "usd", Metadata: ours, LastErrorCode: "card_declined", LastErrorMessage: "declined"},
			status: ledger.StatusSucceeded,
			want:   ledger.Payment{UserID: "u1", TransactionID: "tx_1", PaymentIntentID: "pi_1", Status: ledger.StatusSucceeded, AmountReceived: 2500, Currency: "usd", FailureCode: "card_declined", FailureMessage: "declined"},
		},
		{
			name:   "failed: Stripe's last payment error",
			pi:     payments.PaymentIntent{ID: "pi_1", Status: "requires_payment_method", Currency: "usd", Metadata: ours, LastErrorCode: "card_declined", LastErrorMessage: "Your card was declined."},
			status: ledger.StatusFailed,
			want:   ledger.Payment{UserID: "u1", TransactionID: "tx_1", PaymentIntentID: "pi_1", Status: ledger.StatusFailed, Currency: "usd", FailureCode: "card_declined", FailureMessage: "Your card was declined."},
		},
		{
			name:   "failed without an error",
			pi:     payments.PaymentIntent{ID: "pi_1", Metadata: ours},
			status: ledger.StatusFailed,
			want:   ledger.Payment{UserID: "u1", TransactionID: "tx_1", PaymentIntentID: "pi_1", Status: ledger.StatusFailed},
		},
		{
			name:   "canceled: the reason is the message, an earlier decline is not",
			pi:     payments.PaymentIntent{ID: "pi_1", Status: "canceled", Currency: "usd", Metadata: ours, CancellationReason: "abandoned", LastErrorCode: "card_declined"},
			status: ledger.StatusCanceled,
			want:   ledger.Payment{UserID: "u1", TransactionID: "tx_1", PaymentIntentID: "pi_1", Status: ledger.StatusCanceled, Currency: "usd", FailureCode: "canceled", FailureMessage: "abandoned"},
		},
		{
			name:   "not ours: no metadata, the ledger answers unmatched",
			pi:     payments.PaymentIntent{ID: "pi_2", Status: "succeeded", AmountReceived: 999, Currency: "usd"},
			status: ledger.StatusSucceeded,
			want:   ledger.Payment{PaymentIntentID: "pi_2", Status: ledger.StatusSucceeded, AmountReceived: 999, Currency: "usd"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, settlement.Payment(tc.pi, tc.status)); diff != "" {
				t.Errorf("Payment (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnded(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status string
		want   string
		ended  bool
	}{
		{"succeeded", ledger.StatusSucceeded, true},
		{"canceled", ledger.StatusCanceled, true},
		{"requires_payment_method", "", false},
		{"requires_action", "", false},
		{"requires_confirmation", "", false},
		{"processing", "", false},
		{"", "", false},
	}
	for _, tc := range cases {
		got, ok := settlement.Ended(payments.PaymentIntent{ID: "pi_1", Status: tc.status})
		if got != tc.want || ok != tc.ended {
			t.Errorf("Ended(%q) = %q, %v; want %q, %v", tc.status, got, ok, tc.want, tc.ended)
		}
	}
}
