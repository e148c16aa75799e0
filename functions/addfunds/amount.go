package addfunds

import (
	"encoding/json"
	"math/big"
	"regexp"
	"strings"
)

// JSON's grammar for numbers, and its integers.
var (
	numberLiteral  = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	integerLiteral = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
)

// parseAmount reads a JSON amount in minor units. Only a positive integer
// literal is an amount: fractions, exponents, strings, booleans and null are
// not. A positive integer too large for int64 is reported as too high rather
// than invalid: it is a well-formed amount, just above any maximum.
func parseAmount(raw json.RawMessage) (amount int64, tooLarge bool, err error) {
	lit := strings.Trim(string(raw), " \t\r\n") // JSON's whitespace, no more
	switch {
	case lit == "" || lit == "null":
		return 0, false, errAmountMissing
	case strings.HasPrefix(lit, `"`):
		return 0, false, errAmountNotNumber
	case numberLiteral.MatchString(lit) && !integerLiteral.MatchString(lit):
		return 0, false, errAmountNotInteger
	case !integerLiteral.MatchString(lit):
		return 0, false, errAmountNotNumber
	}
	n, _ := new(big.Int).SetString(lit, 10)
	if n.Sign() <= 0 {
		return 0, false, errAmountNotPositive
	}
	if !n.IsInt64() {
		return 0, true, nil
	}
	return n.Int64(), false, nil
}
