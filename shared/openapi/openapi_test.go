package openapi_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"example.com/billing/shared/openapi"
)

func TestDocumentIsValidOpenAPI31(t *testing.T) {
	t.Parallel()
	doc, err := libopenapi.NewDocument(openapi.Document)
	if err != nil {
		t.Fatal(err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Errorf("openapi %s, want 3.1.0", v)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("build the validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  %s: %s", se.FieldPath, se.Reason)
			}
		}
	}
}

// The document describes exactly the HTTP entry points functions.go
// registers, one path /<EntryPoint> each; the CloudEvent functions are
// Pub/Sub's, not part of the HTTP surface.
func TestDocumentMatchesFunctionsGo(t *testing.T) {
	t.Parallel()
	doc, err := libopenapi.NewDocument(openapi.Document)
	if err != nil {
		t.Fatal(err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		documented = append(documented, strings.TrimPrefix(path, "/"))
		if n := item.GetOperations().Len(); n != 1 {
			t.Errorf("%s has %d operations; a function serves one", path, n)
		}
	}
	slices.Sort(documented)
	if diff := cmp.Diff(httpEntryPoints(t), documented); diff != "" {
		t.Errorf("HTTP entry points in functions.go (-) and paths in openapi.yaml (+) differ:\n%s", diff)
	}
}

// httpEntryPoints parses the root package and returns the names registered
// with functions.HTTP, sorted.
func httpEntryPoints(t *testing.T) []string {
	t.Helper()
	const framework = "github.com/GoogleCloudPlatform/functions-framework-go/functions"
	files, err := filepath.Glob(filepath.Join("..", "..", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		local := ""
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == framework {
				local = "functions"
				if imp.Name != nil {
					local = imp.Name.Name
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || local == "" {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "HTTP" && sel.Sel.Name != "Typed") {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); !ok || x.Name != local || len(call.Args) == 0 {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: an entry point name must be a string literal to be checked", fset.Position(call.Pos()))
				return true
			}
			name, _ := strconv.Unquote(lit.Value)
			names = append(names, name)
			return true
		})
	}
	if len(names) == 0 {
		t.Fatal("functions.go registers no HTTP function")
	}
	slices.Sort(names)
	return names
}
