package infra

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// rulesFile is the Firestore security rules, deployed by firestore.tf and
// loaded by the emulator scripts/lib/stack.sh starts.
const rulesFile = "firestore.rules"

// The rules refuse every client request: one match over every document,
// one allow statement, and that one is "if false". The functions use server
// credentials, which rules do not apply to.
func TestFirestoreRulesDenyEverything(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	// Comments say why; only the statements count.
	code := regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`).ReplaceAllString(string(src), "")
	code = strings.Join(strings.Fields(code), " ")

	if !strings.HasPrefix(code, "rules_version = '2';") {
		t.Errorf("%s must start with rules_version = '2'", rulesFile)
	}
	var matches []string
	for _, m := range regexp.MustCompile(`match (\S+) \{`).FindAllStringSubmatch(code, -1) {
		matches = append(matches, m[1])
	}
	if diff := cmp.Diff([]string{"/databases/{database}/documents", "/{document=**}"}, matches); diff != "" {
		t.Errorf("%s: match blocks (-want +got); one recursive match must cover every document:\n%s", rulesFile, diff)
	}
	allows := regexp.MustCompile(`allow [^;]*;`).FindAllString(code, -1)
	if diff := cmp.Diff([]string{"allow read, write: if false;"}, allows); diff != "" {
		t.Errorf("%s: allow statements (-want +got); clients get no access at all:\n%s", rulesFile, diff)
	}
}

// Terraform releases exactly that file as the rules of the (default)
// database, with the Firebase Rules API on.
func TestFirestoreRulesAreDeployed(t *testing.T) {
	t.Parallel()
	tf := loadTerraform(t, ".")

	rulesets := tf.resourcesOf("google_firebaserules_ruleset")
	if len(rulesets) != 1 {
		t.Fatalf("want one google_firebaserules_ruleset, got %d", len(rulesets))
	}
	var ruleset string
	for name, r := range rulesets {
		ruleset = name
		var files []*hclsyntax.Block
		for _, s := range nested(r, "source") {
			files = append(files, nested(s, "files")...)
		}
		if len(files) != 1 {
			t.Fatalf("google_firebaserules_ruleset.%s: want one source.files block, got %d", name, len(files))
		}
		if n, err := literalString(attr(files[0], "name")); err != nil || n != rulesFile {
			t.Errorf("google_firebaserules_ruleset.%s: files.name = %q, want %q", name, n, rulesFile)
		}
		if path, err := fileArg(attr(files[0], "content")); err != nil {
			t.Errorf("google_firebaserules_ruleset.%s: files.content: %v", name, err)
		} else if path != rulesFile {
			t.Errorf("google_firebaserules_ruleset.%s: files.content reads %q, want file(\"${path.module}/%s\")", name, path, rulesFile)
		}
	}

	releases := tf.resourcesOf("google_firebaserules_release")
	if len(releases) != 1 {
		t.Fatalf("want one google_firebaserules_release, got %d", len(releases))
	}
	for name, r := range releases {
		// cloud.firestore is the release of the (default) database.
		if n, err := literalString(attr(r, "name")); err != nil || n != "cloud.firestore" {
			t.Errorf("google_firebaserules_release.%s: name = %q, want cloud.firestore", name, n)
		}
		refs := map[string]bool{}
		if e := attr(r, "ruleset_name"); e != nil {
			for _, v := range e.Variables() {
				if len(v) < 2 {
					continue
				}
				if name, ok := v[1].(hcl.TraverseAttr); ok {
					refs[v.RootName()+"."+name.Name] = true
				}
			}
		}
		if !refs["google_firebaserules_ruleset."+ruleset] {
			t.Errorf("google_firebaserules_release.%s: ruleset_name must name google_firebaserules_ruleset.%s", name, ruleset)
		}
	}

	services := tf.resources["google_project_service.enabled"]
	if services == nil {
		t.Fatal("google_project_service.enabled is not declared")
	}
	set, ok := attr(services, "for_each").(*hclsyntax.FunctionCallExpr)
	if !ok || len(set.Args) != 1 {
		t.Fatal("google_project_service.enabled: for_each must be toset([...])")
	}
	apis, err := literalStrings(set.Args[0])
	if err != nil {
		t.Fatalf("google_project_service.enabled: %v", err)
	}
	if !slices.Contains(apis, "firebaserules.googleapis.com") {
		t.Error("google_project_service.enabled: firebaserules.googleapis.com is needed to release the rules")
	}
}

// fileArg returns the path file("...") reads, relative to this directory.
func fileArg(expr hclsyntax.Expression) (string, error) {
	call, ok := expr.(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != "file" || len(call.Args) != 1 {
		return "", fmt.Errorf("not file(...)")
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"path": cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(".")}),
	}}
	v, err := literal(call.Args[0], ctx)
	if err != nil || !v.Type().Equals(cty.String) {
		return "", fmt.Errorf("the path must be a string of path.module and literals")
	}
	return filepath.Clean(v.AsString()), nil
}

// The emulator enforces the same rules (scripts/lib/stack.sh starts it with
// --rules=infra/firestore.rules): a client request through its REST API is
// refused, anonymous or with an end user's token, while the admin token the
// Go client sends ("Bearer owner", standing in for server credentials) reads
// the document.
func TestFirestoreRulesOnTheEmulator(t *testing.T) {
	t.Parallel()
	host := os.Getenv("FIRESTORE_EMULATOR_HOST")
	if host == "" {
		// Never a skip: CI runs scripts/test.sh, which always sets it.
		t.Fatal("FIRESTORE_EMULATOR_HOST is not set: run scripts/test.sh ./infra/, which starts the Firestore emulator with infra/firestore.rules")
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	project := "demo-rules-" + hex.EncodeToString(b)
	docs := fmt.Sprintf("http://%s/v1/projects/%s/databases/(default)/documents", host, project)
	balance := docs + "/balances/u1"
	const seeded = `{"fields": {"amount": {"integerValue": "2500"}, "currency": {"stringValue": "usd"}}}`

	client := &http.Client{Timeout: 10 * time.Second}
	do := func(t *testing.T, method, url, token, body string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v (is the emulator at FIRESTORE_EMULATOR_HOST=%s running?)", method, url, err, host)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	if code, body := do(t, http.MethodPatch, balance, "owner", seeded); code != http.StatusOK {
		t.Fatalf("seeding balances/u1 as owner: %d %s", code, body)
	}

	user := unsignedIDToken(project, "u1")
	cases := []struct {
		name   string
		method string
		url    string
		token  string
		body   string
		want   int
	}{
		{name: "anonymous read", method: http.MethodGet, url: balance, want: http.StatusForbidden},
		{name: "the user's own token reads their balance", method: http.MethodGet, url: balance, token: user, want: http.StatusForbidden},
		{name: "anonymous list", method: http.MethodGet, url: docs + "/balances", want: http.StatusForbidden},
		{name: "anonymous write", method: http.MethodPatch, url: docs + "/balances/u2", body: seeded, want: http.StatusForbidden},
		{name: "the user's own token credits their balance", method: http.MethodPatch, url: balance, token: user, body: seeded, want: http.StatusForbidden},
		{name: "anonymous delete", method: http.MethodDelete, url: balance, want: http.StatusForbidden},
		{name: "owner read", method: http.MethodGet, url: balance, token: "owner", want: http.StatusOK},
	}
	// In order: the owner's read at the end shows the refused writes and
	// the delete changed nothing.
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(t, tc.method, tc.url, tc.token, tc.body)
			if code != tc.want {
				t.Fatalf("%s %s: status %d, want %d: %s", tc.method, tc.url, code, tc.want, body)
			}
			if code != http.StatusOK {
				return
			}
			var doc struct {
				Fields map[string]map[string]string `json:"fields"`
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatalf("decode %s: %v", body, err)
			}
			if got := doc.Fields["amount"]["integerValue"]; got != "2500" {
				t.Errorf("balances/u1 amount = %q, want 2500 (the seeded value, unchanged): %s", got, body)
			}
		})
	}
}

// unsignedIDToken is a Firebase ID token of userID as the emulator accepts
// it (unsigned): what a signed-in browser would send.
func unsignedIDToken(project, userID string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now().Unix()
	claims := map[string]any{
		"iss": "https://securetoken.google.com/" + project, "aud": project,
		"sub": userID, "user_id": userID, "iat": now, "auth_time": now, "exp": now + 3600,
		"firebase": map[string]any{"sign_in_provider": "custom", "identities": map[string]any{}},
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + enc(claims) + "."
}
