#!/usr/bin/env bash
# Runs the whole local stack in the foreground: the Firestore and Pub/Sub
# emulators (topics and push subscriptions created), the project's stateful
# Stripe double (unless STRIPE_API_URL or a real STRIPE_SECRET_KEY is set),
# one process serving every function on 127.0.0.1:$PORT and the reference
# console page on 127.0.0.1:$CONSOLE_PORT. Ctrl-C or SIGTERM stops all it
# started. Variables already set in the environment are honoured (see README).
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
# The reference console page has an origin of its own, as a console does.
export CONSOLE_PORT=${CONSOLE_PORT:-8081}
export CORS_ALLOWED_ORIGINS=${CORS_ALLOWED_ORIGINS:-http://127.0.0.1:$CONSOLE_PORT}
export GOOGLE_CLOUD_PROJECT=${GOOGLE_CLOUD_PROJECT:-demo-billing}
for p in "$PORT" "$CONSOLE_PORT"; do
	if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/" 2>/dev/null; then
		stack_die "something already listens on 127.0.0.1:$p; set PORT and CONSOLE_PORT to other ports"
	fi
done

stack_start_firestore
stack_start_pubsub

stack_log "building the local server and devtool"
mkdir -p "$DEV_DIR/bin"
go build -o "$DEV_DIR/bin/" ./scripts/devserver ./scripts/devtool

export STRIPE_WEBHOOK_SECRET=${STRIPE_WEBHOOK_SECRET:-whsec_local_dev}
if [[ -n ${STRIPE_API_URL:-} ]]; then
	stack_log "using the Stripe API at $STRIPE_API_URL"
	export STRIPE_SECRET_KEY=${STRIPE_SECRET_KEY:-sk_test_123}
elif [[ -n ${STRIPE_SECRET_KEY:-} ]]; then
	stack_log "using the real Stripe API with the given STRIPE_SECRET_KEY"
else
	# The stateful double: it keeps what it is asked to create and sends its
	# events to /StripeWebhook, so every local screen shows real state.
	rm -f "$DEV_DIR/stripe-url"
	stack_spawn stripe-double "$DEV_DIR/bin/devtool" stripe "$DEV_DIR/stripe-url"
	for ((i = 0; i < 100; i++)); do
		[[ -s $DEV_DIR/stripe-url ]] && break
		kill -0 "$STACK_LAST_PID" 2>/dev/null || stack_die "the Stripe double exited during start-up; see $STACK_LOGS/stripe-double.log"
		sleep 0.1
	done
	[[ -s $DEV_DIR/stripe-url ]] || stack_die "the Stripe double did not start within 10s; see $STACK_LOGS/stripe-double.log"
	STRIPE_API_URL=$(<"$DEV_DIR/stripe-url")
	export STRIPE_API_URL STRIPE_SECRET_KEY=sk_test_double
	stack_log "Stripe double ready at $STRIPE_API_URL (events to /StripeWebhook; log: $STACK_LOGS/stripe-double.log)"
fi
# A package plan to try PurchasePackage with.
export PACKAGE_PLANS=${PACKAGE_PLANS:-'{"partner-pro": {"price": 10000, "credit": 15000}}'}

# Console tokens: a local issuer whose keys the server itself serves, unless
# a real issuer is configured.
if [[ -z ${AUTH_JWKS_URL:-} ]]; then
	export DEV_AUTH_KEY=${DEV_AUTH_KEY:-$DEV_DIR/auth-key.pem}
	export AUTH_JWKS_URL=http://127.0.0.1:$PORT/dev/jwks
	export AUTH_ISSUER=https://auth.billing.local AUTH_AUDIENCE=billing-console
fi

"$DEV_DIR/bin/devtool" pubsub-setup >&2

# For a second terminal: `source .dev/env` (in $DEV_DIR) gives devtool and curl the same
# settings. Secrets here are the local stack's own, never real ones.
{
	for v in PORT CONSOLE_PORT CORS_ALLOWED_ORIGINS GOOGLE_CLOUD_PROJECT FIRESTORE_EMULATOR_HOST PUBSUB_EMULATOR_HOST STRIPE_API_URL STRIPE_WEBHOOK_SECRET DEV_AUTH_KEY AUTH_ISSUER AUTH_AUDIENCE; do
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
stack_log "ready: functions at http://127.0.0.1:$PORT/<EntryPoint> (the API: /openapi.yaml); the console page at http://127.0.0.1:$CONSOLE_PORT/; in another terminal: source $DEV_DIR/env"
wait "$server"
