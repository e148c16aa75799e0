package config_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"example.com/billing/shared/config"
	"example.com/billing/shared/testsupport/testenv"
)

var defaults = config.Settings{AddFundsEnabled: true, AddFundsMinCents: 1000, AddFundsMaxCents: 250000}

func TestSettingsOverrideDefaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		doc  map[string]any // nil: no document
		want config.Settings
	}{
		{name: "no document", want: defaults},
		{name: "every field", doc: map[string]any{"addFundsEnabled": false, "addFundsMinCents": 500, "addFundsMaxCents": 5000},
			want: config.Settings{AddFundsEnabled: false, AddFundsMinCents: 500, AddFundsMaxCents: 5000}},
		{name: "one field", doc: map[string]any{"addFundsMaxCents": 9000},
			want: config.Settings{AddFundsEnabled: true, AddFundsMinCents: 1000, AddFundsMaxCents: 9000}},
		{name: "min above max is ignored whole", doc: map[string]any{"addFundsMinCents": 9000, "addFundsMaxCents": 5000}, want: defaults},
		{name: "min below Stripe's minimum is ignored whole", doc: map[string]any{"addFundsEnabled": false, "addFundsMinCents": 10}, want: defaults},
		{name: "wrongly typed fields are ignored", doc: map[string]any{"addFundsMaxCents": "lots", "addFundsEnabled": "no"}, want: defaults},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := testenv.Firestore(t)
			if tc.doc != nil {
				if _, err := fs.Doc(config.SettingsDocument).Set(context.Background(), tc.doc); err != nil {
					t.Fatal(err)
				}
			}
			got := config.NewSettingsStore(fs, defaults, time.Minute).Get(context.Background())
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSettingsChangeWithoutRestartWithinTTL(t *testing.T) {
	t.Parallel()
	fs := testenv.Firestore(t)
	ctx := context.Background()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	store := config.NewSettingsStore(fs, defaults, config.SettingsTTL).WithClock(func() time.Time { return clock })

	if got := store.Get(ctx); got != defaults {
		t.Fatalf("initial = %+v", got)
	}
	if _, err := fs.Doc(config.SettingsDocument).Set(ctx, map[string]any{"addFundsEnabled": false}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(config.SettingsTTL - time.Second)
	if got := store.Get(ctx); !got.AddFundsEnabled {
		t.Errorf("inside the TTL the cached settings stand, got %+v", got)
	}
	clock = clock.Add(2 * time.Second)
	if got := store.Get(ctx); got.AddFundsEnabled {
		t.Errorf("after the TTL the change is in force, got %+v", got)
	}
	if config.SettingsTTL > 60*time.Second {
		t.Errorf("SettingsTTL = %v; the contract promises changes within 60 s", config.SettingsTTL)
	}
}

func TestStripeWebhookSecretsAreAList(t *testing.T) {
	t.Setenv("STRIPE_WEBHOOK_SECRET", "whsec_old, whsec_new,,")
	var cfg config.Stripe
	if err := config.Load(context.Background(), &cfg); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"whsec_old", "whsec_new"}, cfg.Secrets()); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
}

func TestAddFundsDefaults(t *testing.T) {
	var cfg config.AddFunds
	if err := config.Load(context.Background(), &cfg); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(defaults, cfg.Settings()); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}
