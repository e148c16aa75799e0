#!/usr/bin/env bash
# The README's curl walk-through, as a script: add funds, play Stripe's
# payment_intent.succeeded, and read the balance. Needs scripts/dev.sh
# running; CI runs it to prove the walk-through works as written.
set -euo pipefail
cd "$(dirname "$0")/.."
DEV_DIR=${DEV_DIR:-.dev}
source "$DEV_DIR/env"

TOKEN=$("$DEV_DIR/bin/devtool" token alice alice@example.com)
RESP=$(curl -sS -X POST "http://127.0.0.1:$PORT/AddFunds" \
	-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	-d '{"amount": 2500, "currency": "usd"}')
echo "$RESP"
TX=$(echo "$RESP" | grep -o '"transactionId":"[^"]*"' | cut -d'"' -f4)

"$DEV_DIR/bin/devtool" pay alice "$TX"

BALANCE=$(curl -sS "http://127.0.0.1:$PORT/Balance" -H "Authorization: Bearer $TOKEN")
echo "$BALANCE"

# What the walk-through promises: the credit, and the top-up succeeded.
echo "$BALANCE" | grep -q '"balance":{"amount":2500,"currency":"usd"}' || { echo "walkthrough: balance is not 2500" >&2; exit 1; }
echo "$BALANCE" | grep -q '"status":"succeeded"' || { echo "walkthrough: top-up not succeeded" >&2; exit 1; }
