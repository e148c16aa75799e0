package infra

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"go.yaml.in/yaml/v3"
)

// cloudBuild is the part of a build config these checks read; unknown keys
// fail the decoding, so a misspelt key (waitfor) is caught.
type cloudBuild struct {
	Substitutions  map[string]string `yaml:"substitutions"`
	ServiceAccount string            `yaml:"serviceAccount"`
	LogsBucket     string            `yaml:"logsBucket"`
	Options        struct {
		Logging     string `yaml:"logging"`
		MachineType string `yaml:"machineType"`
	} `yaml:"options"`
	Timeout string      `yaml:"timeout"`
	Steps   []buildStep `yaml:"steps"`
}

type buildStep struct {
	ID         string   `yaml:"id"`
	Name       string   `yaml:"name"`
	Entrypoint string   `yaml:"entrypoint"`
	Args       []string `yaml:"args"`
	WaitFor    []string `yaml:"waitFor"`
	Env        []string `yaml:"env"`
}

// The build configs: the deploy build (test, then deploy) and the test
// build its first step submits. Paths are from the repository root.
const (
	deployBuild = "cloudbuild.yaml"
	testBuild   = "infra/cloudbuild.test.yaml"
)

func loadCloudBuild(t *testing.T) (cloudBuild, []byte) {
	t.Helper()
	return loadBuildConfig(t, deployBuild)
}

func loadBuildConfig(t *testing.T, path string) (cloudBuild, []byte) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	var cb cloudBuild
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&cb); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cb, src
}

// pinnedTag: a version tag (1.26.8-bookworm, 528.0.0-slim), or a digest.
var pinnedTag = regexp.MustCompile(`^v?[0-9]+(\.[0-9]+)+([-.][0-9A-Za-z.-]+)?$`)

// Every image is pinned: a version tag or a digest, never latest or none.
func TestCloudBuildImagesArePinned(t *testing.T) {
	t.Parallel()
	for _, path := range []string{deployBuild, testBuild} {
		cb, _ := loadBuildConfig(t, path)
		if len(cb.Steps) == 0 {
			t.Errorf("%s has no steps", path)
		}
		for _, s := range cb.Steps {
			if strings.Contains(s.Name, "@sha256:") {
				continue
			}
			last := s.Name[strings.LastIndex(s.Name, "/")+1:]
			_, tag, ok := strings.Cut(last, ":")
			if !ok || !pinnedTag.MatchString(tag) {
				t.Errorf("%s: step %q: image %q is not pinned to a version tag or digest", path, s.ID, s.Name)
			}
		}
	}
}

// The build tests first (TestTestsRunWithoutProjectRoles says how), then
// deploys exactly the registered entry points, each consistent with its
// Terraform function.
func TestCloudBuildDeploysEveryEntryPoint(t *testing.T) {
	t.Parallel()
	cb, src := loadCloudBuild(t)
	registered := registeredEntryPoints(t)
	tf := loadTerraform(t, ".")
	deployed := tf.functions(t)
	module := loadTerraform(t, filepath.FromSlash(functionModule))

	// Substitutions: every $_NAME used is defined, and _REGION is one.
	if _, ok := cb.Substitutions["_REGION"]; !ok {
		t.Error("substitutions: _REGION is not defined")
	}
	for _, m := range regexp.MustCompile(`\$\{?(_[A-Z0-9_]+)`).FindAllStringSubmatch(string(src), -1) {
		if _, ok := cb.Substitutions[m[1]]; !ok {
			t.Errorf("%s is used but not in substitutions", m[1])
		}
	}

	// The build's identity is Terraform's deployer account, whose logs must
	// go to Cloud Logging.
	deployer := accountID(t, tf, "deployer")
	if want := "projects/$PROJECT_ID/serviceAccounts/" + deployer + "@$PROJECT_ID.iam.gserviceaccount.com"; cb.ServiceAccount != want {
		t.Errorf("serviceAccount = %q, want %q", cb.ServiceAccount, want)
	}
	if cb.Options.Logging != "CLOUD_LOGGING_ONLY" {
		t.Errorf("options.logging = %q: a user-specified service account needs CLOUD_LOGGING_ONLY", cb.Options.Logging)
	}
	builder := "projects/$PROJECT_ID/serviceAccounts/" + accountID(t, tf, "builder") + "@$PROJECT_ID.iam.gserviceaccount.com"

	var test *buildStep
	deploys := map[string]buildStep{}
	ids := map[string]bool{}
	for i, s := range cb.Steps {
		if s.ID == "" {
			t.Errorf("step %d (%s) has no id", i, s.Name)
		}
		if ids[s.ID] {
			t.Errorf("step id %q used twice", s.ID)
		}
		ids[s.ID] = true
		if s.ID == "test" {
			test = &cb.Steps[i]
			continue
		}
		if len(s.Args) >= 2 && s.Entrypoint == "gcloud" && s.Args[0] == "functions" && s.Args[1] == "deploy" {
			ep := flagValue(s.Args, "--entry-point")
			if _, dup := deploys[ep]; dup {
				t.Errorf("entry point %q deployed by two steps", ep)
			}
			deploys[ep] = s
		}
	}
	if test == nil {
		t.Fatal(`no step with id "test"`)
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(registered)), slices.Sorted(maps.Keys(deploys))); diff != "" {
		t.Errorf("entry points in functions.go (-) and deploy steps (+) differ:\n%s", diff)
	}

	for ep, s := range deploys {
		t.Run(ep, func(t *testing.T) {
			if !slices.Equal(s.WaitFor, []string{"test"}) {
				t.Errorf("step %q: waitFor = %q, want [test] (deploy only tested code, all at once)", s.ID, s.WaitFor)
			}
			f, ok := deployed[ep]
			if !ok {
				t.Fatal("no Terraform function (see TestEveryEntryPointIsDeployed)")
			}
			if len(s.Args) < 3 || s.Args[2] != f.name {
				t.Errorf("step %q deploys %q, but Terraform names the function %q", s.ID, argOr(s.Args, 2), f.name)
			}
			sa, err := serviceAccountID(t, module, f.name)
			if err != nil {
				t.Fatal(err)
			}
			ingress := "internal-only"
			if f.public {
				ingress = "all"
			}
			// No --[no-]allow-unauthenticated: who may invoke is
			// Terraform's, and the deployer has no role on the Cloud Run
			// service that flag would change.
			for _, a := range s.Args {
				if strings.Contains(a, "allow-unauthenticated") {
					t.Errorf("step %q: %s sets the invokers, which Terraform owns (the deployer may not change them)", s.ID, a)
				}
			}
			want := map[string]string{
				"--gen2":                  "",
				"--region":                "$_REGION",
				"--runtime":               "go126",
				"--source":                ".",
				"--entry-point":           ep,
				"--trigger-http":          "",
				"--ingress-settings":      ingress,
				"--service-account":       sa + "@$PROJECT_ID.iam.gserviceaccount.com",
				"--build-service-account": builder,
				"--quiet":                 "",
			}
			got := map[string]string{}
			for _, a := range s.Args[3:] {
				k, v, _ := strings.Cut(a, "=")
				got[k] = v
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("step %q flags (-want +got); configuration other than code and identity belongs in Terraform:\n%s", s.ID, diff)
			}
		})
	}
}

// accountID returns the literal account_id of a root google_service_account.
func accountID(t *testing.T, tf *tfConfig, name string) string {
	t.Helper()
	b, ok := tf.resources["google_service_account."+name]
	if !ok {
		t.Fatalf("google_service_account.%s is not declared", name)
	}
	id, err := literalString(attr(b, "account_id"))
	if err != nil {
		t.Fatalf("google_service_account.%s: account_id: %v", name, err)
	}
	return id
}

func flagValue(args []string, flag string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

func argOr(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

// gcloudImage is Google's Cloud SDK image, the only code the deploy build
// runs.
const gcloudImage = "gcr.io/google.com/cloudsdktool/google-cloud-cli:"

// The tests never run as the deploy account, which may act as every
// function's account: the deploy build runs only gcloud, and its "test" step
// submits infra/cloudbuild.test.yaml, which runs scripts/test.sh as
// billing-tester. That account has no project role and may act as no
// account: it reads its source from the builds bucket and writes its log to
// the test logs bucket, and nothing else.
func TestTestsRunWithoutProjectRoles(t *testing.T) {
	t.Parallel()
	tf := loadTerraform(t, ".")
	account := func(name string) string {
		return "projects/$PROJECT_ID/serviceAccounts/" + accountID(t, tf, name) + "@$PROJECT_ID.iam.gserviceaccount.com"
	}
	builds, logs := bucketName(t, tf, "builds"), bucketName(t, tf, "test_logs")

	// The deploy build: gcloud only; its test step waits for the test build.
	deploy, _ := loadCloudBuild(t)
	if deploy.ServiceAccount != account("deployer") {
		t.Errorf("%s: serviceAccount = %q, want the deployer", deployBuild, deploy.ServiceAccount)
	}
	var test *buildStep
	for i, s := range deploy.Steps {
		if !strings.HasPrefix(s.Name, gcloudImage) || s.Entrypoint != "gcloud" {
			t.Errorf("%s: step %q runs %s %s: the deploy account may act as every function's account, so it runs Google's gcloud only (tests go in %s)", deployBuild, s.ID, s.Name, s.Entrypoint, testBuild)
		}
		if s.ID == "test" {
			test = &deploy.Steps[i]
		}
	}
	if test == nil {
		t.Fatalf(`%s: no step with id "test"`, deployBuild)
	}
	if len(test.Args) < 2 || test.Args[0] != "builds" || test.Args[1] != "submit" {
		t.Errorf("%s: the test step must be gcloud builds submit, got %q", deployBuild, test.Args)
	}
	wantFlags := map[string]string{
		"--config":                 testBuild,
		"--ignore-file":            "infra/deploy.gcloudignore",
		"--gcs-source-staging-dir": "gs://" + builds + "/test",
	}
	for flag, want := range wantFlags {
		if got := flagValue(test.Args, flag); got != want {
			t.Errorf("%s: test step %s=%q, want %q", deployBuild, flag, got, want)
		}
	}
	for _, a := range test.Args {
		// --async would let the deploys start before the tests end; a
		// --service-account here would override the test build's own.
		if a == "--async" || strings.HasPrefix(a, "--service-account") || strings.HasPrefix(a, "--substitutions") {
			t.Errorf("%s: test step: %s is not allowed", deployBuild, a)
		}
	}

	// The test build: scripts/test.sh as billing-tester, its log in the
	// one bucket it may write to.
	tb, src := loadBuildConfig(t, testBuild)
	if tb.ServiceAccount != account("tester") {
		t.Errorf("%s: serviceAccount = %q, want %q", testBuild, tb.ServiceAccount, account("tester"))
	}
	if tb.LogsBucket != "gs://"+logs || tb.Options.Logging != "GCS_ONLY" {
		t.Errorf("%s: logsBucket %q, logging %q; want gs://%s and GCS_ONLY (Cloud Logging would need a project role)", testBuild, tb.LogsBucket, tb.Options.Logging, logs)
	}
	ran := false
	for _, s := range tb.Steps {
		ran = ran || strings.Contains(strings.Join(s.Args, " "), "scripts/test.sh")
	}
	if !ran {
		t.Errorf("%s must run scripts/test.sh (what CI runs)", testBuild)
	}
	if m := regexp.MustCompile(`\$\{?_[A-Z0-9_]+`).FindString(string(src)); m != "" {
		t.Errorf("%s uses %s: the deploy build passes it no substitutions", testBuild, m)
	}

	// The tester's grants, all of them: none on the project, none on an
	// account, one per bucket.
	want := []string{
		"google_service_account.tester gets roles/storage.objectAdmin on google_storage_bucket.test_logs (google_storage_bucket_iam_member.test_logs_tester)",
		"google_service_account.tester gets roles/storage.objectViewer on google_storage_bucket.builds (google_storage_bucket_iam_member.builds_tester)",
	}
	all := tf.grants(t)
	if diff := cmp.Diff(want, names(grantsTo(all, "google_service_account.tester"))); diff != "" {
		t.Errorf("billing-tester's grants (-want +got):\n%s", diff)
	}
	// Only the deployer may start a build as the tester.
	for _, g := range all {
		if g.on == "google_service_account.tester" && g.member != "google_service_account.deployer" {
			t.Errorf("%s: only the deployer may act as the tester", g)
		}
	}
}

// bucketName renders the name of a google_storage_bucket the way Cloud
// Build sees it ($PROJECT_ID for var.project).
func bucketName(t *testing.T, tf *tfConfig, name string) string {
	t.Helper()
	b, ok := tf.resources["google_storage_bucket."+name]
	if !ok {
		t.Fatalf("google_storage_bucket.%s is not declared", name)
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"var": cty.ObjectVal(map[string]cty.Value{"project": cty.StringVal("$PROJECT_ID")}),
	}}
	v, err := literal(attr(b, "name"), ctx)
	if err != nil || !v.Type().Equals(cty.String) {
		t.Fatalf("google_storage_bucket.%s: name must depend on var.project only: %v", name, err)
	}
	return v.AsString()
}
