package infra

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// repoRoot is the module root, seen from this package's directory (where
// go test runs).
const repoRoot = ".."

// functionModule is the source every function is declared with; the
// checks find functions by it.
const functionModule = "./modules/function"

// Entry point kinds, as registered in functions.go.
const (
	kindHTTP  = "http"
	kindEvent = "event"
)

// registeredEntryPoints parses the root package and returns every entry
// point it registers (functions.HTTP / functions.CloudEvent) with its kind.
func registeredEntryPoints(t *testing.T) map[string]string {
	t.Helper()
	const frameworkPath = "github.com/GoogleCloudPlatform/functions-framework-go/functions"
	files, err := filepath.Glob(filepath.Join(repoRoot, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	eps := map[string]string{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		local := ""
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == frameworkPath {
				local = "functions"
				if imp.Name != nil {
					local = imp.Name.Name
				}
			}
		}
		if local == "" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); !ok || x.Name != local {
				return true
			}
			kind := map[string]string{"HTTP": kindHTTP, "CloudEvent": kindEvent, "Typed": kindHTTP}[sel.Sel.Name]
			if kind == "" {
				return true
			}
			if len(call.Args) == 0 {
				t.Errorf("%s: %s.%s without a name", fset.Position(call.Pos()), local, sel.Sel.Name)
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: the entry point name must be a string literal, so that it can be checked", fset.Position(call.Pos()))
				return true
			}
			name, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Errorf("%s: %v", fset.Position(call.Pos()), err)
				return true
			}
			if prev, dup := eps[name]; dup {
				t.Errorf("%s: entry point %q registered twice (%s, %s)", fset.Position(call.Pos()), name, prev, kind)
			}
			eps[name] = kind
			return true
		})
	}
	if len(eps) == 0 {
		t.Fatalf("no entry point registered in %s/*.go", repoRoot)
	}
	return eps
}

// kebab turns an entry point name into the function's name: AddFunds ->
// add-funds. Cloud Run service names are lower case, so the function
// (and its service) get the same name in Terraform and in cloudbuild.yaml.
func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// tfConfig is one Terraform module directory, parsed.
type tfConfig struct {
	dir       string
	locals    map[string]hclsyntax.Expression
	resources map[string]*hclsyntax.Block // "type.name"
	modules   map[string]*hclsyntax.Block
	// attrs holds every attribute of every resource, module and nested
	// block, for checks that look for a reference wherever it is.
	attrs []*hclsyntax.Attribute
}

// loadTerraform parses the .tf files directly in dir.
func loadTerraform(t *testing.T, dir string) *tfConfig {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no .tf files in %s", dir)
	}
	c := &tfConfig{
		dir:       dir,
		locals:    map[string]hclsyntax.Expression{},
		resources: map[string]*hclsyntax.Block{},
		modules:   map[string]*hclsyntax.Block{},
	}
	p := hclparse.NewParser()
	for _, path := range paths {
		f, diags := p.ParseHCLFile(path)
		if diags.HasErrors() {
			t.Fatalf("parse %s: %s", path, diags.Error())
		}
		body := f.Body.(*hclsyntax.Body)
		for _, b := range body.Blocks {
			switch b.Type {
			case "locals":
				for name, a := range b.Body.Attributes {
					if _, dup := c.locals[name]; dup {
						t.Fatalf("%s: local.%s defined twice", path, name)
					}
					c.locals[name] = a.Expr
				}
			case "resource":
				c.resources[b.Labels[0]+"."+b.Labels[1]] = b
			case "module":
				c.modules[b.Labels[0]] = b
			}
			c.collectAttrs(b.Body)
		}
	}
	return c
}

func (c *tfConfig) collectAttrs(b *hclsyntax.Body) {
	for _, a := range b.Attributes {
		c.attrs = append(c.attrs, a)
	}
	for _, nested := range b.Blocks {
		c.collectAttrs(nested.Body)
	}
}

// resourcesOf returns the resources of one type, by name.
func (c *tfConfig) resourcesOf(typ string) map[string]*hclsyntax.Block {
	out := map[string]*hclsyntax.Block{}
	for addr, b := range c.resources {
		if b.Labels[0] == typ {
			out[strings.TrimPrefix(addr, typ+".")] = b
		}
	}
	return out
}

// attr returns the expression of a block's attribute, or nil.
func attr(b *hclsyntax.Block, name string) hclsyntax.Expression {
	if a, ok := b.Body.Attributes[name]; ok {
		return a.Expr
	}
	return nil
}

// nested returns a block's nested blocks of one type.
func nested(b *hclsyntax.Block, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, n := range b.Body.Blocks {
		if n.Type == typ {
			out = append(out, n)
		}
	}
	return out
}

// literal evaluates an expression that needs no variables.
func literal(expr hclsyntax.Expression, ctx *hcl.EvalContext) (cty.Value, error) {
	if expr == nil {
		return cty.NilVal, fmt.Errorf("missing")
	}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, fmt.Errorf("not a literal: %s", diags.Error())
	}
	return v, nil
}

func literalString(expr hclsyntax.Expression) (string, error) {
	v, err := literal(expr, nil)
	if err != nil {
		return "", err
	}
	if !v.Type().Equals(cty.String) || v.IsNull() {
		return "", fmt.Errorf("not a string literal")
	}
	return v.AsString(), nil
}

func literalStrings(expr hclsyntax.Expression) ([]string, error) {
	v, err := literal(expr, nil)
	if err != nil {
		return nil, err
	}
	if !v.CanIterateElements() {
		return nil, fmt.Errorf("not a list literal")
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.Type().Equals(cty.String) {
			return nil, fmt.Errorf("not a list of strings")
		}
		out = append(out, e.AsString())
	}
	return out, nil
}

// ref returns the resource a reference expression points at, as
// "type.name" and the index key if it has one ("" otherwise).
func ref(expr hclsyntax.Expression) (addr string, ok bool) {
	trav, diags := hcl.AbsTraversalForExpr(expr)
	if diags.HasErrors() || len(trav) < 2 {
		return "", false
	}
	root, ok1 := trav[0].(hcl.TraverseRoot)
	name, ok2 := trav[1].(hcl.TraverseAttr)
	if !ok1 || !ok2 {
		return "", false
	}
	return root.Name + "." + name.Name, true
}

// objectItems returns the keys and value expressions of an object built
// from object literals, merge() and local values, statically: the keys of
// env, secrets and publishes_to must be knowable without an apply.
func (c *tfConfig) objectItems(expr hclsyntax.Expression) (map[string]hclsyntax.Expression, error) {
	switch e := expr.(type) {
	case *hclsyntax.ObjectConsExpr:
		out := map[string]hclsyntax.Expression{}
		for _, item := range e.Items {
			k, err := literal(item.KeyExpr, nil)
			if err != nil || !k.Type().Equals(cty.String) {
				return nil, fmt.Errorf("%s: object keys must be literal", item.KeyExpr.Range())
			}
			out[k.AsString()] = item.ValueExpr
		}
		return out, nil
	case *hclsyntax.FunctionCallExpr:
		if e.Name != "merge" {
			return nil, fmt.Errorf("%s: only merge() of objects is understood here, not %s()", e.Range(), e.Name)
		}
		out := map[string]hclsyntax.Expression{}
		for _, arg := range e.Args {
			items, err := c.objectItems(arg)
			if err != nil {
				return nil, err
			}
			for k, v := range items {
				out[k] = v
			}
		}
		return out, nil
	case *hclsyntax.ScopeTraversalExpr:
		if e.Traversal.RootName() == "local" && len(e.Traversal) == 2 {
			name := e.Traversal[1].(hcl.TraverseAttr).Name
			local, ok := c.locals[name]
			if !ok {
				return nil, fmt.Errorf("%s: local.%s is not defined", e.Range(), name)
			}
			return c.objectItems(local)
		}
	}
	return nil, fmt.Errorf("%s: not an object literal, merge() or local value", expr.Range())
}

// topicName returns the Pub/Sub topic a reference points at, by the topic
// resource's literal name.
func (c *tfConfig) topicName(expr hclsyntax.Expression) (string, error) {
	addr, ok := ref(expr)
	if !ok || !strings.HasPrefix(addr, "google_pubsub_topic.") {
		return "", fmt.Errorf("%s: not a reference to a google_pubsub_topic", expr.Range())
	}
	b, ok := c.resources[addr]
	if !ok {
		return "", fmt.Errorf("%s: %s is not declared", expr.Range(), addr)
	}
	name, err := literalString(attr(b, "name"))
	if err != nil {
		return "", fmt.Errorf("%s: name: %v", addr, err)
	}
	return name, nil
}

// tfFunction is one module call of modules/function.
type tfFunction struct {
	module       string
	name         string
	entryPoint   string
	public       bool
	triggerTopic string // "" for an HTTP function
	deadLetter   string // topic resource address, "" if none
	env          []string
	secrets      map[string]string // env name -> secret id
	publishes    []string          // topic names
}

// functions returns every function declared in the root module, by entry
// point.
func (c *tfConfig) functions(t *testing.T) map[string]tfFunction {
	t.Helper()
	if fns := c.resourcesOf("google_cloudfunctions2_function"); len(fns) > 0 {
		t.Errorf("declare functions with module %q, not as google_cloudfunctions2_function resources (%v): the checks only see the module calls", functionModule, slices.Sorted(maps.Keys(fns)))
	}
	out := map[string]tfFunction{}
	for label, m := range c.modules {
		if src, _ := literalString(attr(m, "source")); src != functionModule {
			continue
		}
		f := tfFunction{module: label, secrets: map[string]string{}}
		var err error
		if f.name, err = literalString(attr(m, "name")); err != nil {
			t.Errorf("module.%s: name: %v", label, err)
		}
		if f.entryPoint, err = literalString(attr(m, "entry_point")); err != nil {
			t.Errorf("module.%s: entry_point: %v", label, err)
			continue
		}
		if v, err := literal(attr(m, "public"), nil); err != nil || !v.Type().Equals(cty.Bool) {
			t.Errorf("module.%s: public must be a literal true or false", label)
		} else {
			f.public = v.True()
		}
		if e := attr(m, "trigger_topic"); e != nil {
			if f.triggerTopic, err = c.topicName(e); err != nil {
				t.Errorf("module.%s: trigger_topic: %v", label, err)
			}
		}
		if e := attr(m, "dead_letter_topic"); e != nil {
			f.deadLetter, _ = ref(e)
		}
		if e := attr(m, "env"); e != nil {
			items, err := c.objectItems(e)
			if err != nil {
				t.Errorf("module.%s: env: %v", label, err)
			}
			f.env = slices.Sorted(maps.Keys(items))
		}
		if e := attr(m, "secrets"); e != nil {
			items, err := c.objectItems(e)
			if err != nil {
				t.Errorf("module.%s: secrets: %v", label, err)
			}
			for k, v := range items {
				addr, ok := ref(v)
				b := c.resources[addr]
				if !ok || !strings.HasPrefix(addr, "google_secret_manager_secret.") || b == nil {
					t.Errorf("module.%s: secrets.%s must reference a declared google_secret_manager_secret", label, k)
					continue
				}
				id, err := literalString(attr(b, "secret_id"))
				if err != nil {
					t.Errorf("%s: secret_id: %v", addr, err)
				}
				f.secrets[k] = id
			}
		}
		if e := attr(m, "publishes_to"); e != nil {
			items, err := c.objectItems(e)
			if err != nil {
				t.Errorf("module.%s: publishes_to: %v", label, err)
			}
			for k, v := range items {
				name, err := c.topicName(v)
				if err != nil {
					t.Errorf("module.%s: publishes_to[%q]: %v", label, k, err)
				} else if name != k {
					t.Errorf("module.%s: publishes_to[%q] points at topic %q", label, k, name)
				}
				f.publishes = append(f.publishes, k)
			}
			slices.Sort(f.publishes)
		}
		if prev, dup := out[f.entryPoint]; dup {
			t.Errorf("entry point %s deployed twice: module.%s and module.%s", f.entryPoint, prev.module, label)
		}
		out[f.entryPoint] = f
	}
	return out
}

// goEnvNames returns every environment variable the Go code reads through
// an envconfig struct tag (env:"NAME..."), outside tests.
func goEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	tag := regexp.MustCompile(`env:"([A-Z][A-Z0-9_]*)`)
	names := map[string]bool{}
	err := filepath.WalkDir(repoRoot, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != repoRoot && (strings.HasPrefix(n, ".") || n == "infra" || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range tag.FindAllSubmatch(src, -1) {
			names[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}
