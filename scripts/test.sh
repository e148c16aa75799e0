#!/usr/bin/env bash
# Runs every test against real peers. It starts the Firestore and Pub/Sub
# emulators and stripe-mock on loopback (or uses those named by
# FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST and STRIPE_MOCK_URL), and
# fails, never skips, when one cannot start. Then: gofmt, go vet, go test,
# a short run of every fuzz target, the README's walk-through against
# scripts/dev.sh, and the browser test of the reference console page in
# headless Chromium (installed from Debian when missing). Arguments go to go
# test instead of ./... (and skip the rest).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/stack.sh
source scripts/lib/stack.sh
dev_pid=
cleanup() {
	local status=$?
	set +e
	if [[ -n $dev_pid ]]; then
		kill "$dev_pid" 2>/dev/null
		wait "$dev_pid" 2>/dev/null
	fi
	stack_stop
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { printf '\n== %s\n' "$*" >&2; }

step "gofmt"
unformatted=$(gofmt -l $(find . -name '*.go' -not -path './.dev/*'))
[[ -z $unformatted ]] || { echo "gofmt would change: $unformatted" >&2; exit 1; }

step "local peers"
stack_start_firestore
stack_start_pubsub
if [[ -z ${STRIPE_MOCK_URL:-} ]]; then stack_start_stripe_mock; fi
export GOOGLE_CLOUD_PROJECT=${GOOGLE_CLOUD_PROJECT:-demo-billing-test}

step "go vet"
go vet ./...
go vet -tags browser ./scripts/console/

step "go test"
if (($#)); then
	go test -count=1 "$@"
	exit
fi
# The browser test needs Chromium: Debian's headless shell, installed now
# when missing, so that a fresh machine fails here and not after the tests.
if ! command -v chromium-headless-shell >/dev/null 2>&1 && ! command -v chromium >/dev/null 2>&1 && [[ -z ${CHROME_BIN:-} ]]; then
	step "installing chromium-headless-shell (for the browser test)"
	((EUID == 0)) || stack_die "Chromium is missing and only root can install it: sudo apt-get install chromium-headless-shell"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium-headless-shell; } >&2 ||
		stack_die "could not install chromium-headless-shell"
fi

mkdir -p "$STACK_LOGS"
log=$STACK_LOGS/go-test.log
status=0
go test -count=1 -v ./... >"$log" 2>&1 || status=$?
# The package lines, and the whole story of anything that failed.
grep -E '^(ok|FAIL|\?) ' "$log" || true
if ((status != 0)); then
	grep -vE '^\{' "$log" | grep -E -B2 -A25 -- '--- FAIL|^panic:|build failed|\[setup failed\]' >&2 || cat "$log" >&2
fi
summary=$(printf 'tests: %d passed, %d failed' "$(grep -cE '^\s*--- PASS' "$log")" "$(grep -cE '^\s*--- FAIL' "$log")")
((status == 0)) || { echo "$summary"; exit "$status"; }

step "fuzz targets, briefly"
for target in ./functions/addfunds:FuzzParseAmount ./functions/addfunds:FuzzAddFundsBody \
	./functions/webhook:FuzzDispatch ./shared/metering:FuzzParseReport; do
	go test -run '^$' -fuzz "^${target#*:}\$" -fuzztime "${FUZZ_TIME:-5s}" "${target%%:*}"
done

step "README walk-through against scripts/dev.sh"
export DEV_DIR=$STACK_ROOT/.dev/test
rm -f "$DEV_DIR/env"
port=$(stack_free_port)
# dev.sh's own Stripe: the stateful double (stripe-mock stays for the
# request-shape contract tests above).
PORT=$port CONSOLE_PORT=$(stack_free_port) scripts/dev.sh >"$STACK_LOGS/dev.log" 2>&1 &
dev_pid=$!
# Ready when the server answers an unauthenticated request with 401.
for ((i = 0; i < 1800; i++)); do
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/Balance" 2>/dev/null || true)
	[[ $code == 401 && -f $DEV_DIR/env ]] && break
	kill -0 "$dev_pid" 2>/dev/null || { cat "$STACK_LOGS/dev.log" >&2; stack_die "scripts/dev.sh exited"; }
	sleep 0.1
done
((i < 1800)) || { cat "$STACK_LOGS/dev.log" >&2; stack_die "scripts/dev.sh was not ready within 180s"; }
scripts/walkthrough.sh

step "browser test: the reference console page in headless Chromium, against scripts/dev.sh"
# Its screenshots go under $DEV_DIR/browser/_artifacts/ (the test logs the path).
rm -rf "$DEV_DIR/browser" && mkdir -p "$DEV_DIR/browser"
browser_log=$STACK_LOGS/browser-test.log
browser_status=0
(
	set -a
	source "$DEV_DIR/env"
	set +a
	go test -count=1 -v -tags browser -artifacts -outputdir "$DEV_DIR/browser" ./scripts/console/
) >"$browser_log" 2>&1 || browser_status=$?
grep -E '^(=== RUN|--- |ok|FAIL|PASS)|screenshot' "$browser_log" || true
if ((browser_status != 0)); then
	cat "$browser_log" >&2
	exit "$browser_status"
fi
# One summary line for the whole run: the go test ./... tests and the browser tests.
summary=$(printf 'tests: %d passed, %d failed' \
	"$(($(grep -cE '^\s*--- PASS' "$log") + $(grep -cE '^\s*--- PASS' "$browser_log")))" \
	"$(($(grep -cE '^\s*--- FAIL' "$log") + $(grep -cE '^\s*--- FAIL' "$browser_log")))")
printf '\nfuzz targets, walk-through and browser test passed\n%s\n' "$summary"
