package deletion_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The check's usage is camelCase, and a user without usage has no period
// at all rather than Go's zero time.
func TestCheckUsageShape(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		usage bool
		want  string
	}{
		{name: "no usage", want: `{"amount":0,"lines":[{"kind":"storage","description":"Storage: 0 TB-months at $4.00 per TB-month","amount":0},` +
			`{"kind":"egress","description":"Egress: 0 TB at $7.00 per TB","amount":0},` +
			`{"kind":"segments","description":"Segments: 0 segment-months at $0.0000088 per segment-month","amount":0}]}`},
		{name: "a month of usage", usage: true, want: `{"periodStart":"2026-10-01T00:00:00Z","periodEnd":"2026-10-31T00:00:00Z","amount":759,` +
			`"lines":[{"kind":"storage","description":"Storage: 1 TB-months at $4.00 per TB-month","amount":400},` +
			`{"kind":"egress","description":"Egress: 0.5 TB at $7.00 per TB","amount":350},` +
			`{"kind":"segments","description":"Segments: 10000 segment-months at $0.0000088 per segment-month","amount":9}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.usage {
				e.UseOneMonth(t, "u1")
			}
			got := e.check(t, "u1")
			if got.Status != http.StatusOK {
				t.Fatalf("status %d: %s", got.Status, got.Raw)
			}
			var body struct {
				CurrentUsage json.RawMessage `json:"currentUsage"`
			}
			if err := json.Unmarshal([]byte(got.Raw), &body); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(body.CurrentUsage)); diff != "" {
				t.Errorf("currentUsage (-want +got):\n%s", diff)
			}
		})
	}
}
