package flows_test

import (
	"net/http"
	"testing"

	"example.com/billing/shared/fault"
	"example.com/billing/shared/testsupport/testenv"
)

// A crash before the commit records nothing; a crash after it leaves the
// event recorded. Either way Stripe's retry ends with one credit.
func TestCrashAroundTheCommitThenRedelivery(t *testing.T) {
	t.Parallel()
	for _, point := range []string{fault.LedgerBeforeCommit, fault.LedgerAfterCommit} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			ev := s.pay(t, s.topUp(t, "u1", 2500))
			req := testenv.WebhookRequest(ev.Payload, testenv.WebhookSecret)
			req = req.WithContext(fault.With(req.Context(), fault.New().Fail(point, 1)))
			if got := testenv.Do(t, s.webhook, req); got.Status != http.StatusServiceUnavailable {
				t.Fatalf("with a crash: %d %s, want 503 so that Stripe retries", got.Status, got.Raw)
			}
			wantRecords := map[string]int{fault.LedgerBeforeCommit: 0, fault.LedgerAfterCommit: 1}[point]
			if n := s.eventRecords(t); n != wantRecords {
				t.Errorf("%d event records after the crash, want %d", n, wantRecords)
			}
			s.deliver(t, ev.Payload)
			s.deliver(t, ev.Payload)
			if got := s.balanceAmount(t); got != 2500 {
				t.Errorf("balance = %v, want 2500 once", got)
			}
		})
	}
}
