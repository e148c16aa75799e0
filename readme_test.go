package billing

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The README is the reference a console developer and an operator read; these
// tests keep two of its lists true both ways: the error answers, and the
// Firestore fields.

// readmeSection returns the README's text from the heading to the next
// heading of the same level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("README.md has no %q section", heading)
	}
	rest := text[start+len(heading)+2:]
	if end := strings.Index(rest, "\n## "); end >= 0 {
		rest = rest[:end]
	}
	return rest
}

// productFiles parses every non-test Go file that is deployed: the root,
// functions/ and shared/ (test support aside).
func productFiles(t *testing.T) []*ast.File {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch {
			case path == ".":
				return nil
			case path == "functions" || path == "shared" || strings.HasPrefix(path, "functions/") || strings.HasPrefix(path, "shared/"):
				if path == "shared/testsupport" || d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			default:
				return filepath.SkipDir
			}
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// statusCodes maps the names of net/http's status constants to their values.
func statusCodes() map[string]int {
	out := map[string]int{}
	for code := 100; code < 600; code++ {
		if text := http.StatusText(code); text != "" {
			out["Status"+strings.NewReplacer(" ", "", "-", "").Replace(text)] = code
		}
	}
	return out
}

func stringLiteral(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

func statusOf(t *testing.T, e ast.Expr, codes map[string]int) string {
	t.Helper()
	switch x := e.(type) {
	case *ast.SelectorExpr:
		if n, ok := codes[x.Sel.Name]; ok {
			return strconv.Itoa(n)
		}
	case *ast.BasicLit:
		return x.Value
	}
	t.Errorf("an error answer's status is not a net/http constant: %T", e)
	return "?"
}

// Every error answer the code can give (httpx.Errorf and httpx.Error
// literals, as "status code") is in the README's "HTTP functions" section,
// and every answer listed there is one the code gives.
func TestREADMEListsEveryErrorCodeTheCodeEmits(t *testing.T) {
	codes := statusCodes()
	emitted := map[string]bool{}
	for _, f := range productFiles(t) {
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				name := ""
				switch fun := x.Fun.(type) {
				case *ast.SelectorExpr:
					name = fun.Sel.Name
				case *ast.Ident:
					name = fun.Name
				}
				if name == "Errorf" && len(x.Args) >= 2 {
					if code, ok := stringLiteral(x.Args[1]); ok {
						emitted[statusOf(t, x.Args[0], codes)+" "+code] = true
					}
				}
			case *ast.CompositeLit:
				typ := ""
				switch tt := x.Type.(type) {
				case *ast.SelectorExpr:
					typ = tt.Sel.Name
				case *ast.Ident:
					typ = tt.Name
				}
				if typ != "Error" {
					return true
				}
				var status ast.Expr
				var code string
				for _, el := range x.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					switch key, _ := kv.Key.(*ast.Ident); {
					case key == nil:
					case key.Name == "Status":
						status = kv.Value
					case key.Name == "Code":
						code, _ = stringLiteral(kv.Value)
					}
				}
				if status != nil && code != "" {
					emitted[statusOf(t, status, codes)+" "+code] = true
				}
			}
			return true
		})
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`([1-5][0-9][0-9] [a-z][a-z_]*)`").FindAllStringSubmatch(readmeSection(t, "## HTTP functions"), -1) {
		documented[m[1]] = true
	}
	if len(emitted) < 10 {
		t.Fatalf("found only %d error answers in the code; has the error type moved?", len(emitted))
	}
	sorted := func(m map[string]bool) []string {
		return slices.Sorted(func(yield func(string) bool) {
			for k := range m {
				if !yield(k) {
					return
				}
			}
		})
	}
	if diff := cmp.Diff(sorted(emitted), sorted(documented)); diff != "" {
		t.Errorf("error answers the code gives (-) and the README's \"HTTP functions\" section lists (+) differ:\n%s", diff)
	}
}

// Every field the code writes to Firestore (firestore struct tags, and the
// field paths of updates and map writes) is in the README's Firestore
// layout, and every field listed there is one the code writes.
func TestREADMEFirestoreLayoutListsEveryFieldWritten(t *testing.T) {
	written := map[string]bool{}
	tag := regexp.MustCompile(`firestore:"([^",]+)`)
	for _, f := range productFiles(t) {
		usesFirestore := slices.ContainsFunc(f.Imports, func(i *ast.ImportSpec) bool {
			return strings.Contains(i.Path.Value, "cloud.google.com/go/firestore")
		})
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.Field:
				if x.Tag != nil {
					if m := tag.FindStringSubmatch(x.Tag.Value); m != nil && m[1] != "-" {
						written[m[1]] = true
					}
				}
			case *ast.CompositeLit:
				if !usesFirestore {
					return true
				}
				switch tt := x.Type.(type) {
				case *ast.SelectorExpr: // firestore.Update{Path: "..."}
					if tt.Sel.Name == "Update" {
						for _, el := range x.Elts {
							if kv, ok := el.(*ast.KeyValueExpr); ok {
								if key, _ := kv.Key.(*ast.Ident); key != nil && key.Name == "Path" {
									if p, ok := stringLiteral(kv.Value); ok {
										for _, part := range strings.Split(p, ".") {
											written[part] = true
										}
									}
								}
							}
						}
					}
				case *ast.MapType: // map[string]any{"field": ...} written with Set/Create
					if !isAny(tt.Value) {
						return true
					}
					for _, el := range x.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							if k, ok := stringLiteral(kv.Key); ok {
								written[k] = true
							}
						}
					}
				}
			}
			return true
		})
	}
	layout := readmeSection(t, "## Firestore layout")
	if i := strings.Index(layout, "\n\n"); i >= 0 { // the table only
		layout = layout[:strings.Index(layout[i+2:], "\n\n")+i+2]
	}
	documented := map[string]bool{}
	field := regexp.MustCompile("`([a-z][A-Za-z]*)`")
	for _, line := range strings.Split(layout, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") || strings.TrimSpace(cells[1]) == "document" {
			continue
		}
		// Values are in parentheses: (`pending`/`ready`), (bool); fields are not.
		fields := regexp.MustCompile(`\([^()]*\)`).ReplaceAllString(strings.Join(cells[2:], "|"), "")
		for _, m := range field.FindAllStringSubmatch(fields, -1) {
			documented[m[1]] = true
		}
	}
	if len(written) < 20 {
		t.Fatalf("found only %d fields written; has the Firestore code moved?", len(written))
	}
	sorted := func(m map[string]bool) []string {
		return slices.Sorted(func(yield func(string) bool) {
			for k := range m {
				if !yield(k) {
					return
				}
			}
		})
	}
	if diff := cmp.Diff(sorted(written), sorted(documented)); diff != "" {
		t.Errorf("Firestore fields the code writes (-) and the README's layout lists (+) differ:\n%s", diff)
	}
}

func isAny(e ast.Expr) bool {
	switch v := e.(type) {
	case *ast.Ident:
		return v.Name == "any"
	case *ast.InterfaceType:
		return len(v.Methods.List) == 0
	}
	return false
}
