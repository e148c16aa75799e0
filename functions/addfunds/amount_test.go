package addfunds

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"example.com/billing/shared/config"
	"example.com/billing/shared/httpx"
)

func TestParseAmount(t *testing.T) {
	cases := []struct {
		raw          string
		want         int64
		wantTooLarge bool
		wantErr      error
	}{
		{raw: `2500`, want: 2500},
		{raw: ` 1 `, want: 1},
		{raw: strconv.FormatInt(math.MaxInt64, 10), want: math.MaxInt64},
		{raw: `9223372036854775808`, wantTooLarge: true},
		{raw: `0`, wantErr: errAmountNotPositive},
		{raw: `-0`, wantErr: errAmountNotPositive},
		{raw: `-5`, wantErr: errAmountNotPositive},
		{raw: `25.5`, wantErr: errAmountNotInteger},
		{raw: `2500.0`, wantErr: errAmountNotInteger},
		{raw: `1e3`, wantErr: errAmountNotInteger},
		{raw: `007`, wantErr: errAmountNotNumber},
		{raw: `"2500"`, wantErr: errAmountNotNumber},
		{raw: `true`, wantErr: errAmountNotNumber},
		{raw: `{}`, wantErr: errAmountNotNumber},
		{raw: `null`, wantErr: errAmountMissing},
		{raw: ``, wantErr: errAmountMissing},
	}
	for _, tc := range cases {
		got, tooLarge, err := parseAmount(json.RawMessage(tc.raw))
		if got != tc.want || tooLarge != tc.wantTooLarge || err != tc.wantErr {
			t.Errorf("parseAmount(%q) = %d, %v, %v; want %d, %v, %v", tc.raw, got, tooLarge, err, tc.want, tc.wantTooLarge, tc.wantErr)
		}
	}
}

// FuzzParseAmount: whatever the input, an accepted amount is positive and is
// exactly the integer the JSON says.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{`2500`, `-1`, `1.5`, `"7"`, `1e400`, `99999999999999999999`, `null`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, tooLarge, err := parseAmount(json.RawMessage(raw))
		if err != nil || tooLarge {
			return
		}
		if got <= 0 {
			t.Fatalf("accepted non-positive %d from %q", got, raw)
		}
		var n json.Number
		if json.Unmarshal([]byte(raw), &n) != nil || n.String() != strconv.FormatInt(got, 10) {
			t.Fatalf("accepted %d from %q", got, raw)
		}
	})
}

// fixedSettings is the contract's defaults.
type fixedSettings struct{}

func (fixedSettings) Get(context.Context) config.Settings {
	return config.Settings{AddFundsEnabled: true, AddFundsMinCents: 1000, AddFundsMaxCents: 250000}
}

// FuzzAddFundsBody: whatever the body, decoding and validation never panic,
// and anything accepted is a whole number of cents inside the settings'
// range, in the balance's currency, with no card or a Stripe card id.
func FuzzAddFundsBody(f *testing.F) {
	for _, s := range []string{
		`{"amount":2500}`, `{"amount":2500,"currency":"USD","paymentMethodId":"pm_card_visa"}`, `{"amount":"2500"}`,
		`{"amount":1e3}`, `{"amount":-1}`, `{"amount":99999999999999999999}`, `{"amount":2500,"currency":"eur"}`,
		`{"amount":2500,"userId":"someone"}`, `[]`, `{"amount":2500}{}`, ``, `{"amount":2500,"paymentMethodId":"card_1"}`,
	} {
		f.Add(s)
	}
	s := &Server{settings: fixedSettings{}}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/AddFunds", strings.NewReader(body))
		var req request
		if err := httpx.DecodeJSON(httptest.NewRecorder(), r, &req); err != nil {
			return
		}
		amount, err := s.validate(context.Background(), req)
		if err != nil {
			var he *httpx.Error
			if !errors.As(err, &he) || he.Status != http.StatusBadRequest && he.Status != http.StatusForbidden {
				t.Fatalf("validation failed without a client error: %v", err)
			}
			return
		}
		if amount < 1000 || amount > 250000 {
			t.Fatalf("accepted %d cents from %q", amount, body)
		}
		if c := strings.ToLower(strings.TrimSpace(req.Currency)); c != "" && c != "usd" {
			t.Fatalf("accepted currency %q", req.Currency)
		}
		if req.PaymentMethodID != "" && !strings.HasPrefix(req.PaymentMethodID, "pm_") {
			t.Fatalf("accepted payment method %q", req.PaymentMethodID)
		}
	})
}
