package stripetest

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Helpers that read parameters as stripe-go's form encoder writes them:
// scalars as name=v, arrays as name[0]=v, maps as name[key]=v, and nested
// hashes as name[field]=v.

// formString returns the first value of name and whether it was sent at all;
// Stripe gives an empty value a meaning (unset the field).
func formString(form url.Values, name string) (string, bool) {
	vs, ok := form[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// formNullable reads a string field that an empty value resets to null.
func formNullable(form url.Values, name string) (val *string, set bool) {
	v, set := formString(form, name)
	if !set || v == "" {
		return nil, set
	}
	return &v, true
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

// readMoney reads the required amount and currency of a charge-like
// object. Stripe accepts the currency in any case and stores it lower-case.
func readMoney(form url.Values) (amount int64, currency string, e *apiError) {
	amount, set, e := formInt(form, "amount")
	if e != nil {
		return 0, "", e
	}
	if !set {
		return 0, "", missingParam("amount")
	}
	if amount < 1 {
		return 0, "", invalidRequest("amount", "This value must be greater than or equal to 1.")
	}
	currency, ok := formString(form, "currency")
	if !ok {
		return 0, "", missingParam("currency")
	}
	currency = strings.ToLower(currency)
	if len(currency) != 3 || strings.Trim(currency, "abcdefghijklmnopqrstuvwxyz") != "" {
		return 0, "", invalidRequest("currency", "Invalid currency: "+currency)
	}
	return amount, currency, nil
}

// formList reads name[0], name[1], ... (or name[]) in index order.
func formList(form url.Values, name string) []string {
	type item struct {
		index int
		value string
	}
	var items []item
	for k, vs := range form {
		sub, ok := subKey(k, name)
		if !ok {
			continue
		}
		i, err := strconv.Atoi(sub)
		if sub != "" && err != nil {
			continue
		}
		for _, v := range vs {
			items = append(items, item{i, v})
		}
	}
	slices.SortStableFunc(items, func(a, b item) int { return a.index - b.index })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.value
	}
	return out
}

// formMap reads name[key]=value pairs, and reports whether the whole map
// was sent as name= (which Stripe takes as "remove every key").
func formMap(form url.Values, name string) (m map[string]string, clear bool) {
	m = map[string]string{}
	for k, vs := range form {
		if sub, ok := subKey(k, name); ok && sub != "" && len(vs) > 0 {
			m[sub] = vs[0]
		}
	}
	v, set := formString(form, name)
	return m, set && v == ""
}

// subKey returns "key" for "name[key]".
func subKey(k, name string) (string, bool) {
	rest, ok := strings.CutPrefix(k, name+"[")
	if !ok || !strings.HasSuffix(rest, "]") {
		return "", false
	}
	return strings.TrimSuffix(rest, "]"), true
}

// createdFilter reads created=ts or created[gt|gte|lt|lte]=ts.
func createdFilter(form url.Values) (func(created int64) bool, *apiError) {
	type bound struct {
		op string
		ok func(created, ts int64) bool
	}
	bounds := []bound{
		{"created", func(c, ts int64) bool { return c == ts }},
		{"created[gt]", func(c, ts int64) bool { return c > ts }},
		{"created[gte]", func(c, ts int64) bool { return c >= ts }},
		{"created[lt]", func(c, ts int64) bool { return c < ts }},
		{"created[lte]", func(c, ts int64) bool { return c <= ts }},
	}
	var checks []func(int64) bool
	for _, b := range bounds {
		ts, set, e := formInt(form, b.op)
		if e != nil {
			return nil, e
		}
		if set {
			checks = append(checks, func(c int64) bool { return b.ok(c, ts) })
		}
	}
	return func(created int64) bool {
		for _, ok := range checks {
			if !ok(created) {
				return false
			}
		}
		return true
	}, nil
}

// expanders maps an expandable field to a lookup of the object that
// replaces its id.
type expanders map[string]func(id string) any

// expand replaces the ids at paths in obj's JSON by the objects they name.
// Only one level is supported; Stripe's nested paths (a.b) are refused
// rather than ignored.
func expand(obj any, paths []string, ex expanders) (any, *apiError) {
	if len(paths) == 0 {
		return obj, nil
	}
	var m map[string]any
	if err := json.Unmarshal(mustJSON(obj), &m); err != nil {
		panic("stripetest: re-reading own JSON: " + err.Error())
	}
	for _, p := range paths {
		lookup, ok := ex[p]
		if !ok {
			return nil, invalidRequest("expand", "This property cannot be expanded ("+p+").")
		}
		if id, ok := m[p].(string); ok {
			m[p] = lookup(id)
		}
	}
	return m, nil
}

// listExpand reads a list's expand[] parameter, whose paths name fields of
// each item as data.field.
func listExpand(form url.Values) ([]string, *apiError) {
	var out []string
	for _, p := range formList(form, "expand") {
		field, ok := strings.CutPrefix(p, "data.")
		if !ok {
			return nil, invalidRequest("expand", "This property cannot be expanded ("+p+"). You may want to try expanding 'data."+p+"' instead.")
		}
		out = append(out, field)
	}
	return out, nil
}
