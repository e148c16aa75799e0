package stripetest

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Helpers that read parameters as stripe-go's form encoder writes them:
// scalars as name=v, arrays as name[0]=v, and maps as name[key]=v.

// allowed refuses a parameter the route does not model. An entry of params
// ending in "[*]" admits every key of that map (metadata[*]).
func allowed(c *call, params []string) *apiError {
	for k := range c.form {
		if !slices.ContainsFunc(params, func(p string) bool {
			prefix, isMap := strings.CutSuffix(p, "*]")
			return k == p || (isMap && strings.HasPrefix(k, prefix) && strings.HasSuffix(k, "]"))
		}) {
			return unsupported(k, "the parameter "+k+" on "+c.method+" "+c.path)
		}
	}
	return nil
}

// formString returns the first value of name and whether it was sent at all;
// Stripe gives an empty value a meaning (unset the field).
func formString(form url.Values, name string) (string, bool) {
	vs, ok := form[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// formNullable reads a string field that is null when absent or empty.
func formNullable(form url.Values, name string) *string {
	v, _ := formString(form, name)
	if v == "" {
		return nil
	}
	return &v
}

func formInt(form url.Values, name string) (n int64, set bool, e *apiError) {
	v, set := formString(form, name)
	if !set {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, true, invalidRequest(name, "Invalid integer: "+v).coded("parameter_invalid_integer")
	}
	return n, true, nil
}

func formBool(form url.Values, name string) (bool, *apiError) {
	v, set := formString(form, name)
	if !set {
		return false, nil
	}
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalidRequest(name, "Invalid boolean: "+v)
}

// readMoney reads the required amount and currency of a payment, an item
// or a balance transaction; the caller checks the amount's sign.
func readMoney(form url.Values) (amount int64, currency string, e *apiError) {
	amount, set, e := formInt(form, "amount")
	switch {
	case e != nil:
		return 0, "", e
	case !set:
		return 0, "", missingParam("amount")
	}
	currency, set, e = readCurrency(form)
	if e == nil && !set {
		e = missingParam("currency")
	}
	return amount, currency, e
}

// readCurrency reads an optional currency, which Stripe accepts in any case
// and stores lower-case.
func readCurrency(form url.Values) (currency string, set bool, e *apiError) {
	currency, set = formString(form, "currency")
	currency = strings.ToLower(currency)
	if set && (len(currency) != 3 || strings.Trim(currency, "abcdefghijklmnopqrstuvwxyz") != "") {
		return "", true, invalidRequest("currency", "Invalid currency: "+currency)
	}
	return currency, set, nil
}

// metadata reads the metadata[key]=value pairs of a create; an empty value
// sets nothing.
func metadata(form url.Values) map[string]string {
	m := map[string]string{}
	for k, vs := range form {
		if key, ok := strings.CutPrefix(k, "metadata["); ok && strings.HasSuffix(key, "]") && vs[0] != "" {
			m[strings.TrimSuffix(key, "]")] = vs[0]
		}
	}
	return m
}

// oneOf refuses a value of param outside values.
func oneOf(form url.Values, param string, values ...string) (string, *apiError) {
	v, ok := formString(form, param)
	if ok && !slices.Contains(values, v) {
		return "", invalidRequest(param, "Invalid "+param+": must be one of "+strings.Join(values, ", "))
	}
	return v, nil
}
