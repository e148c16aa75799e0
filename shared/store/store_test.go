package store_test

import (
	"errors"
	"strings"
	"testing"

	"example.com/billing/shared/store"
)

func TestCheckID(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		id   string
		ok   bool
	}{
		{name: "user id", id: "u1", ok: true},
		{name: "stripe id", id: "pi_3Nx", ok: true},
		{name: "256 bytes", id: strings.Repeat("a", 256), ok: true},
		{name: "dots inside", id: "a.b", ok: true},
		{name: "underscores on one side", id: "__a", ok: true},
		{name: "empty", id: ""},
		{name: "257 bytes", id: strings.Repeat("a", 257)},
		{name: "slash", id: "u1/transactions"},
		{name: "dot", id: "."},
		{name: "dot dot", id: ".."},
		{name: "reserved", id: "__name__"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := store.CheckID(tc.id)
			if tc.ok != (err == nil) {
				t.Fatalf("CheckID(%q) = %v, want ok %v", tc.id, err, tc.ok)
			}
			if err != nil && !errors.Is(err, store.ErrInvalidID) {
				t.Errorf("CheckID(%q) = %v, want ErrInvalidID", tc.id, err)
			}
		})
	}
}
