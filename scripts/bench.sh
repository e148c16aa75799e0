#!/usr/bin/env bash
# Measures the functions against their limits in one run (see
# BENCHMARKS.md): it starts its own Firestore emulator and stripe-mock on
# loopback (or uses FIRESTORE_EMULATOR_HOST / STRIPE_API_URL), builds the
# local server, and runs scripts/bench. The last line is the summary:
#   webhook_throughput_ratio=… webhook_p99_ratio=… addfunds_ratio=… ready_ms=… idle_rss_mib=… balance_page_ratio=… repair_drain_ratio=…
# Arguments go to scripts/bench (e.g. -events 5000 -c 16; -repair-accounts 0
# skips the sweep benchmark, -sweep-only runs only it).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/stack.sh
source scripts/lib/stack.sh
trap stack_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stack_start_firestore
if [[ -z ${STRIPE_API_URL:-} ]]; then
	stack_start_stripe_mock
	export STRIPE_API_URL=$STRIPE_MOCK_URL
fi
# No Pub/Sub is needed on the measured paths; a dead address keeps the
# clients from looking for real credentials.
export PUBSUB_EMULATOR_HOST=${PUBSUB_EMULATOR_HOST:-127.0.0.1:1}
mkdir -p .dev/bin
go build -o .dev/bin/ ./scripts/devserver ./scripts/bench
.dev/bin/bench -server .dev/bin/devserver "$@"
