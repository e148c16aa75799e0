package sweep_test

import (
	"strings"
	"testing"
	"time"

	"example.com/billing/shared/sweep"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  sweep.Config
		want []string // each problem named; none means valid
	}{
		{name: "defaults", cfg: sweep.Config{StripeRPS: 50, Concurrency: 16, RunTime: 480 * time.Second}},
		{name: "test mode", cfg: sweep.Config{StripeRPS: 0.5, Concurrency: 1, RunTime: time.Second}},
		{name: "all wrong", cfg: sweep.Config{StripeRPS: -1, Concurrency: 0, RunTime: time.Millisecond},
			want: []string{"STRIPE_SWEEP_RPS", "SWEEP_CONCURRENCY", "SWEEP_RUN_TIME"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate()
			if (err != nil) != (len(tc.want) > 0) {
				t.Fatalf("Validate() = %v, want problems %v", err, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v does not name %s", err, w)
				}
			}
		})
	}
}
