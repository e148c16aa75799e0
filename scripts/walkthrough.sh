#!/usr/bin/env bash
# The README's curl walk-through, as a script: add funds, play Stripe's
# payment_intent.succeeded, read the balance and the account, and buy a
# package plan before any setup call. Needs scripts/dev.sh running; CI runs
# it to prove the walk-through works as written.
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
ACCOUNT=$(curl -sS "http://127.0.0.1:$PORT/Account" -H "Authorization: Bearer $TOKEN")
echo "$ACCOUNT"

# A partner sign-up buys a package before any setup call.
BOB=$("$DEV_DIR/bin/devtool" token bob bob@example.com)
PURCHASE=$(curl -sS -X POST "http://127.0.0.1:$PORT/PurchasePackage" \
	-H "Authorization: Bearer $BOB" -H 'Content-Type: application/json' -d '{"package": "partner-pro"}')
echo "$PURCHASE"
"$DEV_DIR/bin/devtool" pay bob "$(echo "$PURCHASE" | grep -o '"transactionId":"[^"]*"' | cut -d'"' -f4)"
BOB_BALANCE=$(curl -sS "http://127.0.0.1:$PORT/Balance" -H "Authorization: Bearer $BOB")
echo "$BOB_BALANCE"

# What the walk-through promises.
check() { echo "$1" | grep -q "$2" || { echo "walkthrough: expected $2 in: $1" >&2; exit 1; }; }
check "$BALANCE" '"balance":{"amount":2500,"currency":"usd"}'
check "$BALANCE" '"status":"succeeded"'
check "$ACCOUNT" '"paymentsStatus":"ready"'
check "$BOB_BALANCE" '"balance":{"amount":15000,"currency":"usd"}'
