package addfunds

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"
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
