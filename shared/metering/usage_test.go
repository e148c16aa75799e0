package metering_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"example.com/billing/shared/metering"
	"example.com/billing/shared/testsupport/testenv"
)

func listPrices(t *testing.T) metering.Prices {
	t.Helper()
	p, err := metering.Config{StorageTBMonth: "400", EgressTB: "700", SegmentMonth: "0.00088"}.Prices()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func rat(s string) *big.Rat {
	r, _ := new(big.Rat).SetString(s)
	return r
}

// By hand: 1 TB stored for a 720-hour month is $4.00; 500 GB of egress at
// $7/TB is $3.50; 10,000 segments for a month at $0.0000088 is $0.088.
// Total $7.588, which rounds once to 759 cents; the lines (400, 350, 8.8)
// get 400 + 350 + 9 so that they add up to it.
func TestPriceByHand(t *testing.T) {
	bill := listPrices(t).Price(metering.Totals{
		StorageByteHours: rat("720000000000000"), // 10^12 bytes × 720 h
		EgressBytes:      rat("500000000000"),
		SegmentHours:     rat("7200000"), // 10,000 × 720 h
	})
	if bill.Amount != 759 {
		t.Errorf("amount = %d, want 759", bill.Amount)
	}
	var got []int64
	var descriptions []string
	for _, l := range bill.Lines {
		got = append(got, l.Amount)
		descriptions = append(descriptions, l.Description)
	}
	if diff := cmp.Diff([]int64{400, 350, 9}, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	want := []string{
		"Storage: 1 TB-months at $4.00 per TB-month",
		"Egress: 0.5 TB at $7.00 per TB",
		"Segments: 10000 segment-months at $0.0000088 per segment-month",
	}
	if diff := cmp.Diff(want, descriptions); diff != "" {
		t.Errorf("descriptions (-want +got):\n%s", diff)
	}
}

// Rounding happens once: a thousand tiny reports that would each round to
// zero cents still add up to what they cost together.
func TestRoundedOnceAtTheEnd(t *testing.T) {
	p := listPrices(t)
	total := metering.Zero()
	for range 1000 {
		total.Add(metering.Report{StorageByteHours: rat("720000000000"), EgressBytes: new(big.Rat), SegmentHours: new(big.Rat)}) // 1 GB-month: 0.4 cents
	}
	if got := p.Price(total).Amount; got != 400 {
		t.Errorf("amount = %d, want 400 (1,000 × 0.4 cents)", got)
	}
}

// Whatever the usage, the lines add up to the total.
func TestLinesAddUpToTheTotal(t *testing.T) {
	p := listPrices(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		tot := metering.Totals{
			StorageByteHours: big.NewRat(r.Int64N(1e16), 1+r.Int64N(1000)),
			EgressBytes:      big.NewRat(r.Int64N(1e13), 1+r.Int64N(1000)),
			SegmentHours:     big.NewRat(r.Int64N(1e9), 1+r.Int64N(1000)),
		}
		bill := p.Price(tot)
		var sum int64
		for _, l := range bill.Lines {
			sum += l.Amount
		}
		if sum != bill.Amount {
			t.Fatalf("case %d: lines add to %d, total %d", i, sum, bill.Amount)
		}
	}
}

func TestParseReport(t *testing.T) {
	valid := `{"reportId":"r1","userId":"u1","projectId":"p1","periodStart":"2026-11-01T00:00:00Z","periodEnd":"2026-11-01T01:00:00Z","storageByteHours":1.5e12,"egressBytes":1000,"segmentHours":12.25}`
	r, err := metering.ParseReport([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if r.StorageByteHours.Cmp(rat("1500000000000")) != 0 || r.SegmentHours.Cmp(rat("12.25")) != 0 || r.ProjectID != "p1" {
		t.Errorf("parsed %+v", r)
	}
	bad := []string{
		`not json`,
		`{"userId":"u1","periodStart":"2026-11-01T00:00:00Z","periodEnd":"2026-11-01T01:00:00Z"}`,
		`{"reportId":"r1","periodStart":"2026-11-01T00:00:00Z","periodEnd":"2026-11-01T01:00:00Z"}`,
		`{"reportId":"r1","userId":"u1","periodStart":"2026-11-01T01:00:00Z","periodEnd":"2026-11-01T00:00:00Z"}`,
		`{"reportId":"r1","userId":"u1","periodStart":"2026-11-01T00:00:00Z","periodEnd":"2026-11-01T01:00:00Z","egressBytes":-5}`,
		`{"reportId":"r1","userId":"u1","periodStart":"2026-11-01T00:00:00Z","periodEnd":"2026-11-01T01:00:00Z","egressBytes":"5"}`,
		`{"reportId":"a/b","userId":"u1","periodStart":"2026-11-01T00:00:00Z","periodEnd":"2026-11-01T01:00:00Z"}`,
		`{"reportId":"r1","userId":"u1","periodStart":"2026-11-01T00:00:00Z","periodEnd":"2026-11-01T01:00:00Z","egressBytes":1e999999999}`,
	}
	for _, b := range bad {
		if _, err := metering.ParseReport([]byte(b)); !errors.Is(err, metering.ErrInvalidReport) {
			t.Errorf("ParseReport(%s) = %v, want ErrInvalidReport", b, err)
		}
	}
}

// Redelivered and reordered reports give the same amount.
func TestReportsStoredOnceInAnyOrder(t *testing.T) {
	t.Parallel()
	fs := testenv.Firestore(t)
	store := metering.NewStore(fs)
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var reports []metering.Report
	for i := range 24 {
		reports = append(reports, metering.Report{
			ReportID: fmt.Sprintf("r%02d", i), UserID: "u1",
			PeriodStart: start.Add(time.Duration(i) * time.Hour), PeriodEnd: start.Add(time.Duration(i+1) * time.Hour),
			StorageByteHours: rat("30000000000000.5"), EgressBytes: rat("20833333333"), SegmentHours: rat("300000"),
		})
	}
	// Every report twice, shuffled.
	deliveries := append(append([]metering.Report{}, reports...), reports...)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
	newOnes := 0
	for _, r := range deliveries {
		isNew, err := store.Save(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if isNew {
			newOnes++
		}
	}
	if newOnes != 24 {
		t.Errorf("%d reports stored as new, want 24", newOnes)
	}
	// Stored as a person reads them: exact decimal strings.
	snap, err := fs.Doc("accounts/u1/" + metering.Collection + "/r00").Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Data(); got["storageByteHours"] != "30000000000000.5" || got["egressBytes"] != "20833333333" {
		t.Errorf("stored quantities = %v, %v; want exact decimal strings", got["storageByteHours"], got["egressBytes"])
	}
	period, err := store.Since(ctx, nil, "u1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !period.Start.Equal(start) || !period.End.Equal(start.Add(24*time.Hour)) || period.Reports != 24 {
		t.Errorf("period = %v to %v (%d reports)", period.Start, period.End, period.Reports)
	}
	// By hand: 24 × 30.0000000000005 TB-hours = 720.000000000012 TB-hours = 1 TB-month (+ a hair): 400 cents;
	// 24 × 20,833,333,333 bytes = 0.499999999992 TB: 349.9999999944 cents; 24 × 300,000 = 7,200,000 segment-hours
	// = 10,000 segment-months: 8.8 cents. Exact total 758.79999999... + tiny, rounds to 759.
	if got := listPrices(t).Price(period.Totals).Amount; got != 759 {
		t.Errorf("amount = %d, want 759", got)
	}
	// Billing by receipt: after a bill's cursor nothing is left, and a late
	// report for an early hour is what the next bill finds.
	if later, err := store.Since(ctx, nil, "u1", period.ReceivedThrough); err != nil || later.Reports != 0 {
		t.Errorf("since the cursor: %d reports, %v; want none", later.Reports, err)
	}
	late := reports[3]
	late.ReportID = "late"
	if _, err := store.Save(ctx, late); err != nil {
		t.Fatal(err)
	}
	later, err := store.Since(ctx, nil, "u1", period.ReceivedThrough)
	if err != nil || later.Reports != 1 || !later.Start.Equal(late.PeriodStart) || !later.ReceivedThrough.After(period.ReceivedThrough) {
		t.Errorf("after a late report: %+v, %v; want that one report, its period, a later cursor", later, err)
	}
}

// FuzzParseReport: whatever the satellite sends, the decoder never panics,
// and a report it accepts has valid ids, a period that runs forward, and
// non-negative quantities that survive storage exactly.
func FuzzParseReport(f *testing.F) {
	for _, s := range []string{
		`{"reportId":"r1","userId":"u1","projectId":"p1","periodStart":"2026-11-01T00:00:00Z","periodEnd":"2026-11-01T01:00:00Z","storageByteHours":1.5e12,"egressBytes":1000,"segmentHours":12.25}`,
		`{"reportId":"r1","userId":"u1","periodStart":"2026-11-01T01:00:00Z","periodEnd":"2026-11-01T00:00:00Z"}`,
		`{"reportId":"r1","userId":"u1","periodStart":"2026-11-01T00:00:00Z","periodEnd":"2026-11-01T01:00:00Z","egressBytes":"5"}`,
		`{"reportId":"a/b","userId":"u1"}`, `{"egressBytes":1e999999}`, `null`, `[]`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := metering.ParseReport(data)
		if err != nil {
			if !errors.Is(err, metering.ErrInvalidReport) {
				t.Fatalf("error outside ErrInvalidReport: %v", err)
			}
			return
		}
		if r.ReportID == "" || r.UserID == "" || !r.PeriodEnd.After(r.PeriodStart) {
			t.Fatalf("accepted %+v", r)
		}
		for _, q := range []*big.Rat{r.StorageByteHours, r.EgressBytes, r.SegmentHours} {
			if q.Sign() < 0 {
				t.Fatalf("accepted a negative quantity from %q", data)
			}
			stored := metering.Decimal(q)
			back, ok := new(big.Rat).SetString(stored)
			if !ok || back.Cmp(q) != 0 || strings.Contains(stored, "/") {
				t.Fatalf("%v is stored as %q, which is not the same exact decimal", q, stored)
			}
		}
	})
}

func TestDecimalIsExactAndReadable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want string
	}{
		{"0", "0"}, {"300", "300"}, {"3/2", "1.5"}, {"12345/100", "123.45"}, {"1/1024", "0.0009765625"},
		{"0.00088", "0.00088"}, {"1e-20", "0.00000000000000000001"}, {"123456789012345678901234567890", "123456789012345678901234567890"},
		// No finite decimal form: kept exact rather than rounded.
		{"1/3", "1/3"},
	}
	for _, tc := range cases {
		q, ok := new(big.Rat).SetString(tc.in)
		if !ok {
			t.Fatalf("bad case %q", tc.in)
		}
		if got := metering.Decimal(q); got != tc.want {
			t.Errorf("Decimal(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
