//go:build browser

package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"go.yaml.in/yaml/v3"

	"example.com/billing/shared/openapi"
	"example.com/billing/shared/testsupport/testenv"
)

// stack is the running local stack (scripts/dev.sh) the tests drive; run
// them through scripts/test.sh, which starts it and sources its env.
type stack struct {
	functions string // http://127.0.0.1:$PORT
	console   string // http://127.0.0.1:$CONSOLE_PORT, the page's origin
}

func localStack(t *testing.T) stack {
	t.Helper()
	port, consolePort := os.Getenv("PORT"), os.Getenv("CONSOLE_PORT")
	if port == "" || consolePort == "" {
		t.Fatal("PORT and CONSOLE_PORT are not set: run the browser test through scripts/test.sh, " +
			"or with scripts/dev.sh running and its env sourced (source .dev/env)")
	}
	s := stack{functions: "http://127.0.0.1:" + port, console: "http://127.0.0.1:" + consolePort}
	resp, err := http.Get(s.console + "/config.json")
	if err != nil {
		t.Fatalf("the reference page is not served at %s: %v", s.console, err)
	}
	resp.Body.Close()
	return s
}

// token signs in through the page's server, as the page does.
func (s stack) token(t *testing.T, userID string) string {
	t.Helper()
	var out struct{ Token string }
	s.post(t, s.console+"/dev/token", "", map[string]string{"userId": userID, "email": userID + "@example.com"}, &out)
	return out.Token
}

// post sends a JSON body; an exchange with a function must agree with the
// OpenAPI document.
func (s stack) post(t *testing.T, url, token string, body, out any) int {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	testenv.CheckContract(t, req, raw, resp, data)
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, data)
	}
	return resp.StatusCode
}

// browser starts headless Chromium (Debian's chromium-headless-shell, or
// chromium). Not finding or not starting it fails the test: scripts/test.sh
// installs it when missing.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("CHROME_BIN")
	for _, name := range []string{"chromium-headless-shell", "chromium", "google-chrome"} {
		if path != "" {
			break
		}
		path, _ = exec.LookPath(name)
	}
	if path == "" {
		t.Fatal("no Chromium: apt-get install chromium-headless-shell (scripts/test.sh does), or set CHROME_BIN")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 1024))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	// What the page says to its console, for a failing test's story.
	chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			if d.Exception != nil {
				t.Logf("page exception: %s (%s:%d)", d.Exception.Description, d.URL, d.LineNumber+1)
			} else {
				t.Logf("page exception: %s (%s:%d)", d.Text, d.URL, d.LineNumber+1)
			}
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			t.Logf("page console.%s: %s", ev.Type, strings.Join(parts, " "))
		}
	})
	return ctx
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v\npage: %s", what, err, pageText(ctx))
	}
}

// waitFor polls a JavaScript condition of the page.
func waitFor(t *testing.T, ctx context.Context, what, condition string) {
	t.Helper()
	do(t, ctx, what, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[chromedp.Void](condition, chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))(ctx, tg)
		return chromedp.Void{}, err
	})
}

func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q).textContent.trim()`, id)))
	if err != nil {
		t.Fatalf("read #%s: %v", id, err)
	}
	return s
}

func pageText(ctx context.Context) string {
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return s
}

func screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The reference page, driven in Chromium as a console user would: sign in,
// see a too-small amount refused with the contract's sentence, add funds and
// pay (twice), see the balance and the history update and page through it,
// check the deletion. It ends with a screenshot of the page.
func TestReferenceConsole(t *testing.T) {
	s := localStack(t)
	ctx := browser(t)
	user := fmt.Sprintf("browser-%d", time.Now().UnixNano())
	defer func() {
		if t.Failed() {
			t.Logf("screenshot of the failure: %s", screenshot(t, ctx, "failure.png"))
		}
	}()

	do(t, ctx, "open the page", chromedp.Navigate(s.console+"/"))
	waitFor(t, ctx, "the page starts", `document.body.dataset.ready === "true"`)
	do(t, ctx, "sign in",
		chromedp.SetValue(chromedp.ID("signin-user"), user),
		chromedp.SetValue(chromedp.ID("signin-email"), user+"@example.com"),
		chromedp.Click(chromedp.ID("signin-submit")))
	waitFor(t, ctx, "the account is ready", `document.getElementById("payments-status").textContent === "ready"`)
	waitFor(t, ctx, "the settings are loaded", `document.getElementById("amount-range").textContent.startsWith("From $10.00")`)
	if got := text(t, ctx, "balance-amount"); got != "$0.00" {
		t.Errorf("a new user's balance shows %q", got)
	}

	// A too-small amount is refused with the functions' own sentence.
	token := s.token(t, user)
	var refusal struct {
		Error struct{ Code, Message string }
	}
	if status := s.post(t, s.functions+"/AddFunds", token, map[string]any{"amount": 500}, &refusal); status != http.StatusBadRequest || refusal.Error.Code != "amount_too_low" {
		t.Fatalf("AddFunds of 500 cents: %d %+v", status, refusal)
	}
	do(t, ctx, "add 5.00", chromedp.SetValue(chromedp.ID("amount"), "5.00"), chromedp.Click(chromedp.ID("add-funds-submit")))
	waitFor(t, ctx, "the refusal", `document.getElementById("add-funds-error").textContent !== ""`)
	if got := text(t, ctx, "add-funds-error"); got != refusal.Error.Message {
		t.Errorf("the page refuses 5.00 with %q; the contract's message is %q", got, refusal.Error.Message)
	}

	// Add funds and pay, twice; the balance and the history follow.
	for i, amount := range []string{"25.00", "10.00"} {
		do(t, ctx, "add "+amount, chromedp.SetValue(chromedp.ID("amount"), amount), chromedp.Click(chromedp.ID("add-funds-submit")))
		waitFor(t, ctx, "the payment starts", `!document.getElementById("payment").hidden && document.getElementById("payment-status").textContent === "requires_payment_method"`)
		waitFor(t, ctx, "the pending top-up is listed", fmt.Sprintf(`document.querySelectorAll("#history tbody tr[data-id]").length === %d && document.querySelector("#history tbody tr").textContent.includes("pending")`, i+1))
		if got := text(t, ctx, "add-funds-error"); got != "" {
			t.Errorf("after adding %s the page shows the error %q", amount, got)
		}
		do(t, ctx, "pay", chromedp.Click(chromedp.ID("pay")))
		waitFor(t, ctx, "the payment succeeds", `document.getElementById("payment-result").textContent.startsWith("Paid")`)
	}
	waitFor(t, ctx, "the balance is credited", `document.getElementById("balance-amount").textContent === "$35.00"`)
	waitFor(t, ctx, "the history shows both payments settled", `[...document.querySelectorAll("#history tbody tr[data-id]")].map(r => r.cells[3].textContent).join() === "succeeded,succeeded"`)

	// Four more (paid outside the page), so the history has two pages of 5.
	for range 4 {
		var started struct{ TransactionID string }
		s.post(t, s.functions+"/AddFunds", token, map[string]any{"amount": 1000}, &started)
		var paid struct{ Status string }
		if s.post(t, s.functions+"/dev/pay", token, map[string]any{"transactionId": started.TransactionID}, &paid); paid.Status != "succeeded" {
			t.Fatalf("/dev/pay: %+v", paid)
		}
	}
	do(t, ctx, "reload (the session stays)", chromedp.Reload())
	waitFor(t, ctx, "the page starts again", `document.body.dataset.ready === "true" && document.getElementById("balance-amount").textContent === "$75.00"`)
	waitFor(t, ctx, "page 1 has 5 rows", `document.querySelectorAll("#history tbody tr[data-id]").length === 5 && !document.getElementById("history-older").disabled`)
	do(t, ctx, "older", chromedp.Click(chromedp.ID("history-older")))
	waitFor(t, ctx, "page 2 has the first payment", `document.querySelectorAll("#history tbody tr[data-id]").length === 1 && document.querySelector("#history tbody tr").textContent.includes("$25.00")`)
	do(t, ctx, "newest", chromedp.Click(chromedp.ID("history-newest")))
	waitFor(t, ctx, "back on page 1", `document.querySelectorAll("#history tbody tr[data-id]").length === 5`)

	// The deletion check: nothing blocks; the balance would go back to the cards.
	do(t, ctx, "check the deletion", chromedp.Click(chromedp.ID("deletion-check")))
	waitFor(t, ctx, "the check", `document.getElementById("deletion-result").textContent.includes("can be deleted now")`)
	if got := text(t, ctx, "deletion-result"); !strings.Contains(got, "back to your cards $75.00") {
		t.Errorf("the deletion check shows %q", got)
	}
	t.Logf("screenshot of the final page: %s", screenshot(t, ctx, "console.png"))
}

// Another origin's page cannot call the functions: the browser blocks the
// call (no CORS grant), while the same call from the console's origin works.
func TestOtherOriginIsBlocked(t *testing.T) {
	s := localStack(t)
	ctx := browser(t)
	token := s.token(t, fmt.Sprintf("origin-%d", time.Now().UnixNano()))
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<!doctype html><title>another origin</title>")
	}))
	defer other.Close()

	call := fmt.Sprintf(`fetch(%q, {headers: {Authorization: "Bearer " + %q}}).then(r => "answered " + r.status, e => "blocked: " + e.name)`,
		s.functions+"/Balance", token)
	cases := []struct {
		name   string
		origin string
		want   string
	}{
		{name: "the console's origin", origin: s.console, want: "answered 200"},
		{name: "another origin", origin: other.URL, want: "blocked: TypeError"},
	}
	for _, tc := range cases {
		do(t, ctx, "open "+tc.origin, chromedp.Navigate(tc.origin+"/"))
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](call, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s: GET /Balance %s, want %s", tc.name, got, tc.want)
		}
	}
}

// The same at the HTTP level, for every console function of the OpenAPI
// document: a preflight from the console's origin is granted what the
// contract uses, one from another origin nothing; the webhook grants none.
func TestCORSOverHTTP(t *testing.T) {
	s := localStack(t)
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatal(err)
	}
	preflight := func(path, method, origin string) http.Header {
		req, _ := http.NewRequest(http.MethodOptions, s.functions+path, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", method)
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,idempotency-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header
	}
	paths := slices.Sorted(func(yield func(string) bool) {
		for p := range doc.Paths {
			if !yield(p) {
				return
			}
		}
	})
	for _, path := range paths {
		for method := range doc.Paths[path] {
			method = strings.ToUpper(method)
			granted := preflight(path, method, s.console)
			other := preflight(path, method, "http://127.0.0.1:1")
			if path == "/StripeWebhook" {
				if v := granted.Get("Access-Control-Allow-Origin"); v != "" {
					t.Errorf("%s grants CORS to the console: %q", path, v)
				}
				continue
			}
			if granted.Get("Access-Control-Allow-Origin") != s.console || granted.Get("Access-Control-Allow-Methods") != method ||
				granted.Get("Access-Control-Allow-Headers") != "authorization,content-type,idempotency-key" || granted.Get("Access-Control-Max-Age") != "600" {
				t.Errorf("%s %s preflight from the console: %v", method, path, granted)
			}
			if v := other.Get("Access-Control-Allow-Origin"); v != "" {
				t.Errorf("%s %s grants another origin: %q", method, path, v)
			}
		}
	}
	// A real call from the console's origin is granted too.
	req, _ := http.NewRequest(http.MethodGet, s.functions+"/BillingSettings", nil)
	req.Header.Set("Origin", s.console)
	req.Header.Set("Authorization", "Bearer "+s.token(t, "cors-user"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	testenv.CheckContract(t, req, nil, resp, body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != s.console {
		t.Errorf("GET /BillingSettings from the console: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}
