package infra

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// grant is one IAM grant of the Terraform: who gets which role on what.
// Each is named by the reference it is made of ("google_service_account.
// deployer", "var.deployer_email", "local.member",
// "google_project_iam_custom_role.deployer") or by its literal
// ("roles/logging.logWriter").
type grant struct {
	addr   string // the grant resource, "type.name"
	member string
	role   string
	on     string // what it is granted on; "project" for a project grant
}

func (g grant) String() string {
	return fmt.Sprintf("%s gets %s on %s (%s)", g.member, g.role, g.on, g.addr)
}

// grantTarget is the attribute naming what each IAM member resource grants
// on.
var grantTarget = map[string]string{
	"google_project_iam_member":                  "",
	"google_service_account_iam_member":          "service_account_id",
	"google_storage_bucket_iam_member":           "bucket",
	"google_secret_manager_secret_iam_member":    "secret_id",
	"google_pubsub_topic_iam_member":             "topic",
	"google_pubsub_subscription_iam_member":      "subscription",
	"google_cloudfunctions2_function_iam_member": "cloud_function",
	"google_cloud_run_v2_service_iam_member":     "name",
}

// grants returns every IAM member grant of the configuration, one per role
// when the role comes from a literal for_each.
func (c *tfConfig) grants(t *testing.T) []grant {
	t.Helper()
	var out []grant
	for addr, b := range c.resources {
		typ := b.Labels[0]
		if strings.HasSuffix(typ, "_iam_binding") || strings.HasSuffix(typ, "_iam_policy") {
			t.Errorf("%s: authoritative IAM (bindings, policies) would remove grants made elsewhere; use _iam_member", addr)
			continue
		}
		target, ok := grantTarget[typ]
		if !ok {
			if strings.HasSuffix(typ, "_iam_member") {
				t.Errorf("%s: %s is not understood by these checks; add it to grantTarget", addr, typ)
			}
			continue
		}
		on := "project"
		if target != "" {
			on = exprName(attr(b, target))
		}
		member := exprName(attr(b, "member"))
		for _, role := range c.forEachValues(b, attr(b, "role")) {
			out = append(out, grant{addr: addr, member: member, role: role, on: on})
		}
	}
	slices.SortFunc(out, func(a, b grant) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// exprName names an expression: a string literal by its value, anything
// else by the first thing it refers to ("google_service_account.deployer"
// for "serviceAccount:${google_service_account.deployer.email}").
func exprName(expr hclsyntax.Expression) string {
	if expr == nil {
		return ""
	}
	if s, err := literalString(expr); err == nil {
		return s
	}
	for _, v := range expr.Variables() {
		if len(v) >= 2 {
			if name, ok := v[1].(hcl.TraverseAttr); ok {
				return v.RootName() + "." + name.Name
			}
		}
		return v.RootName()
	}
	return "?"
}

// forEachValues names the values an attribute takes: itself, or, when it is
// each.value of a for_each over a literal set or object, each value.
func (c *tfConfig) forEachValues(b *hclsyntax.Block, expr hclsyntax.Expression) []string {
	if exprName(expr) != "each.value" {
		return []string{exprName(expr)}
	}
	switch fe := attr(b, "for_each").(type) {
	case *hclsyntax.FunctionCallExpr:
		if fe.Name == "toset" && len(fe.Args) == 1 {
			if list, ok := fe.Args[0].(*hclsyntax.TupleConsExpr); ok {
				var out []string
				for _, e := range list.Exprs {
					out = append(out, exprName(e))
				}
				return out
			}
		}
	case *hclsyntax.ObjectConsExpr:
		var out []string
		for _, item := range fe.Items {
			out = append(out, exprName(item.ValueExpr))
		}
		return out
	}
	return []string{"each.value"}
}

// names returns the grants as sentences, for comparing.
func names(gs []grant) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.String())
	}
	return out
}

// grantsTo returns the grants whose member is one of names.
func grantsTo(all []grant, names ...string) []grant {
	var out []grant
	for _, g := range all {
		if slices.Contains(names, g.member) {
			out = append(out, g)
		}
	}
	return out
}

// Project-wide roles are few and named here: everything else is granted on
// the one resource it is needed on (a function, a secret, a topic, a
// bucket, a service account). In particular no function may publish to
// every topic or read every secret, and the deployer has no project-wide
// Cloud Functions or Cloud Run role.
func TestProjectWideGrants(t *testing.T) {
	t.Parallel()
	type projectGrant struct{ Member, Role string }
	cases := []struct {
		dir  string
		want []projectGrant
	}{
		{dir: ".", want: []projectGrant{
			// Builds the functions: pushes their images, reads their
			// source, writes its logs.
			{"google_service_account.builder", "roles/artifactregistry.writer"},
			{"google_service_account.builder", "roles/logging.logWriter"},
			{"google_service_account.builder", "roles/storage.objectViewer"},
			// The two deploy calls that name no function, and its log.
			{"google_service_account.deployer", "google_project_iam_custom_role.deployer"},
			{"google_service_account.deployer", "roles/logging.logWriter"},
		}},
		{dir: filepath.FromSlash(functionModule), want: []projectGrant{
			// Firestore has no finer IAM than the database.
			{"local.member", "roles/datastore.user"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.dir, func(t *testing.T) {
			var got []projectGrant
			for _, g := range loadTerraform(t, tc.dir).grants(t) {
				if g.on == "project" {
					got = append(got, projectGrant{g.member, g.role})
				}
			}
			slices.SortFunc(got, func(a, b projectGrant) int { return strings.Compare(a.Member+a.Role, b.Member+b.Role) })
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("project-wide grants (-want +got); grant on the resource instead:\n%s", diff)
			}
		})
	}
}

// The deployer can deploy these functions and nothing else: Cloud Functions
// developer on each function (not on the project), acting as each
// function's own account and the build account, a custom role with only
// the deploy calls that name no function, and no role on any Cloud Run
// service.
func TestDeployerCanOnlyDeploy(t *testing.T) {
	t.Parallel()
	root := loadTerraform(t, ".")
	module := loadTerraform(t, filepath.FromSlash(functionModule))

	// Every function is given the deployer.
	for label, m := range root.modules {
		if src, _ := literalString(attr(m, "source")); src != functionModule {
			continue
		}
		if got := exprName(attr(m, "deployer_email")); got != "google_service_account.deployer" {
			t.Errorf("module.%s: deployer_email = %s, want google_service_account.deployer.email", label, got)
		}
	}

	// In the module: developer on this function, actAs this function's
	// account, and nothing more.
	want := []string{
		"var.deployer_email gets roles/cloudfunctions.developer on google_cloudfunctions2_function.function (google_cloudfunctions2_function_iam_member.deployer)",
		"var.deployer_email gets roles/iam.serviceAccountUser on google_service_account.function (google_service_account_iam_member.deployer)",
	}
	if diff := cmp.Diff(want, names(grantsTo(module.grants(t), "var.deployer_email"))); diff != "" {
		t.Errorf("modules/function: the deployer's grants (-want +got):\n%s", diff)
	}

	// In the root: acting as the build account and the test account, the
	// builds' buckets, and the project roles TestProjectWideGrants names.
	var got []grant
	for _, g := range grantsTo(root.grants(t), "google_service_account.deployer") {
		if g.on != "project" {
			got = append(got, g)
		}
	}
	want = []string{
		"google_service_account.deployer gets roles/iam.serviceAccountUser on google_service_account.builder (google_service_account_iam_member.deployer_uses_builder)",
		"google_service_account.deployer gets roles/iam.serviceAccountUser on google_service_account.tester (google_service_account_iam_member.deployer_uses_tester)",
		"google_service_account.deployer gets roles/storage.legacyBucketReader on google_storage_bucket.builds (google_storage_bucket_iam_member.builds_deployer)",
		"google_service_account.deployer gets roles/storage.objectCreator on google_storage_bucket.builds (google_storage_bucket_iam_member.builds_deployer)",
		"google_service_account.deployer gets roles/storage.objectViewer on google_storage_bucket.builds (google_storage_bucket_iam_member.builds_deployer)",
		"google_service_account.deployer gets roles/storage.objectViewer on google_storage_bucket.test_logs (google_storage_bucket_iam_member.test_logs_deployer)",
	}
	if diff := cmp.Diff(want, names(got)); diff != "" {
		t.Errorf("the deployer's grants on resources (-want +got):\n%s", diff)
	}

	// The custom role: only calls that name no function (the deploy's
	// upload and operations, the test build). Updating a function, its
	// source or its IAM is granted per function.
	role := root.resources["google_project_iam_custom_role.deployer"]
	if role == nil {
		t.Fatal("google_project_iam_custom_role.deployer is not declared")
	}
	perms, err := literalStrings(attr(role, "permissions"))
	if err != nil {
		t.Fatalf("google_project_iam_custom_role.deployer: permissions: %v", err)
	}
	wantPerms := []string{
		"cloudbuild.builds.create",
		"cloudbuild.builds.get",
		"cloudfunctions.functions.generateUploadUrl",
		"cloudfunctions.operations.get",
	}
	if diff := cmp.Diff(wantPerms, slices.Sorted(slices.Values(perms))); diff != "" {
		t.Errorf("google_project_iam_custom_role.deployer permissions (-want +got):\n%s", diff)
	}

	// No Cloud Run role for the deployer, anywhere.
	for _, g := range slices.Concat(root.grants(t), module.grants(t)) {
		if strings.HasPrefix(g.addr, "google_cloud_run") && (g.member == "var.deployer_email" || g.member == "google_service_account.deployer") {
			t.Errorf("%s: the deployer needs no role on a Cloud Run service", g)
		}
	}
	if n := len(module.resourcesOf("google_cloudfunctions2_function_iam_member")); n != 1 {
		t.Errorf("modules/function: %d google_cloudfunctions2_function_iam_member, want 1 (the deployer's)", n)
	}
}

// Each function reads only its own secrets and publishes only to its own
// topics (TestFunctionAccess says which): the module grants its account
// each secret of var.secrets and each topic of var.publishes_to, one
// resource at a time, and nothing else in the configuration grants a
// secret, or publishing, to a function.
func TestSecretsAndTopicsPerFunction(t *testing.T) {
	t.Parallel()
	module := loadTerraform(t, filepath.FromSlash(functionModule))
	perResource := []struct {
		typ, target, forEach, role string
	}{
		{"google_secret_manager_secret_iam_member", "secret_id", "var.secrets", "roles/secretmanager.secretAccessor"},
		{"google_pubsub_topic_iam_member", "topic", "var.publishes_to", "roles/pubsub.publisher"},
	}
	for _, want := range perResource {
		rs := module.resourcesOf(want.typ)
		if len(rs) != 1 {
			t.Errorf("modules/function: %d %s, want 1 (for_each = %s)", len(rs), want.typ, want.forEach)
			continue
		}
		for name, r := range rs {
			addr := want.typ + "." + name
			if got := exprName(attr(r, "for_each")); got != want.forEach {
				t.Errorf("%s: for_each = %s, want %s", addr, got, want.forEach)
			}
			if got := exprName(attr(r, want.target)); got != "each.value" {
				t.Errorf("%s: %s = %s, want each.value (one grant per resource)", addr, want.target, got)
			}
			if got := exprName(attr(r, "role")); got != want.role {
				t.Errorf("%s: role = %s, want %s", addr, got, want.role)
			}
			if got := exprName(attr(r, "member")); got != "local.member" {
				t.Errorf("%s: member = %s, want the function's own account (local.member)", addr, got)
			}
		}
	}

	// The root grants no secret at all, and publishing only to the Pub/Sub
	// service agent (dead letters) and the outside publishers it is given,
	// per topic.
	root := loadTerraform(t, ".")
	var got []string
	for _, g := range root.grants(t) {
		if strings.HasPrefix(g.addr, "google_secret_manager_secret_iam_member.") || strings.HasPrefix(g.addr, "google_pubsub_topic_iam_member.") {
			got = append(got, g.String())
		}
	}
	want := []string{
		"each.value gets roles/pubsub.publisher on local.topics (google_pubsub_topic_iam_member.external_publisher)",
		"each.value gets roles/pubsub.subscriber on local.topics (google_pubsub_topic_iam_member.external_subscriber)",
		"local.pubsub_service_agent gets roles/pubsub.publisher on google_pubsub_topic.dead_letter (google_pubsub_topic_iam_member.dead_letter_publisher)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("secret and topic grants outside modules/function (-want +got):\n%s", diff)
	}
}
