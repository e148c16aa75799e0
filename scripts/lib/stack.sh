# shellcheck shell=bash
# Shared by scripts/dev.sh and scripts/test.sh: start the local peers on
# loopback, wait until they answer, and stop exactly the processes started
# here (by PID, never by name). Source it; it defines functions only.

STACK_PIDS=()
STACK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STACK_LOGS=${STACK_LOGS:-$STACK_ROOT/.dev/logs}

stack_log() { printf '[stack] %s\n' "$*" >&2; }
stack_die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# A free TCP port on 127.0.0.1.
stack_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

stack_sdk_root() {
	command -v gcloud >/dev/null 2>&1 || stack_die "gcloud is not installed; the Firestore and Pub/Sub emulators come with it (see README: prerequisites)"
	gcloud info --format='value(installation.sdk_root)'
}

# stack_wait NAME URL SECONDS [PID]: poll URL until it answers 2xx.
stack_wait() {
	local name=$1 url=$2 limit=$3 pid=${4:-} i
	for ((i = 0; i < limit * 10; i++)); do
		if curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; then
			stack_log "$name ready at $url"
			return 0
		fi
		if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
			stack_die "$name exited during start-up; see $STACK_LOGS/$name.log"
		fi
		sleep 0.1
	done
	stack_die "$name did not answer at $url within ${limit}s; see $STACK_LOGS/$name.log"
}

# Start a command in the background with its own log; remember its PID.
stack_spawn() {
	local name=$1
	shift
	mkdir -p "$STACK_LOGS"
	"$@" >"$STACK_LOGS/$name.log" 2>&1 &
	STACK_PIDS+=("$!")
	STACK_LAST_PID=$!
}

# Firestore emulator, unless FIRESTORE_EMULATOR_HOST is already set. It
# enforces the production security rules (infra/firestore.rules: no client
# access) on every request without the emulator's admin token, "Bearer
# owner", which the Go client sends as the functions' server credentials.
stack_start_firestore() {
	if [[ -n ${FIRESTORE_EMULATOR_HOST:-} ]]; then
		stack_log "using Firestore emulator at $FIRESTORE_EMULATOR_HOST"
		return
	fi
	local sdk jar port rules=$STACK_ROOT/infra/firestore.rules
	sdk=$(stack_sdk_root)
	jar="$sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
	[[ -f $jar ]] || stack_die "the Firestore emulator is not installed: apt-get install google-cloud-cli-firestore-emulator (or gcloud components install cloud-firestore-emulator)"
	[[ -f $rules ]] || stack_die "the Firestore security rules are missing: $rules"
	command -v java >/dev/null 2>&1 || stack_die "java is not installed; the emulators need Java 11+ (apt-get install openjdk-17-jre-headless)"
	port=$(stack_free_port)
	# java directly (not the wrapper script), so the PID we hold is the JVM's.
	JAVA_TOOL_OPTIONS=${JAVA_TOOL_OPTIONS:--Xmx512m} stack_spawn firestore \
		java -Duser.language=en -cp "$jar" com.google.cloud.datastore.emulator.firestore.CloudFirestore \
		start --host=127.0.0.1 --port="$port" --rules="$rules"
	stack_wait firestore "http://127.0.0.1:$port/" 60 "$STACK_LAST_PID"
	export FIRESTORE_EMULATOR_HOST=127.0.0.1:$port
}

# Pub/Sub emulator, unless PUBSUB_EMULATOR_HOST is already set.
stack_start_pubsub() {
	if [[ -n ${PUBSUB_EMULATOR_HOST:-} ]]; then
		stack_log "using Pub/Sub emulator at $PUBSUB_EMULATOR_HOST"
		return
	fi
	local sdk jar port
	sdk=$(stack_sdk_root)
	jar=$(ls "$sdk"/platform/pubsub-emulator/lib/cloud-pubsub-emulator-*-all.jar 2>/dev/null | head -n 1)
	[[ -n $jar ]] || stack_die "the Pub/Sub emulator is not installed: apt-get install google-cloud-cli-pubsub-emulator (or gcloud components install pubsub-emulator)"
	port=$(stack_free_port)
	JAVA_TOOL_OPTIONS=${JAVA_TOOL_OPTIONS:--Xmx512m} stack_spawn pubsub \
		java -jar "$jar" --host=127.0.0.1 --port="$port"
	stack_wait pubsub "http://127.0.0.1:$port/" 90 "$STACK_LAST_PID"
	export PUBSUB_EMULATOR_HOST=127.0.0.1:$port
}

# stripe-mock, pinned in go.mod as a tool. Sets STRIPE_MOCK_URL.
stack_start_stripe_mock() {
	local http https
	http=$(stack_free_port)
	https=$(stack_free_port)
	mkdir -p "$STACK_ROOT/.dev/bin"
	# The version is pinned in go.mod as a tool dependency.
	(cd "$STACK_ROOT" && go build -o .dev/bin/stripe-mock github.com/stripe/stripe-mock) ||
		stack_die "could not build stripe-mock (go build github.com/stripe/stripe-mock)"
	# Both flags, so that it binds loopback only.
	stack_spawn stripe-mock "$STACK_ROOT/.dev/bin/stripe-mock" \
		-http-addr "127.0.0.1:$http" -https-addr "127.0.0.1:$https"
	local i
	for ((i = 0; i < 300; i++)); do
		if curl -fsS -o /dev/null --max-time 1 -H 'Authorization: Bearer sk_test_123' "http://127.0.0.1:$http/v1/customers" 2>/dev/null; then
			break
		fi
		kill -0 "$STACK_LAST_PID" 2>/dev/null || stack_die "stripe-mock exited during start-up; see $STACK_LOGS/stripe-mock.log"
		sleep 0.1
	done
	((i < 300)) || stack_die "stripe-mock did not answer within 30s"
	stack_log "stripe-mock ready at http://127.0.0.1:$http"
	export STRIPE_MOCK_URL=http://127.0.0.1:$http
}

# Stop everything started here, newest first.
stack_stop() {
	local i pid
	set +e
	for ((i = ${#STACK_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${STACK_PIDS[i]}
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${STACK_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done
	STACK_PIDS=()
}
