package config

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"example.com/billing/shared/logging"
)

// StripeMinimumCents is Stripe's smallest card charge in usd; a lower minimum
// would let users start top-ups that Stripe always refuses.
const StripeMinimumCents = 50

// SettingsTTL bounds how stale the cached settings may be; the contract
// promises changes take effect within 60 s.
const SettingsTTL = 30 * time.Second

// SettingsDocument is the Firestore document that overrides the defaults.
const SettingsDocument = "config/billing"

// Settings are the add-funds settings in force.
type Settings struct {
	AddFundsEnabled  bool  `firestore:"addFundsEnabled"`
	AddFundsMinCents int64 `firestore:"addFundsMinCents"`
	AddFundsMaxCents int64 `firestore:"addFundsMaxCents"`
}

// Validate reports every inconsistency.
func (s Settings) Validate() error {
	var errs []error
	if s.AddFundsMinCents < StripeMinimumCents {
		errs = append(errs, fmt.Errorf("add-funds minimum %d is below Stripe's minimum charge of %d cents", s.AddFundsMinCents, StripeMinimumCents))
	}
	if s.AddFundsMaxCents < s.AddFundsMinCents {
		errs = append(errs, fmt.Errorf("add-funds maximum %d is below the minimum %d", s.AddFundsMaxCents, s.AddFundsMinCents))
	}
	return errors.Join(errs...)
}

// SettingsStore reads config/billing over the environment defaults, caching
// the result for a TTL so a function does one read per TTL, not per request.
type SettingsStore struct {
	fs       *firestore.Client
	defaults Settings
	ttl      time.Duration
	now      func() time.Time

	mu        sync.Mutex
	cached    Settings
	fetchedAt time.Time
}

// NewSettingsStore returns a store that falls back to defaults.
func NewSettingsStore(fs *firestore.Client, defaults Settings, ttl time.Duration) *SettingsStore {
	return &SettingsStore{fs: fs, defaults: defaults, ttl: ttl, now: time.Now, cached: defaults}
}

// WithClock replaces the store's clock (tests step it across the TTL).
func (s *SettingsStore) WithClock(now func() time.Time) *SettingsStore {
	s.now = now
	return s
}

// Get returns the settings in force. When Firestore cannot be read it keeps
// serving the last good settings: an unreadable config document must not take
// add-funds down on its own.
func (s *SettingsStore) Get(ctx context.Context) Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.fetchedAt.IsZero() && s.now().Sub(s.fetchedAt) < s.ttl {
		return s.cached
	}
	fresh, err := s.read(ctx)
	if err != nil {
		logging.FromContext(ctx).WarnContext(ctx, "billing settings unreadable; keeping the last good ones", "document", SettingsDocument, "error", err.Error())
		return s.cached
	}
	s.cached, s.fetchedAt = fresh, s.now()
	return fresh
}

// read merges the document's fields over the defaults. A document whose
// merged values are inconsistent is ignored as a whole (and logged), since
// half-applying it could open a range nobody intended.
func (s *SettingsStore) read(ctx context.Context) (Settings, error) {
	snap, err := s.fs.Doc(SettingsDocument).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return s.defaults, nil
	}
	if err != nil {
		return Settings{}, err
	}
	merged := s.defaults
	data := snap.Data()
	if v, ok := data["addFundsEnabled"].(bool); ok {
		merged.AddFundsEnabled = v
	}
	if v, ok := data["addFundsMinCents"].(int64); ok {
		merged.AddFundsMinCents = v
	}
	if v, ok := data["addFundsMaxCents"].(int64); ok {
		merged.AddFundsMaxCents = v
	}
	if err := merged.Validate(); err != nil {
		logging.FromContext(ctx).ErrorContext(ctx, "billing settings document is invalid; using the environment defaults", "document", SettingsDocument, "error", err.Error())
		return s.defaults, nil
	}
	return merged, nil
}
