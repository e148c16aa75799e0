package stripetest

import "strings"

// searchClause is one field:'value' term of a Stripe search query. The
// field is "metadata" with key set for metadata['key']:'value'.
type searchClause struct {
	field, key, value string
}

// matcher parses a search query whose clauses are exact matches on
// metadata or on the given fields, and returns whether an object matches
// them all. Stripe's other operators (~ for substring, -field for negation,
// OR, range comparisons) and other fields are refused.
func matcher[T any](query string, meta func(*T) map[string]string, fields map[string]func(*T) string) (func(*T) bool, *apiError) {
	clauses, e := parseSearchQuery(query)
	if e != nil {
		return nil, e
	}
	for _, cl := range clauses {
		if _, ok := fields[cl.field]; !ok && cl.field != "metadata" {
			return nil, unsupported("query", "searching by "+cl.field)
		}
	}
	return func(v *T) bool {
		for _, cl := range clauses {
			var got string
			if cl.field == "metadata" {
				got = meta(v)[cl.key]
			} else {
				got = fields[cl.field](v)
			}
			if got != cl.value {
				return false
			}
		}
		return true
	}, nil
}

// parseSearchQuery accepts field:'value' and metadata['key']:'value'
// clauses (either quote style) joined by AND.
func parseSearchQuery(query string) ([]searchClause, *apiError) {
	p := &queryParser{s: strings.TrimSpace(query)}
	if p.s == "" {
		return nil, missingParam("query")
	}
	var clauses []searchClause
	for {
		cl, ok := p.clause()
		if !ok {
			return nil, invalidQuery(query)
		}
		clauses = append(clauses, cl)
		if p.done() {
			return clauses, nil
		}
		switch {
		case p.keyword("AND"):
		case p.keyword("OR"):
			return nil, unsupported("query", "OR in search queries")
		default:
			return nil, invalidQuery(query)
		}
	}
}

func invalidQuery(query string) *apiError {
	return invalidRequest("query", "We were unable to parse your search query ("+query+
		"). Try using the format `metadata[\"key\"]:\"value\"` to query for metadata or `key:\"value\"` to query for other fields.")
}

// queryParser is a cursor over a search query.
type queryParser struct {
	s string
	i int
}

func (p *queryParser) done() bool { return p.i == len(p.s) }

// clause reads field:'value' or metadata['key']:'value'.
func (p *queryParser) clause() (searchClause, bool) {
	start := p.i
	for !p.done() && (p.s[p.i] == '_' || p.s[p.i] == '.' || ('a' <= p.s[p.i] && p.s[p.i] <= 'z')) {
		p.i++
	}
	cl := searchClause{field: p.s[start:p.i]}
	if cl.field == "" {
		return cl, false
	}
	if cl.field == "metadata" {
		var ok bool
		if !p.literal("[") {
			return cl, false
		}
		if cl.key, ok = p.quoted(); !ok || !p.literal("]") {
			return cl, false
		}
	}
	if !p.literal(":") {
		return cl, false
	}
	var ok bool
	cl.value, ok = p.quoted()
	return cl, ok
}

// quoted reads a '...' or "..." string in which a backslash escapes the next
// character.
func (p *queryParser) quoted() (string, bool) {
	if p.done() || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", false
	}
	quote := p.s[p.i]
	var b strings.Builder
	for p.i++; !p.done(); p.i++ {
		switch c := p.s[p.i]; {
		case c == '\\' && p.i+1 < len(p.s):
			p.i++
			b.WriteByte(p.s[p.i])
		case c == quote:
			p.i++
			return b.String(), true
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

func (p *queryParser) literal(lit string) bool {
	if strings.HasPrefix(p.s[p.i:], lit) {
		p.i += len(lit)
		return true
	}
	return false
}

// keyword reads a space-delimited keyword between two clauses.
func (p *queryParser) keyword(kw string) bool {
	rest := p.s[p.i:]
	trimmed := strings.TrimLeft(rest, " ")
	if len(trimmed) == len(rest) || !strings.HasPrefix(trimmed, kw+" ") {
		return false
	}
	after := strings.TrimLeft(trimmed[len(kw):], " ")
	p.i = len(p.s) - len(after)
	return true
}
