package metering

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"example.com/billing/shared/store"
)

// Collection holds a user's reports: accounts/{userId}/usage/{reportId}.
const Collection = "usage"

// Report is one usage report of the satellite.
type Report struct {
	ReportID         string
	UserID           string
	ProjectID        string
	PeriodStart      time.Time
	PeriodEnd        time.Time
	StorageByteHours *big.Rat
	EgressBytes      *big.Rat
	SegmentHours     *big.Rat
}

// message is the JSON on the usage-reported topic. Quantities are JSON
// numbers, read exactly.
type message struct {
	ReportID         string          `json:"reportId"`
	UserID           string          `json:"userId"`
	ProjectID        string          `json:"projectId"`
	PeriodStart      time.Time       `json:"periodStart"`
	PeriodEnd        time.Time       `json:"periodEnd"`
	StorageByteHours json.RawMessage `json:"storageByteHours"`
	EgressBytes      json.RawMessage `json:"egressBytes"`
	SegmentHours     json.RawMessage `json:"segmentHours"`
}

var numberLiteral = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// ErrInvalidReport: a report that can never be stored.
var ErrInvalidReport = errors.New("invalid usage report")

// ParseReport validates the JSON of a usage-reported message.
func ParseReport(data []byte) (Report, error) {
	var m message
	if err := json.Unmarshal(data, &m); err != nil {
		return Report{}, fmt.Errorf("%w: %v", ErrInvalidReport, err)
	}
	var errs []error
	if err := store.CheckID(m.ReportID); err != nil {
		errs = append(errs, fmt.Errorf("reportId: %w", err))
	}
	if err := store.CheckID(m.UserID); err != nil {
		errs = append(errs, fmt.Errorf("userId: %w", err))
	}
	if m.PeriodStart.IsZero() || m.PeriodEnd.IsZero() || !m.PeriodEnd.After(m.PeriodStart) {
		errs = append(errs, errors.New("periodStart and periodEnd must be RFC 3339 times, the end after the start"))
	}
	// Quantities must be JSON numbers (not strings), read exactly.
	quantity := func(name string, raw json.RawMessage) *big.Rat {
		lit := string(bytes.TrimSpace(raw))
		if lit == "" || lit == "null" {
			return new(big.Rat)
		}
		if !numberLiteral.MatchString(lit) {
			errs = append(errs, fmt.Errorf("%s: %s is not a JSON number", name, lit))
			return nil
		}
		// An exponent of thousands of digits would make an exact decimal of
		// gigantic size: no real quantity needs more than 10^30.
		if len(lit) > 64 || exponent(lit) > 30 {
			errs = append(errs, fmt.Errorf("%s: %s is out of range", name, lit))
			return nil
		}
		r, err := ParseQuantity(lit)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		return r
	}
	r := Report{
		ReportID: m.ReportID, UserID: m.UserID, ProjectID: m.ProjectID,
		PeriodStart: m.PeriodStart.UTC(), PeriodEnd: m.PeriodEnd.UTC(),
		StorageByteHours: quantity("storageByteHours", m.StorageByteHours),
		EgressBytes:      quantity("egressBytes", m.EgressBytes),
		SegmentHours:     quantity("segmentHours", m.SegmentHours),
	}
	if err := errors.Join(errs...); err != nil {
		return Report{}, fmt.Errorf("%w: %v", ErrInvalidReport, err)
	}
	return r, nil
}

// stored is a report in Firestore. Quantities are exact decimal strings:
// float64 would not add up exactly across reports.
type stored struct {
	ProjectID        string    `firestore:"projectId"`
	PeriodStart      time.Time `firestore:"periodStart"`
	PeriodEnd        time.Time `firestore:"periodEnd"`
	StorageByteHours string    `firestore:"storageByteHours"`
	EgressBytes      string    `firestore:"egressBytes"`
	SegmentHours     string    `firestore:"segmentHours"`
	// ReceivedAt is the commit time (a server timestamp), so a report
	// stored after a bill was cut always sorts after the bill's cursor.
	ReceivedAt time.Time `firestore:"receivedAt,serverTimestamp"`
}

// Store records reports exactly once by reportId.
type Store struct {
	fs *firestore.Client
}

// NewStore returns a Store.
func NewStore(fs *firestore.Client) *Store { return &Store{fs: fs} }

func (s *Store) col(userID string) *firestore.CollectionRef {
	return store.UnderAccount(s.fs, userID, Collection)
}

// Save stores r unless a report with its id exists; it reports whether r
// was new. A redelivered report changes nothing.
func (s *Store) Save(ctx context.Context, r Report) (bool, error) {
	_, err := s.col(r.UserID).Doc(r.ReportID).Create(ctx, stored{
		ProjectID: r.ProjectID, PeriodStart: r.PeriodStart, PeriodEnd: r.PeriodEnd,
		StorageByteHours: Decimal(r.StorageByteHours), EgressBytes: Decimal(r.EgressBytes), SegmentHours: Decimal(r.SegmentHours),
	})
	if status.Code(err) == codes.AlreadyExists {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store usage report %s: %w", r.ReportID, err)
	}
	return true, nil
}

// Period is the usage not yet invoiced: the reports received after the
// last bill's cursor, whatever periods they cover.
type Period struct {
	// Start and End span the reports' periods (zero when there are none).
	Start, End time.Time
	Totals     Totals
	Reports    int
	// ReceivedThrough is the latest receipt time among the reports: the
	// cursor a bill of this usage records (zero when there are none).
	ReceivedThrough time.Time
}

// Since sums the user's reports received after billed (the cursor of the
// last bill; zero for a user never billed), inside tx when tx is not nil.
// Billing by receipt rather than by period means late usage (a report for
// an earlier period that arrives after a bill) is billed by the next bill.
// Reports carry their commit time, so none can later appear at or before a
// cursor taken from reports already read.
func (s *Store) Since(ctx context.Context, tx *firestore.Transaction, userID string, billed time.Time) (Period, error) {
	q := s.col(userID).Where("receivedAt", ">", billed)
	var snaps []*firestore.DocumentSnapshot
	var err error
	if tx != nil {
		snaps, err = tx.Documents(q).GetAll()
	} else {
		snaps, err = q.Documents(ctx).GetAll()
	}
	if err != nil {
		return Period{}, fmt.Errorf("read usage of %s: %w", userID, err)
	}
	p := Period{Totals: Zero(), Reports: len(snaps)}
	for _, snap := range snaps {
		var st stored
		if err := snap.DataTo(&st); err != nil {
			return Period{}, fmt.Errorf("decode usage report %s: %w", snap.Ref.ID, err)
		}
		var r Report
		var errs [3]error
		r.StorageByteHours, errs[0] = parseStored(st.StorageByteHours)
		r.EgressBytes, errs[1] = parseStored(st.EgressBytes)
		r.SegmentHours, errs[2] = parseStored(st.SegmentHours)
		if err := errors.Join(errs[:]...); err != nil {
			return Period{}, fmt.Errorf("usage report %s: %w", snap.Ref.ID, err)
		}
		p.Totals.Add(r)
		if p.Start.IsZero() || st.PeriodStart.Before(p.Start) {
			p.Start = st.PeriodStart
		}
		if st.PeriodEnd.After(p.End) {
			p.End = st.PeriodEnd
		}
		if st.ReceivedAt.After(p.ReceivedThrough) {
			p.ReceivedThrough = st.ReceivedAt
		}
	}
	return p, nil
}

// exponent is the decimal exponent of a JSON number literal's mantissa
// (0 without one); a malformed exponent counts as huge.
func exponent(lit string) int {
	i := strings.IndexAny(lit, "eE")
	if i < 0 {
		return 0
	}
	e, err := strconv.Atoi(strings.TrimPrefix(lit[i+1:], "+"))
	if err != nil {
		return math.MaxInt
	}
	return e
}

// Decimal writes q as an exact decimal string ("1.5", "300"), readable by a
// person looking at Firestore. A report's quantities are decimals (they come
// from JSON numbers), so the expansion always ends; a quantity that has no
// finite decimal form would keep big.Rat's exact "a/b" form rather than be
// rounded.
func Decimal(q *big.Rat) string {
	d := new(big.Int).Set(q.Denom())
	two, five, zero := big.NewInt(2), big.NewInt(5), new(big.Int)
	var twos, fives int
	for m := new(big.Int); m.Mod(d, two).Cmp(zero) == 0; twos++ {
		d.Quo(d, two)
	}
	for m := new(big.Int); m.Mod(d, five).Cmp(zero) == 0; fives++ {
		d.Quo(d, five)
	}
	if d.Cmp(big.NewInt(1)) != 0 {
		return q.RatString()
	}
	return q.FloatString(max(twos, fives))
}

// parseStored reads a quantity as Save writes it (an exact decimal), or as
// earlier versions wrote it (big.Rat's "a/b" form).
func parseStored(s string) (*big.Rat, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() < 0 {
		return nil, fmt.Errorf("stored quantity %q: %w", s, ErrBadQuantity)
	}
	return r, nil
}
