package infra

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The root package builds the way the Cloud Functions Go buildpack builds
// it: go.mod at the root with a module path that has a dot, a root package
// that is not main, and a generated main package, in a module of its own
// that requires the root module (replaced by the checkout), which imports
// the root package for its init() and calls funcframework.Start.
func TestRootPackageBuildsLikeTheBuildpack(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}

	out, err := exec.CommandContext(t.Context(), "go", "mod", "edit", "-json", filepath.Join(root, "go.mod")).Output()
	if err != nil {
		t.Fatalf("go.mod at the repository root: %v", err)
	}
	var mod struct{ Module struct{ Path string } }
	if err := json.Unmarshal(out, &mod); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(mod.Module.Path, "/")
	if !strings.Contains(first, ".") {
		t.Errorf("module path %q: the buildpack needs a dot in its first element (example.com/...)", mod.Module.Path)
	}

	// Every non-test file of the root is one package, not main; external
	// test packages of the root are <package>_test only.
	files, err := filepath.Glob(filepath.Join(root, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	pkg := ""
	for _, path := range files {
		f, err := parser.ParseFile(fset, path, nil, parser.PackageClauseOnly)
		if err != nil {
			t.Fatal(err)
		}
		name := f.Name.Name
		if strings.HasSuffix(path, "_test.go") {
			name = strings.TrimSuffix(name, "_test")
		}
		if pkg == "" {
			pkg = name
		}
		if name != pkg {
			t.Errorf("%s: package %s, but the root package is %s", filepath.Base(path), f.Name.Name, pkg)
		}
	}
	if pkg == "" || pkg == "main" {
		t.Fatalf("the root package is %q: Cloud Functions needs a non-main package at the root", pkg)
	}

	// The buildpack's main, in a module of its own.
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.go", `package main

import (
	"log"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ "`+mod.Module.Path+`"
)

func main() {
	port := "8080"
	if p := os.Getenv("PORT"); p != "" {
		port = p
	}
	if err := funcframework.Start(port); err != nil {
		log.Fatalf("funcframework.Start: %v", err)
	}
}
`)
	write("go.mod", "module functions.local/app\n\ngo 1.26\n\nrequire "+mod.Module.Path+" v0.0.0\n\nreplace "+mod.Module.Path+" => "+root+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", string(sum))

	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", filepath.Join(dir, "server"), ".")
	cmd.Dir = dir
	// The same module and build caches as the surrounding go test; -mod=mod
	// lets go add the framework's requirement to the generated go.mod, as
	// the buildpack does.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the buildpack's build of the root package fails: %v\n%s", err, out)
	}
}
