package infra

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// query is one Firestore query chain found in the Go code.
type query struct {
	pos   string
	group bool            // CollectionGroup, not Collection
	eq    map[string]bool // fields compared with == (or in, array-contains)
	other map[string]bool // fields with a range filter or an order
}

func (q query) fields() []string {
	var out []string
	for f := range q.eq {
		out = append(out, f)
	}
	for f := range q.other {
		if !q.eq[f] {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// needs says which index the query needs beyond Firestore's automatic
// single-field ones: "composite" (a range or order on one field and any
// other field), "group-field" (a collection-group query on one field: a
// single-field index of collection-group scope), or "" (none). Equalities
// on several fields of one collection are served by merging the automatic
// indexes.
func (q query) needs() string {
	n := len(q.fields())
	switch {
	case n >= 2 && (len(q.other) > 0 || q.group):
		return "composite"
	case n == 1 && q.group:
		return "group-field"
	}
	return ""
}

// Firestore's emulator does not enforce indexes, so a query that needs a
// composite index passes every local test and fails in production. Every
// query chain in the Go code (Collection or CollectionGroup, then Where and
// OrderBy) that needs an index has one in firestore.tf.
func TestFirestoreIndexes(t *testing.T) {
	t.Parallel()
	queries := firestoreQueries(t)
	if len(queries) == 0 {
		t.Fatal("no Firestore query found in the Go code: has the query style changed?")
	}
	tf := loadTerraform(t, ".")
	type index struct {
		scope  string
		fields []string
	}
	var composite []index
	for name, b := range tf.resourcesOf("google_firestore_index") {
		scope, _ := literalString(attr(b, "query_scope"))
		if scope == "" {
			scope = "COLLECTION"
		}
		var fields []string
		for _, f := range nested(b, "fields") {
			p, err := literalString(attr(f, "field_path"))
			if err != nil {
				t.Errorf("google_firestore_index.%s: field_path must be a literal", name)
			}
			if p != "__name__" {
				fields = append(fields, p)
			}
		}
		slices.Sort(fields)
		composite = append(composite, index{scope, fields})
	}
	groupFields := map[string]bool{}
	for _, b := range tf.resourcesOf("google_firestore_field") {
		field, _ := literalString(attr(b, "field"))
		for _, cfg := range nested(b, "index_config") {
			for _, ix := range nested(cfg, "indexes") {
				if s, _ := literalString(attr(ix, "query_scope")); s == "COLLECTION_GROUP" {
					groupFields[field] = true
				}
			}
		}
	}
	for _, q := range queries {
		scope := "COLLECTION"
		if q.group {
			scope = "COLLECTION_GROUP"
		}
		switch q.needs() {
		case "composite":
			if !slices.ContainsFunc(composite, func(ix index) bool {
				return ix.scope == scope && slices.Equal(ix.fields, q.fields())
			}) {
				t.Errorf("%s: this query needs a composite index (%s scope) on %v: add a google_firestore_index to firestore.tf", q.pos, scope, q.fields())
			}
		case "group-field":
			if f := q.fields()[0]; !groupFields[f] {
				t.Errorf("%s: this collection-group query needs a collection-group index on %s: add a google_firestore_field with index_config to firestore.tf", q.pos, f)
			}
		}
	}
}

// firestoreQueries finds the query chains in the non-test Go code.
func firestoreQueries(t *testing.T) []query {
	t.Helper()
	fset := token.NewFileSet()
	var out []query
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != repoRoot && (strings.HasPrefix(n, ".") || n == "infra" || n == "testdata" || n == "stripetest") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		// The longest chain of each Collection/CollectionGroup call.
		longest := map[*ast.CallExpr]query{}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			q, root := chain(call)
			if root == nil {
				return true
			}
			if prev, ok := longest[root]; !ok || len(q.eq)+len(q.other) > len(prev.eq)+len(prev.other) {
				q.pos = fset.Position(call.Pos()).String()
				longest[root] = q
			}
			return true
		})
		for _, q := range longest {
			out = append(out, q)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// chain walks a call chain down to its Collection or CollectionGroup call,
// collecting Where and OrderBy fields; root is nil when the chain does not
// end there or filters nothing.
func chain(call *ast.CallExpr) (q query, root *ast.CallExpr) {
	q = query{eq: map[string]bool{}, other: map[string]bool{}}
	filtered := false
	for expr := ast.Expr(call); ; {
		c, ok := expr.(*ast.CallExpr)
		if !ok {
			return q, nil
		}
		sel, ok := c.Fun.(*ast.SelectorExpr)
		if !ok {
			return q, nil
		}
		switch sel.Sel.Name {
		case "Where":
			if len(c.Args) == 3 {
				field, op := stringLit(c.Args[0]), stringLit(c.Args[1])
				if field != "" {
					filtered = true
					switch op {
					case "==", "in", "array-contains", "array-contains-any":
						q.eq[field] = true
					default:
						q.other[field] = true
					}
				}
			}
		case "OrderBy":
			if len(c.Args) >= 1 {
				if field := stringLit(c.Args[0]); field != "" && field != "__name__" {
					filtered = true
					q.other[field] = true
				}
			}
		case "Collection", "CollectionGroup", "UnderAccount":
			// Doc(x).Collection(y), or store.UnderAccount(fs, user, y): a
			// subcollection query starts here.
			if !filtered {
				return q, nil
			}
			q.group = sel.Sel.Name == "CollectionGroup"
			return q, c
		}
		expr = sel.X
	}
}

func stringLit(e ast.Expr) string {
	if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
		s, err := strconv.Unquote(lit.Value)
		if err == nil {
			return s
		}
	}
	return ""
}
