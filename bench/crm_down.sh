#!/usr/bin/env bash
# The CRM down while forms keep coming: the webhook sink points at a port nobody listens on, so
# every event waits in the outbox for its retry, and a returning person's later events wait
# behind their first. Forms arrive from a pool of POOL people (bench/post.lua with POOL) in ROUNDS
# rounds of SECONDS each on one store; each round prints forms a second, latency and the
# events pending. A claim or a wake-up whose cost grows with the backlog shows as forms a
# second falling from round to round.
#   bench/crm_down.sh [ROUNDS] [SECONDS] [CONNECTIONS]   (LEADGATE_BIN=path skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-6}
SECONDS_PER_ROUND=${2:-10}
CONNECTIONS=${3:-16}
source bench/daemon.sh
needs wrk sqlite3 curl
leadgate_bin
fresh_store
DOWN=$(free_port)
cat >> "$DIR/leadgate.toml" <<TOML
[[sinks.webhook]]
id = "crm"
url = "http://127.0.0.1:$DOWN/crm"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TOML
start_daemon "$DIR" "$PORT" error
pending() { sqlite3 "file:$DIR/leadgate.db?mode=ro" "SELECT count(*) FROM outbox WHERE status = 'pending'"; }
printf '%6s %8s %8s %8s %9s\n' round "forms/s" "p50 ms" "p99 ms" pending
for round in $(seq "$ROUNDS"); do
  POOL=${POOL:-500} wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_ROUND}s" --latency -s bench/post.lua \
    "http://127.0.0.1:$PORT" >"$DIR/wrk.txt" 2>&1
  awk -v r="$round" -v p="$(pending)" '
    /^Requests\/sec/ {rps=$2}
    $1=="50%" {p50=$2} $1=="99%" {p99=$2}
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; return v*1000 }
    END {printf "%6d %8.0f %8.2f %8.2f %9d\n", r, rps, ms(p50), ms(p99), p}' "$DIR/wrk.txt"
done
