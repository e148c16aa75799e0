package balance_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"example.com/billing/functions/balance"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/testsupport/testenv"
)

func get(t *testing.T, h http.Handler, token string, query url.Values) testenv.Response {
	t.Helper()
	return testenv.Do(t, h, testenv.Request(http.MethodGet, "/Balance?"+query.Encode(), token, nil))
}

func TestBalancePagesThroughHistoryNewestFirst(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	h := balance.NewServer(b.Verifier, b.Ledger)
	ctx := context.Background()
	var want []string
	for i := range 45 {
		id := fmt.Sprintf("tx%02d", i)
		if _, _, err := b.Ledger.BeginTopUp(ctx, ledger.TopUp{UserID: "u1", ID: id, Type: ledger.TypeCardTopUp, Amount: 1000, Currency: "usd"}); err != nil {
			t.Fatal(err)
		}
		want = append([]string{id}, want...)
	}
	if _, _, err := b.Ledger.BeginTopUp(ctx, ledger.TopUp{UserID: "u2", ID: "theirs", Type: ledger.TypeCardTopUp, Amount: 1000, Currency: "usd"}); err != nil {
		t.Fatal(err)
	}
	token := b.Issuer.Token(t, "u1", "")
	var got []string
	pages, pageToken := 0, ""
	for {
		q := url.Values{}
		if pageToken != "" {
			q.Set("pageToken", pageToken)
		}
		resp := get(t, h, token, q)
		if resp.Status != http.StatusOK {
			t.Fatalf("page %d: %d %s", pages, resp.Status, resp.Raw)
		}
		pages++
		for _, tx := range resp.Body["transactions"].([]any) {
			got = append(got, tx.(map[string]any)["id"].(string))
		}
		if pageToken = resp.Body["nextPageToken"].(string); pageToken == "" {
			break
		}
	}
	if pages != 3 {
		t.Errorf("%d pages of the default size 20, want 3", pages)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	resp := get(t, h, token, url.Values{"pageSize": {"1000"}})
	if n := len(resp.Body["transactions"].([]any)); n != 45 {
		t.Errorf("pageSize 1000 gave %d entries, want all 45 (the size is lowered to 100)", n)
	}
}

func TestBalanceOfANewUserIsZero(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	got := get(t, balance.NewServer(b.Verifier, b.Ledger), b.Issuer.Token(t, "new", ""), nil)
	want := map[string]any{"balance": map[string]any{"amount": 0.0, "currency": "usd"}, "transactions": []any{}, "nextPageToken": ""}
	if diff := cmp.Diff(want, got.Body); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
}

func TestBalanceBadInput(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	h := balance.NewServer(b.Verifier, b.Ledger)
	token := b.Issuer.Token(t, "u1", "")
	cases := []struct {
		name       string
		token      string
		query      url.Values
		method     string
		wantStatus int
		wantCode   string
	}{
		{name: "no token", wantStatus: 401, wantCode: "unauthenticated"},
		{name: "page size zero", token: token, query: url.Values{"pageSize": {"0"}}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "page size not a number", token: token, query: url.Values{"pageSize": {"ten"}}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "forged page token", token: token, query: url.Values{"pageToken": {"bm90LWEtdG9rZW4"}}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "wrong method", token: token, method: http.MethodPost, wantStatus: 405, wantCode: "method_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := http.MethodGet
			if tc.method != "" {
				method = tc.method
			}
			got := testenv.Do(t, h, testenv.Request(method, "/Balance?"+tc.query.Encode(), tc.token, nil))
			if got.Status != tc.wantStatus || got.ErrorCode() != tc.wantCode {
				t.Errorf("answer %d %s, want %d %s", got.Status, got.Raw, tc.wantStatus, tc.wantCode)
			}
		})
	}
}

func TestFirestoreDownIsAClear503(t *testing.T) {
	t.Parallel()
	b := testenv.NewBilling(t)
	h := balance.NewServer(b.Verifier, ledger.New(testenv.UnreachableFirestore(t)))
	req := testenv.Request(http.MethodGet, "/Balance", b.Issuer.Token(t, "u1", ""), nil)
	ctx, cancel := context.WithTimeout(req.Context(), 3*time.Second)
	defer cancel()
	got := testenv.Do(t, h, req.WithContext(ctx))
	if got.Status != http.StatusServiceUnavailable || got.ErrorCode() != "temporarily_unavailable" {
		t.Errorf("answer %d %s", got.Status, got.Raw)
	}
}
