#!/usr/bin/env bash
# Load benchmark: the form endpoint at fixed concurrency on loopback for a fixed time.
# Reports requests/s and latency percentiles (wrk), delivery lag to a local file sink, and the
# daemon's idle and peak RSS. Every 202 is durable before it is sent (SQLite FULL sync).
#   bench/load.sh [CONCURRENCY] [SECONDS]     (LEADGATE_BIN=path skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
CONCURRENCY=${1:-16}
SECONDS_TO_RUN=${2:-10}
source bench/daemon.sh
needs wrk sqlite3 curl
leadgate_bin
fresh_store
cat >> "$DIR/leadgate.toml" <<TOML
[processing]
batch_size = ${BATCH_SIZE:-200}
[[sinks.file]]
id = "crm"
path = "$DIR/delivered.jsonl"
TOML
start_daemon "$DIR" "$PORT" warn
sleep 1
IDLE_RSS=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
echo "== wrk: $CONCURRENCY connections, ${SECONDS_TO_RUN}s"
wrk -t2 -c"$CONCURRENCY" -d"${SECONDS_TO_RUN}s" --latency -s bench/post.lua "http://127.0.0.1:$PORT" | tee "$DIR/wrk.txt"
END=$(date +%s.%N)
STORED=$(sqlite3 "$DIR/leadgate.db" "select count(*) from inbound" 2>/dev/null || echo "?")
while :; do
  DELIVERED=$(wc -l < "$DIR/delivered.jsonl" 2>/dev/null || echo 0)
  [ "$DELIVERED" -ge "$STORED" ] && break
  sleep 0.05
done
LAG=$(python3 -c "import time; print(f'{time.time()-$END:.2f}')")
PEAK_RSS=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
echo "== summary"
echo "stored submissions:  $STORED"
echo "delivered to sink:   $DELIVERED (all of them ${LAG}s after the load stopped)"
echo "idle RSS:            $((IDLE_RSS / 1024)) MiB"
echo "peak RSS:            $((PEAK_RSS / 1024)) MiB"
