#!/usr/bin/env bash
# Runs the whole local stack in the foreground: the Firestore and Pub/Sub
# emulators (topics and push subscriptions created), stripe-mock (unless
# STRIPE_API_URL or a real STRIPE_SECRET_KEY is set) and one process serving
# every function on 127.0.0.1:$PORT. Ctrl-C or SIGTERM stops all it started.
# Variables already set in the environment are honoured (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/stack.sh
source scripts/lib/stack.sh
trap stack_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# State (binaries, logs, the local token key, env) lives in $DEV_DIR.
export DEV_DIR=${DEV_DIR:-$STACK_ROOT/.dev}
STACK_LOGS=$DEV_DIR/logs
export PORT=${PORT:-8080}
export GOOGLE_CLOUD_PROJECT=${GOOGLE_CLOUD_PROJECT:-demo-billing}
if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/" 2>/dev/null; then
	stack_die "something already listens on 127.0.0.1:$PORT; set PORT to another port"
fi

stack_start_firestore
stack_start_pubsub

if [[ -n ${STRIPE_API_URL:-} ]]; then
	stack_log "using the Stripe API at $STRIPE_API_URL"
	export STRIPE_SECRET_KEY=${STRIPE_SECRET_KEY:-sk_test_123}
elif [[ -n ${STRIPE_SECRET_KEY:-} ]]; then
	stack_log "using the real Stripe API with the given STRIPE_SECRET_KEY"
else
	stack_start_stripe_mock
	export STRIPE_API_URL=$STRIPE_MOCK_URL STRIPE_SECRET_KEY=sk_test_123
fi
export STRIPE_WEBHOOK_SECRET=${STRIPE_WEBHOOK_SECRET:-whsec_local_dev}
# A package plan to try PurchasePackage with.
export PACKAGE_PLANS=${PACKAGE_PLANS:-'{"partner-pro": {"price": 10000, "credit": 15000}}'}

# Console tokens: a local issuer whose keys the server itself serves, unless
# a real issuer is configured.
if [[ -z ${AUTH_JWKS_URL:-} ]]; then
	export DEV_AUTH_KEY=${DEV_AUTH_KEY:-$DEV_DIR/auth-key.pem}
	export AUTH_JWKS_URL=http://127.0.0.1:$PORT/dev/jwks
	export AUTH_ISSUER=https://auth.billing.local AUTH_AUDIENCE=billing-console
fi

stack_log "building the local server and devtool"
mkdir -p "$DEV_DIR/bin"
go build -o "$DEV_DIR/bin/" ./scripts/devserver ./scripts/devtool
"$DEV_DIR/bin/devtool" pubsub-setup >&2

# For a second terminal: `source .dev/env` (in $DEV_DIR) gives devtool and curl the same
# settings. Secrets here are the local stack's own, never real ones.
{
	for v in PORT GOOGLE_CLOUD_PROJECT FIRESTORE_EMULATOR_HOST PUBSUB_EMULATOR_HOST STRIPE_API_URL STRIPE_WEBHOOK_SECRET DEV_AUTH_KEY AUTH_ISSUER AUTH_AUDIENCE; do
		[[ -n ${!v:-} ]] && printf 'export %s=%q\n' "$v" "${!v}"
	done
} >"$DEV_DIR/env"

"$DEV_DIR/bin/devserver" &
STACK_PIDS+=("$!")
server=$!
for ((i = 0; i < 300; i++)); do
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$PORT/Balance" 2>/dev/null || true)
	[[ $code == 401 ]] && break
	kill -0 "$server" 2>/dev/null || stack_die "the function server exited during start-up"
	sleep 0.1
done
((i < 300)) || stack_die "the function server did not answer within 30s"
stack_log "ready: functions at http://127.0.0.1:$PORT/<EntryPoint>; in another terminal: source $DEV_DIR/env"
wait "$server"
