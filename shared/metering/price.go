// Package metering owns what users are billed for: the usage reports the
// satellite publishes (stored once per reportId under each account), the
// prices (from configuration, exact decimals), and the amount of a period's
// usage, computed exactly and rounded once, at the end, to whole cents.
package metering

import (
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
)

// Units of the list prices. Storj's conventions: a TB is 10^12 bytes and a
// month is 720 hours.
var (
	bytesPerTB    = big.NewRat(1_000_000_000_000, 1)
	hoursPerMonth = big.NewRat(720, 1)
)

// Prices are in cents, as exact decimals.
type Prices struct {
	StorageTBMonth *big.Rat // cents per TB-month stored
	EgressTB       *big.Rat // cents per TB downloaded
	SegmentMonth   *big.Rat // cents per segment-month
}

// Config reads the prices from the environment; the defaults are the Storj
// list prices: $4 per TB-month, $7 per TB of egress, $0.0000088 per
// segment-month.
type Config struct {
	StorageTBMonth string `env:"USAGE_PRICE_STORAGE_CENTS_PER_TB_MONTH, default=400"`
	EgressTB       string `env:"USAGE_PRICE_EGRESS_CENTS_PER_TB, default=700"`
	SegmentMonth   string `env:"USAGE_PRICE_SEGMENT_CENTS_PER_MONTH, default=0.00088"`
}

// Prices parses and validates the configured prices.
func (c Config) Prices() (Prices, error) {
	var errs []error
	parse := func(name, v string) *big.Rat {
		r, err := ParseQuantity(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		return r
	}
	p := Prices{
		StorageTBMonth: parse("USAGE_PRICE_STORAGE_CENTS_PER_TB_MONTH", c.StorageTBMonth),
		EgressTB:       parse("USAGE_PRICE_EGRESS_CENTS_PER_TB", c.EgressTB),
		SegmentMonth:   parse("USAGE_PRICE_SEGMENT_CENTS_PER_MONTH", c.SegmentMonth),
	}
	return p, errors.Join(errs...)
}

// ErrBadQuantity: not a non-negative decimal number.
var ErrBadQuantity = errors.New("not a non-negative decimal number")

// ParseQuantity reads a non-negative decimal (a JSON number literal) exactly.
func ParseQuantity(s string) (*big.Rat, error) {
	s = strings.TrimSpace(s)
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() < 0 || s == "" || strings.ContainsAny(s, "/") {
		return nil, fmt.Errorf("%q: %w", s, ErrBadQuantity)
	}
	return r, nil
}

// Totals are a period's summed usage.
type Totals struct {
	StorageByteHours *big.Rat
	EgressBytes      *big.Rat
	SegmentHours     *big.Rat
}

// Zero returns empty totals.
func Zero() Totals {
	return Totals{StorageByteHours: new(big.Rat), EgressBytes: new(big.Rat), SegmentHours: new(big.Rat)}
}

// Add adds r's usage to t (exactly: order does not matter).
func (t Totals) Add(r Report) {
	t.StorageByteHours.Add(t.StorageByteHours, r.StorageByteHours)
	t.EgressBytes.Add(t.EgressBytes, r.EgressBytes)
	t.SegmentHours.Add(t.SegmentHours, r.SegmentHours)
}

// Line is one priced line of a bill.
type Line struct {
	Kind        string // "storage", "egress", "segments"
	Description string // with the quantity in units a person reads
	Exact       *big.Rat
	Amount      int64 // cents, after the total was rounded (see Bill)
}

// Bill is a period's usage priced.
type Bill struct {
	Lines []Line
	// Amount is the exact total rounded half-up to cents, once.
	Amount int64
}

// Price prices t. The total is rounded once; the lines then get whole cents
// by the largest-remainder method, so that they add up to the total
// exactly (an invoice's lines must).
func (p Prices) Price(t Totals) Bill {
	storageTBMonths := new(big.Rat).Quo(t.StorageByteHours, new(big.Rat).Mul(bytesPerTB, hoursPerMonth))
	egressTB := new(big.Rat).Quo(t.EgressBytes, bytesPerTB)
	segmentMonths := new(big.Rat).Quo(t.SegmentHours, hoursPerMonth)
	lines := []Line{
		{Kind: "storage", Exact: new(big.Rat).Mul(storageTBMonths, p.StorageTBMonth),
			Description: fmt.Sprintf("Storage: %s TB-months at %s per TB-month", decimal(storageTBMonths, 6), dollars(p.StorageTBMonth))},
		{Kind: "egress", Exact: new(big.Rat).Mul(egressTB, p.EgressTB),
			Description: fmt.Sprintf("Egress: %s TB at %s per TB", decimal(egressTB, 6), dollars(p.EgressTB))},
		{Kind: "segments", Exact: new(big.Rat).Mul(segmentMonths, p.SegmentMonth),
			Description: fmt.Sprintf("Segments: %s segment-months at %s per segment-month", decimal(segmentMonths, 2), dollars(p.SegmentMonth))},
	}
	total := new(big.Rat)
	for _, l := range lines {
		total.Add(total, l.Exact)
	}
	bill := Bill{Amount: roundHalfUp(total)}

	// Largest remainder: floor every line, then hand the missing cents to
	// the lines with the largest fractions.
	type frac struct {
		i   int
		rem *big.Rat
	}
	var fracs []frac
	var floors int64
	for i := range lines {
		f := floor(lines[i].Exact)
		lines[i].Amount = f
		floors += f
		fracs = append(fracs, frac{i, new(big.Rat).Sub(lines[i].Exact, big.NewRat(f, 1))})
	}
	sort.SliceStable(fracs, func(a, b int) bool { return fracs[a].rem.Cmp(fracs[b].rem) > 0 })
	for k := int64(0); k < bill.Amount-floors; k++ {
		lines[fracs[int(k)%len(fracs)].i].Amount++
	}
	bill.Lines = lines
	return bill
}

func floor(r *big.Rat) int64 {
	q := new(big.Int).Quo(r.Num(), r.Denom()) // r >= 0, so truncation is floor
	return q.Int64()
}

func roundHalfUp(r *big.Rat) int64 {
	return floor(new(big.Rat).Add(r, big.NewRat(1, 2)))
}

// decimal renders r with at most places decimals, trailing zeros trimmed.
func decimal(r *big.Rat, places int) string {
	s := r.FloatString(places)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// dollars renders a price in cents as dollars.
func dollars(cents *big.Rat) string {
	d := new(big.Rat).Quo(cents, big.NewRat(100, 1))
	s := decimal(d, 8)
	if !strings.Contains(s, ".") {
		s += ".00"
	} else if i := strings.Index(s, "."); len(s)-i-1 < 2 {
		s += strings.Repeat("0", 2-(len(s)-i-1))
	}
	return "$" + s
}
