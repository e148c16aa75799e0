// Command bench measures the functions against the limits the platform sets,
// each figure as a ratio to its limit measured side by side in the same run
// (absolute times on these machines are noisy). scripts/bench.sh starts the
// local peers and runs it; it ends with one summary line:
//
//	webhook_throughput_ratio=… webhook_p99_ratio=… addfunds_ratio=… ready_ms=… idle_rss_mib=… balance_page_ratio=… repair_drain_ratio=…
//
// It needs FIRESTORE_EMULATOR_HOST, STRIPE_API_URL (stripe-mock) and the
// path of the built local server (-server). The sweep benchmark (sweep.go)
// runs last, in process, against the stateful Stripe double.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"cloud.google.com/go/firestore"

	"example.com/billing/shared/config"
	"example.com/billing/shared/ledger"
	"example.com/billing/shared/payments"
	"example.com/billing/shared/store"
	"example.com/billing/shared/testsupport/devauth"
	"example.com/billing/shared/testsupport/stripetest"
)

var (
	serverBin   = flag.String("server", ".dev/bin/devserver", "the built local server")
	accounts    = flag.Int("accounts", 5000, "accounts in Firestore, the events spread over them")
	events      = flag.Int("events", 2000, "distinct payment_intent.succeeded events in the burst")
	warmup      = flag.Int("warmup", 300, "events sent first, not measured (the emulator's JVM warms up)")
	concurrency = flag.Int("c", 8, "concurrent deliveries")
	addFundsN   = flag.Int("addfunds", 100, "AddFunds calls measured")
	balanceN    = flag.Int("balance", 40, "Balance calls measured per page")
	profile     = flag.String("profile", "", "write the server's CPU profile of the webhook burst to this file")
	sweepOnly   = flag.Bool("sweep-only", false, "run only the sweep benchmark")
)

const webhookSecret = "whsec_bench"

func main() {
	flag.Parse()
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	if *sweepOnly {
		s, err := benchRepairSweep(ctx, *repairAccounts)
		if err != nil {
			return err
		}
		fmt.Printf("repair_drain_ratio=%.2f\n", s.ratio)
		return nil
	}
	project := "demo-bench-" + randomHex(4)
	fs, err := firestore.NewClient(ctx, project)
	if err != nil {
		return err
	}
	defer fs.Close()
	dir, err := os.MkdirTemp("", "bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	keyPath := filepath.Join(dir, "auth-key.pem")
	iss, err := devauth.LoadOrCreate(keyPath, devauth.Issuer, devauth.Audience)
	if err != nil {
		return err
	}

	// 3. Cold start: exec to first answer; RSS at idle.
	srv, readyMS, err := startServer(project, keyPath)
	if err != nil {
		return err
	}
	defer srv.stop()
	idleRSS := rssMiB(srv.cmd.Process.Pid)
	fmt.Printf("cold start: ready in %d ms; idle RSS %.1f MiB\n", readyMS, idleRSS)

	// 1. Webhook throughput and latency against bare transactions.
	fmt.Printf("seeding %d accounts with %d pending top-ups…\n", *accounts, *events+*warmup)
	payloads, err := seedTopUps(ctx, fs, *events+*warmup)
	if err != nil {
		return err
	}
	post := func(p []byte) error { return srv.webhook(p) }
	if _, err := burst(payloads[:*warmup], *concurrency, post); err != nil {
		return err
	}
	if _, err := bareTransactions(ctx, fs, "warm", *warmup, *concurrency); err != nil {
		return err
	}
	// Two rounds each, in turn (ours then the limit, then the limit then
	// ours), so that neither side gets the warmer emulator or the one still
	// digesting what came before; each round has its own events and 10 %
	// duplicate deliveries.
	rest := payloads[*warmup:]
	var ours, limit []result
	for round := range 2 {
		part := rest[round*len(rest)/2 : (round+1)*len(rest)/2]
		for i := 0; i < len(part)/10; i++ {
			part = append(part, part[i*7%len(part)])
		}
		webhook := func() error {
			var profiled chan error
			if *profile != "" && round == 1 {
				profiled = make(chan error, 1)
				go func() { profiled <- srv.cpuProfile(*profile, 3*time.Second) }()
			}
			r, err := burst(part, *concurrency, post)
			if err != nil {
				return err
			}
			if profiled != nil {
				if err := <-profiled; err != nil {
					return err
				}
			}
			ours = append(ours, r)
			return nil
		}
		bare := func() error {
			b, err := bareTransactions(ctx, fs, fmt.Sprint(round), len(part), *concurrency)
			limit = append(limit, b)
			return err
		}
		sides := []func() error{webhook, bare}
		if round == 1 {
			sides[0], sides[1] = bare, webhook
		}
		for _, side := range sides {
			if err := side(); err != nil {
				return err
			}
		}
		fmt.Printf("round %d\n  webhook:  %s\n  bare txn: %s\n", round+1, ours[round], limit[round])
	}
	afterRSS := rssMiB(srv.cmd.Process.Pid)
	fmt.Printf("RSS after the burst %.1f MiB\n", afterRSS)
	throughput := (ours[0].rate + ours[1].rate) / (limit[0].rate + limit[1].rate)
	p99 := ratio(ours[0].p99+ours[1].p99, limit[0].p99+limit[1].p99)

	// 2. AddFunds through HTTP against a bare PaymentIntent create + one
	// write, call by call in turn, so that drift in the emulator (it is
	// still digesting the burst) hits both alike.
	addFundsCall, err := srv.addFunds(iss)
	if err != nil {
		return err
	}
	bareCall, err := bareAddFunds(ctx, fs)
	if err != nil {
		return err
	}
	addFunds, bareAdd, err := interleaved(*addFundsN, addFundsCall, bareCall)
	if err != nil {
		return err
	}
	fmt.Printf("AddFunds: median %v; bare PaymentIntent + write: median %v\n", addFunds, bareAdd)

	// 4. Balance: page 1 against page 40 of 1,000 transactions.
	p1, p40, err := srv.balancePages(ctx, fs, iss, *balanceN)
	if err != nil {
		return err
	}
	fmt.Printf("Balance: page 1 median %v, page 40 median %v\n", p1, p40)
	srv.stop()

	// 5. The repair sweep draining a backlog against the Stripe budget.
	drain := "skipped"
	if *repairAccounts > 0 {
		s, err := benchRepairSweep(ctx, *repairAccounts)
		if err != nil {
			return err
		}
		drain = fmt.Sprintf("%.2f", s.ratio)
	}

	fmt.Printf("webhook_throughput_ratio=%.2f webhook_p99_ratio=%.2f addfunds_ratio=%.2f ready_ms=%d idle_rss_mib=%.0f balance_page_ratio=%.2f repair_drain_ratio=%s\n",
		throughput, p99, ratio(addFunds, bareAdd), readyMS, idleRSS, ratio(p40, p1), drain)
	return nil
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// server is the local function server under test.
type server struct {
	cmd  *exec.Cmd
	base string
}

func startServer(project, keyPath string) (*server, int64, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := exec.Command(*serverBin)
	cmd.Env = append(os.Environ(), "DEV_PPROF=1", "PORT="+port, "GOOGLE_CLOUD_PROJECT="+project, "DEV_AUTH_KEY="+keyPath,
		"AUTH_JWKS_URL=http://127.0.0.1:"+port+"/dev/jwks", "AUTH_ISSUER="+devauth.Issuer, "AUTH_AUDIENCE="+devauth.Audience,
		"STRIPE_WEBHOOK_SECRET="+webhookSecret, "STRIPE_SECRET_KEY=sk_test_123")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	s := &server{cmd: cmd, base: "http://127.0.0.1:" + port}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	client := &http.Client{Timeout: time.Second}
	for time.Since(start) < 30*time.Second {
		if resp, err := client.Get(s.base + "/Balance"); err == nil {
			resp.Body.Close()
			return s, time.Since(start).Milliseconds(), nil
		}
		time.Sleep(time.Millisecond)
	}
	s.stop()
	return nil, 0, fmt.Errorf("the server did not answer within 30 s")
}

func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
}

func rssMiB(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

var httpClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func (s *server) webhook(payload []byte) error {
	req, _ := http.NewRequest(http.MethodPost, s.base+"/StripeWebhook", bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", stripetest.SignatureHeader(payload, webhookSecret, time.Now()))
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return nil
}

// seedTopUps writes pending top-ups spread over the accounts (by document
// id, in bulk) and returns a signed-to-be succeeded event for each.
func seedTopUps(ctx context.Context, fs *firestore.Client, n int) ([][]byte, error) {
	bw := fs.BulkWriter(ctx)
	now := time.Now().UTC()
	var payloads [][]byte
	for i := 0; i < *accounts || i < n; i++ {
		user := fmt.Sprintf("user%05d", i%*accounts)
		if i < *accounts {
			if _, err := bw.Set(fs.Collection(ledger.BalancesCollection).Doc(user), map[string]any{"amount": 0, "currency": "usd"}); err != nil {
				return nil, err
			}
		}
		if i >= n {
			continue
		}
		// As AddFunds leaves a fresh payment: pending, its intent not
		// recorded yet, so the credit also records the intent and its index.
		txID, piID := fmt.Sprintf("tx_%06d", i), fmt.Sprintf("pi_bench_%06d", i)
		if _, err := bw.Set(store.UnderAccount(fs, user, ledger.TransactionsCollection).Doc(txID), ledger.Transaction{
			UserID: user, Type: ledger.TypeCardTopUp, Amount: 2500, ChargeAmount: 2500, Currency: "usd", Status: ledger.StatusPending,
			CreatedAt: now, UpdatedAt: now,
		}); err != nil {
			return nil, err
		}
		payloads = append(payloads, stripetest.NewEvent("evt_bench_"+randomHex(6), string(payments.EventPaymentIntentSucceeded), map[string]any{
			"id": piID, "object": "payment_intent", "amount": 2500, "amount_received": 2500, "currency": "usd", "status": "succeeded",
			"metadata": map[string]string{payments.MetadataUserID: user, payments.MetadataTransactionID: txID, payments.MetadataKind: ledger.TypeCardTopUp},
		}, now))
	}
	bw.End()
	return payloads, nil
}

type result struct {
	n             int
	elapsed       time.Duration
	rate          float64
	p50, p95, p99 time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("%d in %v: %.0f/s, p50 %v, p95 %v, p99 %v", r.n, r.elapsed.Round(time.Millisecond), r.rate,
		r.p50.Round(time.Microsecond), r.p95.Round(time.Microsecond), r.p99.Round(time.Microsecond))
}

// burst runs do for every item with c workers and times each call.
func burst[T any](items []T, c int, do func(T) error) (result, error) {
	lat := make([]time.Duration, len(items))
	next := make(chan int)
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Go(func() {
			for i := range next {
				t0 := time.Now()
				if err := do(items[i]); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	for i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	return result{n: len(items), elapsed: elapsed, rate: float64(len(items)) / elapsed.Seconds(), p50: q(.5), p95: q(.95), p99: q(.99)}, firstErr
}

// bareTransactions is the limit: the minimum work of a credit (create the
// event record, increment the balance, update the ledger entry) in one
// transaction, from a plain loop with the same concurrency.
func bareTransactions(ctx context.Context, fs *firestore.Client, round string, n, c int) (result, error) {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	bw := fs.BulkWriter(ctx)
	for i := range n {
		bw.Set(fs.Collection("bare_entries").Doc(fmt.Sprintf("%s-e%06d", round, i)), map[string]any{"status": "pending"})
	}
	bw.End()
	return burst(idx, c, func(i int) error {
		return fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
			ev := fs.Collection("bare_events").Doc(fmt.Sprintf("%s-evt%06d", round, i))
			if _, err := tx.Get(ev); err == nil {
				return nil
			}
			entry := fs.Collection("bare_entries").Doc(fmt.Sprintf("%s-e%06d", round, i))
			if _, err := tx.Get(entry); err != nil {
				return err
			}
			if err := tx.Create(ev, map[string]any{"at": time.Now()}); err != nil {
				return err
			}
			if err := tx.Set(fs.Collection("bare_balances").Doc(fmt.Sprintf("user%05d", i%*accounts)), map[string]any{"amount": firestore.Increment(2500)}, firestore.MergeAll); err != nil {
				return err
			}
			return tx.Update(entry, []firestore.Update{{Path: "status", Value: "succeeded"}})
		})
	})
}

// interleaved times n calls of a and n of b, in turn (a b, then b a), so
// that drift in what they share hits both alike, and returns their medians.
func interleaved(n int, a, b func(i int) error) (time.Duration, time.Duration, error) {
	type side struct {
		call func(int) error
		lat  []time.Duration
	}
	sides := [2]*side{{call: a}, {call: b}}
	for i := range n {
		for k := range 2 {
			s := sides[(i+k)%2]
			t0 := time.Now()
			if err := s.call(i); err != nil {
				return 0, 0, err
			}
			s.lat = append(s.lat, time.Since(t0))
		}
	}
	return median(sides[0].lat), median(sides[1].lat), nil
}

func median(l []time.Duration) time.Duration {
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[len(l)/2]
}

// addFunds is one AddFunds call, once warm.
func (s *server) addFunds(iss *devauth.TokenIssuer) (func(int) error, error) {
	token, err := iss.Mint(devauth.Claims{Subject: "bench-addfunds", Email: "b@example.com"})
	if err != nil {
		return nil, err
	}
	call := func(int) error {
		req, _ := http.NewRequest(http.MethodPost, s.base+"/AddFunds", strings.NewReader(`{"amount": 2500}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Idempotency-Key", randomHex(16)) // as the console sends it
		resp, err := httpClient.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("AddFunds answered %d", resp.StatusCode)
		}
		return nil
	}
	for i := range 10 { // warm: the customer exists, connections are open
		if err := call(i); err != nil {
			return nil, err
		}
	}
	return call, nil
}

// bareAddFunds is the limit: a stripe-go PaymentIntent create and one
// Firestore write, the irreducible I/O of starting a payment; one call,
// once warm.
func bareAddFunds(ctx context.Context, fs *firestore.Client) (func(int) error, error) {
	c := payments.New(config.Stripe{SecretKey: "sk_test_123", APIURL: os.Getenv("STRIPE_API_URL")}, nil)
	call := func(i int) error {
		pi, err := c.CreatePaymentIntent(ctx, payments.NewPaymentIntent{CustomerID: "cus_bench", Amount: 2500, Currency: ledger.Currency}, "bench-"+randomHex(8))
		if err != nil {
			return err
		}
		_, err = fs.Collection("bare_topups").Doc(fmt.Sprintf("t%06d", i)).Set(ctx, map[string]any{"paymentIntentId": pi.ID, "amount": 2500})
		return err
	}
	for i := range 10 {
		if err := call(1_000_000 + i); err != nil {
			return nil, err
		}
	}
	return call, nil
}

func (s *server) balancePages(ctx context.Context, fs *firestore.Client, iss *devauth.TokenIssuer, n int) (time.Duration, time.Duration, error) {
	const user, pageSize = "bench-history", 25
	bw := fs.BulkWriter(ctx)
	start := time.Now().UTC().Add(-1000 * time.Minute)
	for i := range 1000 {
		at := start.Add(time.Duration(i) * time.Minute)
		bw.Set(store.UnderAccount(fs, user, ledger.TransactionsCollection).Doc(fmt.Sprintf("tx_%04d", i)), ledger.Transaction{
			UserID: user, Type: ledger.TypeCardTopUp, Amount: 1000, ChargeAmount: 1000, Currency: "usd", Status: ledger.StatusSucceeded, CreatedAt: at, UpdatedAt: at,
		})
	}
	bw.End()
	token, err := iss.Mint(devauth.Claims{Subject: user})
	if err != nil {
		return 0, 0, err
	}
	get := func(pageToken string) (string, error) {
		req, _ := http.NewRequest(http.MethodGet, s.base+"/Balance?pageSize="+strconv.Itoa(pageSize)+"&pageToken="+pageToken, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := httpClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("Balance answered %d", resp.StatusCode)
		}
		i := bytes.Index(body, []byte(`"nextPageToken":"`))
		if i < 0 {
			return "", nil
		}
		rest := body[i+len(`"nextPageToken":"`):]
		return string(rest[:bytes.IndexByte(rest, '"')]), nil
	}
	// The token of page 40, found by walking there once.
	token40 := ""
	for range 39 {
		if token40, err = get(token40); err != nil {
			return 0, 0, err
		}
	}
	for range 10 {
		get("")
		get(token40)
	}
	// Interleaved, so that drift in the emulator hits both pages alike.
	page := func(tok string) func(int) error {
		return func(int) error { _, err := get(tok); return err }
	}
	return interleaved(n, page(""), page(token40))
}

// cpuProfile saves the server's CPU profile over d.
func (s *server) cpuProfile(path string, d time.Duration) error {
	resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.base, int(d.Seconds())))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}
