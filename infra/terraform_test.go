package infra

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"example.com/billing/shared/events"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/payments"
)

// Every .tf file (and the example variables) parses and is formatted as
// terraform fmt would leave it.
func TestTerraformParsesAndIsFormatted(t *testing.T) {
	t.Parallel()
	var paths []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".terraform" || d.Name() == ".build") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".tf") || strings.HasSuffix(path, ".tfvars.example")) {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no .tf files found")
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, diags := hclparse.NewParser().ParseHCL(src, path); diags.HasErrors() {
				t.Fatalf("does not parse: %s", diags.Error())
			}
			if formatted := hclwrite.Format(src); !bytes.Equal(formatted, src) {
				t.Errorf("not formatted (terraform fmt would change it); diff -want +got:\n%s", cmp.Diff(string(formatted), string(src)))
			}
		})
	}
}

// Every entry point registered in functions.go is deployed by exactly one
// Terraform function, and every Terraform function runs a registered entry
// point: HTTP ones public, event ones private and fed by a push
// subscription on the topic events.Topics says triggers them.
func TestEveryEntryPointIsDeployed(t *testing.T) {
	t.Parallel()
	registered := registeredEntryPoints(t)
	tf := loadTerraform(t, ".")
	deployed := tf.functions(t)

	if diff := cmp.Diff(slices.Sorted(maps.Keys(registered)), slices.Sorted(maps.Keys(deployed))); diff != "" {
		t.Errorf("entry points in functions.go (-) and Terraform functions (+) differ; add or remove an infra/fn_*.tf file:\n%s", diff)
	}
	subscriber := map[string]string{}
	for _, topic := range events.Topics {
		subscriber[topic.Name] = topic.Subscriber
	}
	for ep, kind := range registered {
		f, ok := deployed[ep]
		if !ok {
			continue
		}
		t.Run(ep, func(t *testing.T) {
			if want := kebab(ep); f.name != want {
				t.Errorf("module.%s: name = %q, want %q (the entry point in kebab case: Cloud Run names are lower case)", f.module, f.name, want)
			}
			switch kind {
			case kindHTTP:
				if !f.public {
					t.Errorf("module.%s: an HTTP function authenticates its callers itself and must be public = true", f.module)
				}
				if f.triggerTopic != "" {
					t.Errorf("module.%s: an HTTP function has no trigger_topic (got %q)", f.module, f.triggerTopic)
				}
			case kindEvent:
				if f.public {
					t.Errorf("module.%s: an event function must be public = false (only its push subscription may invoke it)", f.module)
				}
				if f.triggerTopic == "" {
					t.Errorf("module.%s: an event function needs a trigger_topic", f.module)
				} else if got := subscriber[f.triggerTopic]; got != ep {
					t.Errorf("module.%s: trigger_topic %q, whose subscriber in events.Topics is %q, not %s", f.module, f.triggerTopic, got, ep)
				}
				if f.deadLetter == "" {
					t.Errorf("module.%s: an event function needs a dead_letter_topic", f.module)
				}
			}
		})
	}
	// The converse: each topic with a subscriber feeds that entry point.
	for _, topic := range events.Topics {
		if topic.Subscriber == "" {
			continue
		}
		if f, ok := deployed[topic.Subscriber]; ok && f.triggerTopic != topic.Name {
			t.Errorf("events.Topics: %s triggers %s, but module.%s is fed by %q", topic.Name, topic.Subscriber, f.module, f.triggerTopic)
		}
		if registered[topic.Subscriber] != kindEvent {
			t.Errorf("events.Topics: %s triggers %s, which functions.go does not register as a CloudEvent function", topic.Name, topic.Subscriber)
		}
	}
}

// Each function gets exactly the environment, secrets and topics it needs
// (least privilege: a secret or a topic it is given, its account can read
// or publish to), and nothing is set that the Go code does not read.
//
// The rows follow what each entry point calls. The Stripe key goes to every
// function that calls Stripe (through shared/payments); a function built on
// services that hold a Stripe client but never call it gets none (a missing
// key fails only the calls, see payments.New). The webhook secret is the
// webhook's alone. A deletion topic goes to the functions that flush the
// outbox rows of that topic (shared/closing, shared/events).
func TestFunctionAccess(t *testing.T) {
	t.Parallel()
	var (
		common   = []string{"GOOGLE_CLOUD_PROJECT"}
		auth     = []string{"AUTH_JWKS_URL", "AUTH_ISSUER", "AUTH_AUDIENCE", "CORS_ALLOWED_ORIGINS"}
		deletion = []string{"USAGE_PRICE_STORAGE_CENTS_PER_TB_MONTH", "USAGE_PRICE_EGRESS_CENTS_PER_TB", "USAGE_PRICE_SEGMENT_CENTS_PER_MONTH", "DELETION_INVOICE_DAYS"}
		key      = []string{"STRIPE_SECRET_KEY"}
		webhook  = []string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"}
		// Advancing a deletion (or sweeping the outbox) publishes whatever
		// the deletion has recorded: any of the three.
		outbox = []string{"account-deletion-requested", "account-deleted", "account-deletion-canceled"}
		// Canceling publishes its own event and the request's if still
		// pending; a cancelable deletion never has account-deleted.
		cancel = []string{"account-deletion-requested", "account-deletion-canceled"}
		// A sweep run with work left starts the next run on its own topic.
		sweep = []string{"STRIPE_SWEEP_RPS", "SWEEP_CONCURRENCY", "SWEEP_RUN_TIME"}
	)
	env := func(parts ...[]string) []string { return slices.Concat(parts...) }
	cases := []struct {
		entryPoint string
		env        []string
		secrets    []string
		publishes  []string
	}{
		{"AddFunds", env(common, auth, []string{"ADD_FUNDS_ENABLED", "ADD_FUNDS_MIN_CENTS", "ADD_FUNDS_MAX_CENTS"}), key, nil},
		{"PurchasePackage", env(common, auth, []string{"PACKAGE_PLANS"}), key, nil},
		// Firestore only (the ledger).
		{"Balance", env(common, auth), nil, nil},
		{"BillingSettings", env(common, auth, []string{"ADD_FUNDS_ENABLED", "ADD_FUNDS_MIN_CENTS", "ADD_FUNDS_MAX_CENTS", "PACKAGE_PLANS", "STRIPE_PUBLISHABLE_KEY"}), nil, nil},
		{"Account", env(common, auth), key, nil},
		{"AccountSetup", env(common, auth), key, nil},
		// Builds the deletion service (prices) but publishes nothing.
		{"DeletionCheck", env(common, auth, deletion), key, nil},
		{"RequestDeletion", env(common, auth, deletion), key, outbox},
		// A Firestore transaction and the outbox: no Stripe call.
		{"CancelDeletion", env(common, auth, deletion), nil, cancel},
		// Stripe signs the webhook: no console auth. It completes deletions.
		{"StripeWebhook", env(common, deletion), webhook, outbox},
		{"OnUserActivated", common, key, nil},
		// Firestore only (metering.Store).
		{"OnUsageReported", common, nil, nil},
		{"RepairCustomers", env(common, sweep, []string{"REPAIR_BATCH_SIZE"}), key, []string{"repair-customers"}},
		{"DeletionSweep", env(common, deletion, sweep, []string{"DELETION_SWEEP_BATCH_SIZE"}), key, env(outbox, []string{"deletion-sweep"})},
		{"Reconcile", env(common, sweep, []string{"RECONCILE_WINDOW"}), key, []string{"reconcile"}},
		{"CancelStalePayments", env(common, sweep, []string{"STALE_PAYMENT_AGE", "STALE_PAYMENT_BATCH_SIZE"}), key, []string{"cancel-stale-payments"}},
	}
	tf := loadTerraform(t, ".")
	deployed := tf.functions(t)
	registered := registeredEntryPoints(t)
	read := goEnvNames(t)
	secretIDs := map[string]string{"STRIPE_SECRET_KEY": "stripe-secret-key", "STRIPE_WEBHOOK_SECRET": "stripe-webhook-secret"}

	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.entryPoint] = true
		t.Run(tc.entryPoint, func(t *testing.T) {
			f, ok := deployed[tc.entryPoint]
			if !ok {
				t.Fatal("not deployed (see TestEveryEntryPointIsDeployed)")
			}
			sorted := func(s []string) []string { return slices.Sorted(slices.Values(s)) }
			if diff := cmp.Diff(sorted(tc.env), f.env); diff != "" {
				t.Errorf("module.%s env (-want +got):\n%s", f.module, diff)
			}
			if diff := cmp.Diff(sorted(tc.secrets), slices.Sorted(maps.Keys(f.secrets))); diff != "" {
				t.Errorf("module.%s secrets (-want +got):\n%s", f.module, diff)
			}
			for name, id := range f.secrets {
				if want, ok := secretIDs[name]; ok && id != want {
					t.Errorf("module.%s: %s comes from secret %q, want %q", f.module, name, id, want)
				}
			}
			if diff := cmp.Diff(sorted(tc.publishes), f.publishes); diff != "" {
				t.Errorf("module.%s publishes_to (-want +got):\n%s", f.module, diff)
			}
			for _, name := range slices.Concat(f.env, slices.Collect(maps.Keys(f.secrets))) {
				if !read[name] {
					t.Errorf("module.%s sets %s, which no env:\"...\" tag in the Go code reads", f.module, name)
				}
			}
		})
	}
	for ep := range registered {
		if !covered[ep] {
			t.Errorf("entry point %s has no row in TestFunctionAccess: add the environment, secrets and topics it needs", ep)
		}
	}
}

// Every topic of shared/events exists, and every other topic is a
// dead-letter topic (with a pull subscription that keeps what it gets, and
// the publisher grant dead-lettering needs).
func TestTopics(t *testing.T) {
	t.Parallel()
	tf := loadTerraform(t, ".")
	declared := map[string]string{} // topic name -> resource address
	for name, b := range tf.resourcesOf("google_pubsub_topic") {
		topic, err := literalString(attr(b, "name"))
		if err != nil {
			t.Errorf("google_pubsub_topic.%s: name must be a literal (%v)", name, err)
			continue
		}
		declared[topic] = "google_pubsub_topic." + name
	}
	deadLetter := map[string]bool{} // resource addresses
	for _, a := range tf.attrs {
		if a.Name == "dead_letter_topic" {
			if addr, ok := ref(a.Expr); ok {
				deadLetter[addr] = true
			}
		}
	}
	if len(deadLetter) == 0 {
		t.Error("no dead_letter_topic is set anywhere")
	}
	contract := map[string]bool{}
	for _, topic := range events.Topics {
		contract[topic.Name] = true
		if _, ok := declared[topic.Name]; !ok {
			t.Errorf("topic %q of shared/events has no google_pubsub_topic", topic.Name)
		}
	}
	for topic, addr := range declared {
		if !contract[topic] && !deadLetter[addr] {
			t.Errorf("%s (%q) is neither in events.Topics nor a dead-letter topic", addr, topic)
		}
	}
	// Outside publishers and subscribers are granted per topic through
	// local.topics: it names every topic of the contract.
	if items, err := tf.objectItems(tf.locals["topics"]); err != nil {
		t.Errorf("local.topics: %v", err)
	} else if diff := cmp.Diff(slices.Sorted(maps.Keys(contract)), slices.Sorted(maps.Keys(items))); diff != "" {
		t.Errorf("local.topics (-events.Topics +local):\n%s", diff)
	}

	for addr := range deadLetter {
		if _, ok := tf.resources[addr]; !ok {
			t.Errorf("dead_letter_topic %s is not declared", addr)
			continue
		}
		pulled, granted := false, false
		for name, s := range tf.resourcesOf("google_pubsub_subscription") {
			if to, _ := ref(attr(s, "topic")); to == addr {
				if len(nested(s, "push_config")) > 0 {
					t.Errorf("google_pubsub_subscription.%s: the dead-letter subscription must be a pull subscription", name)
				}
				pulled = true
			}
		}
		for _, g := range tf.resourcesOf("google_pubsub_topic_iam_member") {
			role, _ := literalString(attr(g, "role"))
			if to, _ := ref(attr(g, "topic")); to == addr && role == "roles/pubsub.publisher" {
				granted = true
			}
		}
		if !pulled {
			t.Errorf("%s has no subscription: dead letters would be dropped", addr)
		}
		if !granted {
			t.Errorf("%s: the Pub/Sub service agent needs roles/pubsub.publisher on it", addr)
		}
	}
}

// Every topic with a subscriber is published by someone: Cloud Scheduler
// for the sweeps ({} on schedule), the console or the satellite otherwise.
func TestSchedules(t *testing.T) {
	t.Parallel()
	// Published from outside (README: Pub/Sub topics and events).
	external := map[string]bool{"user-activated": true, "usage-reported": true}
	// The sweeps' cadence, as the README and shared/events document it.
	cadence := map[string]string{
		"repair-customers": "*/15 * * * *",
		"deletion-sweep":   "*/15 * * * *",
	}
	tf := loadTerraform(t, ".")
	scheduled := map[string]string{} // topic -> schedule
	for name, job := range tf.resourcesOf("google_cloud_scheduler_job") {
		targets := nested(job, "pubsub_target")
		if len(targets) != 1 {
			t.Errorf("google_cloud_scheduler_job.%s: needs one pubsub_target", name)
			continue
		}
		data, ok := attr(targets[0], "data").(*hclsyntax.FunctionCallExpr)
		if !ok || data.Name != "base64encode" || len(data.Args) != 1 {
			t.Errorf("google_cloud_scheduler_job.%s: data must be base64encode(\"{}\")", name)
		} else if s, err := literalString(data.Args[0]); err != nil || s != "{}" {
			t.Errorf("google_cloud_scheduler_job.%s: data must be base64encode(\"{}\")", name)
		}
		// One job per schedule of local.schedules (for_each), or a single job.
		if fe := attr(job, "for_each"); fe != nil {
			items, err := tf.objectItems(fe)
			if err != nil {
				t.Errorf("google_cloud_scheduler_job.%s: for_each: %v", name, err)
				continue
			}
			for key, v := range items {
				obj, err := tf.objectItems(v)
				if err != nil {
					t.Errorf("google_cloud_scheduler_job.%s[%q]: %v", name, key, err)
					continue
				}
				topic, err := tf.topicName(obj["topic"])
				if err != nil {
					t.Errorf("google_cloud_scheduler_job.%s[%q]: topic: %v", name, key, err)
					continue
				}
				scheduled[topic], _ = literalString(obj["schedule"])
			}
			continue
		}
		topic, err := tf.topicName(attr(targets[0], "topic_name"))
		if err != nil {
			t.Errorf("google_cloud_scheduler_job.%s: topic_name: %v", name, err)
			continue
		}
		scheduled[topic], _ = literalString(attr(job, "schedule"))
	}
	for _, topic := range events.Topics {
		sched, ok := scheduled[topic.Name]
		switch {
		case topic.Subscriber == "" || external[topic.Name]:
			if ok {
				t.Errorf("topic %s is scheduled, but it is not a sweep", topic.Name)
			}
		case !ok:
			t.Errorf("topic %s triggers %s but no Cloud Scheduler job publishes to it", topic.Name, topic.Subscriber)
		case sched == "":
			t.Errorf("topic %s: the job's schedule must be a literal", topic.Name)
		case cadence[topic.Name] != "" && sched != cadence[topic.Name]:
			t.Errorf("topic %s is scheduled %q, want %q", topic.Name, sched, cadence[topic.Name])
		}
	}
}

// The TTL policies of the collections whose documents carry expireAt.
func TestFirestoreTTL(t *testing.T) {
	t.Parallel()
	want := map[string]bool{
		ledger.EventsCollection + "." + ledger.ExpireAtField: true,
		events.OutboxCollection + ".expireAt":                true,
	}
	tf := loadTerraform(t, ".")
	got := map[string]bool{}
	for name, f := range tf.resourcesOf("google_firestore_field") {
		if len(nested(f, "ttl_config")) == 0 {
			continue
		}
		coll, err1 := literalString(attr(f, "collection"))
		field, err2 := literalString(attr(f, "field"))
		if err1 != nil || err2 != nil {
			t.Errorf("google_firestore_field.%s: collection and field must be literals", name)
			continue
		}
		got[coll+"."+field] = true
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TTL policies (-want +got):\n%s", diff)
	}
}

// The Stripe endpoint is told to send every event type the webhook
// handles: local.stripe_webhook_events (an output the operator copies into
// Stripe) lists exactly the types the Stripe port parses for the webhook
// (payments.HandledEventTypes), and shared/dispatch (which applies the
// webhook's events and Reconcile's) dispatches exactly those, by the port's
// EventType constants.
func TestStripeWebhookEvents(t *testing.T) {
	t.Parallel()
	tf := loadTerraform(t, ".")
	configured, err := literalStrings(tf.locals["stripe_webhook_events"])
	if err != nil {
		t.Fatalf("local.stripe_webhook_events: %v", err)
	}
	var handled []string
	for _, typ := range payments.HandledEventTypes() {
		handled = append(handled, string(typ))
	}
	handled = slices.Sorted(slices.Values(handled))
	if diff := cmp.Diff(handled, slices.Sorted(slices.Values(configured))); diff != "" {
		t.Errorf("event types the port handles (-) and local.stripe_webhook_events (+) differ:\n%s", diff)
	}

	// The port's EventType constants shared/dispatch refers to.
	const portImport = "example.com/billing/shared/payments"
	values := eventTypeValues(t, filepath.Join(repoRoot, "shared", "payments"))
	paths, err := filepath.Glob(filepath.Join(repoRoot, "shared", "dispatch", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	used := map[string]bool{}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		local := ""
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == portImport {
				local = "payments"
				if imp.Name != nil {
					local = imp.Name.Name
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && local != "" {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == local {
					if v, ok := values[sel.Sel.Name]; ok {
						used[v] = true
					}
				}
			}
			return true
		})
	}
	if len(used) == 0 {
		t.Fatalf("shared/dispatch uses no payments.EventType constant: has the dispatch moved?")
	}
	if diff := cmp.Diff(handled, slices.Sorted(maps.Keys(used))); diff != "" {
		t.Errorf("event types the port handles (-) and those shared/dispatch dispatches (+) differ:\n%s", diff)
	}
}

// eventTypeValues reads the constants of type EventType declared in the
// package in dir: name to value.
func eventTypeValues(t *testing.T, dir string) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	values := map[string]string{}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					var lit *ast.BasicLit
					switch v := vs.Values[i].(type) {
					case *ast.BasicLit: // Name EventType = "..."
						if typ, ok := vs.Type.(*ast.Ident); ok && typ.Name == "EventType" {
							lit = v
						}
					case *ast.CallExpr: // Name = EventType("...")
						if fn, ok := v.Fun.(*ast.Ident); ok && fn.Name == "EventType" && len(v.Args) == 1 {
							lit, _ = v.Args[0].(*ast.BasicLit)
						}
					}
					if lit != nil && lit.Kind == token.STRING {
						values[name.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	if len(values) == 0 {
		t.Fatalf("%s declares no EventType constant", dir)
	}
	return values
}

// The function module itself: the runtime, the source, and for the event
// functions a push subscription with an OIDC token, exponential backoff
// and a dead-letter policy; public exposure only through allUsers.
func TestFunctionModule(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t, filepath.FromSlash(functionModule))
	fns := m.resourcesOf("google_cloudfunctions2_function")
	if len(fns) != 1 {
		t.Fatalf("modules/function declares %d functions, want 1", len(fns))
	}
	for _, fn := range fns {
		build := nested(fn, "build_config")
		if len(build) != 1 {
			t.Fatal("the function needs one build_config")
		}
		if rt, err := literalString(attr(build[0], "runtime")); err != nil || rt != "go126" {
			t.Errorf("build_config.runtime = %q, want go126", rt)
		}
		if addr, _ := ref(attr(build[0], "entry_point")); addr != "var.entry_point" {
			t.Errorf("build_config.entry_point must be var.entry_point, got %s", addr)
		}
		if len(nested(build[0], "source")) != 1 {
			t.Errorf("build_config needs a source (the zipped repository root)")
		}
	}
	subs := m.resourcesOf("google_pubsub_subscription")
	if len(subs) != 1 {
		t.Fatalf("modules/function declares %d subscriptions, want 1 (the push subscription)", len(subs))
	}
	for name, s := range subs {
		push := nested(s, "push_config")
		if len(push) != 1 || len(nested(push[0], "oidc_token")) != 1 {
			t.Errorf("google_pubsub_subscription.%s: needs push_config with an oidc_token", name)
		}
		retry := nested(s, "retry_policy")
		if len(retry) != 1 || attr(retry[0], "minimum_backoff") == nil || attr(retry[0], "maximum_backoff") == nil {
			t.Errorf("google_pubsub_subscription.%s: needs retry_policy with minimum_backoff and maximum_backoff", name)
		}
		dl := nested(s, "dead_letter_policy")
		if len(dl) != 1 || attr(dl[0], "dead_letter_topic") == nil {
			t.Errorf("google_pubsub_subscription.%s: needs a dead_letter_policy", name)
		}
	}
	public := false
	for name, g := range m.resourcesOf("google_cloud_run_v2_service_iam_member") {
		member, _ := literalString(attr(g, "member"))
		if member != "allUsers" {
			continue
		}
		public = true
		role, _ := literalString(attr(g, "role"))
		if role != "roles/run.invoker" {
			t.Errorf("google_cloud_run_v2_service_iam_member.%s: allUsers may only invoke (got %s)", name, role)
		}
		cond, ok := attr(g, "count").(*hclsyntax.ConditionalExpr)
		if addr, _ := ref(condOf(cond)); !ok || addr != "var.public" {
			t.Errorf("google_cloud_run_v2_service_iam_member.%s: allUsers must depend on var.public (count = var.public ? 1 : 0)", name)
		}
	}
	if !public {
		t.Error("modules/function never grants allUsers run.invoker: public functions would be unreachable")
	}
	if _, err := serviceAccountID(t, m, "example"); err != nil {
		t.Error(err)
	}
}

func condOf(c *hclsyntax.ConditionalExpr) hclsyntax.Expression {
	if c == nil {
		return nil
	}
	return c.Condition
}

// serviceAccountID renders the function module's service account id for a
// function name.
func serviceAccountID(t *testing.T, m *tfConfig, name string) (string, error) {
	t.Helper()
	sas := m.resourcesOf("google_service_account")
	if len(sas) != 1 {
		return "", fmt.Errorf("modules/function declares %d service accounts, want 1 (the function's own)", len(sas))
	}
	for _, sa := range sas {
		ctx := &hcl.EvalContext{Variables: map[string]cty.Value{
			"var": cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(name)}),
		}}
		v, err := literal(attr(sa, "account_id"), ctx)
		if err != nil || !v.Type().Equals(cty.String) {
			return "", fmt.Errorf("modules/function: account_id must depend on var.name only: %v", err)
		}
		return v.AsString(), nil
	}
	panic("unreachable")
}

// The outputs list every function: the URL of each HTTP function (what the
// console and Stripe are configured with) and the subscription of each
// event function.
func TestOutputsListEveryFunction(t *testing.T) {
	t.Parallel()
	tf := loadTerraform(t, ".")
	deployed := tf.functions(t)
	outputs := map[string]*hclsyntax.Block{}
	paths, err := filepath.Glob("*.tf")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		f, diags := hclparse.NewParser().ParseHCLFile(path)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			if b.Type == "output" {
				outputs[b.Labels[0]] = b
			}
		}
	}
	listed := func(output string) []string {
		t.Helper()
		b, ok := outputs[output]
		if !ok {
			t.Fatalf("output %q is not declared", output)
		}
		loop, ok := attr(b, "value").(*hclsyntax.ForExpr)
		if !ok {
			t.Fatalf("output %q: value must be a for expression over a list of modules", output)
		}
		list, ok := loop.CollExpr.(*hclsyntax.TupleConsExpr)
		if !ok {
			t.Fatalf("output %q: value must iterate over a literal list of modules", output)
		}
		var modules []string
		for _, e := range list.Exprs {
			addr, _ := ref(e)
			modules = append(modules, strings.TrimPrefix(addr, "module."))
		}
		slices.Sort(modules)
		return modules
	}
	var http, event []string
	for _, f := range deployed {
		if f.triggerTopic == "" {
			http = append(http, f.module)
		} else {
			event = append(event, f.module)
		}
	}
	slices.Sort(http)
	slices.Sort(event)
	if diff := cmp.Diff(http, listed("function_urls")); diff != "" {
		t.Errorf("output function_urls (-HTTP functions +listed):\n%s", diff)
	}
	if diff := cmp.Diff(event, listed("push_subscriptions")); diff != "" {
		t.Errorf("output push_subscriptions (-event functions +listed):\n%s", diff)
	}
}
