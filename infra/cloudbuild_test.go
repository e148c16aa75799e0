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
	"go.yaml.in/yaml/v3"
)

// cloudBuild is the part of a build config these checks read; unknown keys
// fail the decoding, so a misspelt key (waitfor) is caught.
type cloudBuild struct {
	Substitutions  map[string]string `yaml:"substitutions"`
	ServiceAccount string            `yaml:"serviceAccount"`
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

func loadCloudBuild(t *testing.T) (cloudBuild, []byte) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "cloudbuild.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cb cloudBuild
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&cb); err != nil {
		t.Fatalf("cloudbuild.yaml: %v", err)
	}
	return cb, src
}

// pinnedTag: a version tag (1.26.8-bookworm, 528.0.0-slim), or a digest.
var pinnedTag = regexp.MustCompile(`^v?[0-9]+(\.[0-9]+)+([-.][0-9A-Za-z.-]+)?$`)

// Every image is pinned: a version tag or a digest, never latest or none.
func TestCloudBuildImagesArePinned(t *testing.T) {
	t.Parallel()
	cb, _ := loadCloudBuild(t)
	if len(cb.Steps) == 0 {
		t.Fatal("cloudbuild.yaml has no steps")
	}
	for _, s := range cb.Steps {
		if strings.Contains(s.Name, "@sha256:") {
			continue
		}
		last := s.Name[strings.LastIndex(s.Name, "/")+1:]
		_, tag, ok := strings.Cut(last, ":")
		if !ok || !pinnedTag.MatchString(tag) {
			t.Errorf("step %q: image %q is not pinned to a version tag or digest", s.ID, s.Name)
		}
	}
}

// The build tests with the repository's own script, then deploys exactly
// the registered entry points, each consistent with its Terraform function.
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
	if !strings.Contains(strings.Join(test.Args, " "), "scripts/test.sh") {
		t.Error(`the "test" step must run scripts/test.sh (what CI runs)`)
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
