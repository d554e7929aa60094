#!/usr/bin/env bash
# Load benchmark: the form endpoint at fixed concurrency on loopback for a fixed time.
# Reports requests/s and latency percentiles (wrk), delivery lag to a local file sink, and the
# daemon's idle and peak RSS. Every 202 is durable before it is sent (SQLite FULL sync).
#   bench/load.sh [CONCURRENCY] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
CONCURRENCY=${1:-16}
SECONDS_TO_RUN=${2:-10}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --quiet --bin leadgate
DIR=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cp config/routing.toml config/suppress.txt "$DIR"/ 2>/dev/null || cp config/routing.toml "$DIR"/
cat > "$DIR/leadgate.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
[storage]
url = "sqlite://$DIR/leadgate.db"
[routing]
watch = false
[processing]
batch_size = ${BATCH_SIZE:-200}
[[sources.webform]]
id = "site"
rate_per_minute = 100000000
rate_burst = 100000000
[[sinks.file]]
id = "crm"
path = "$DIR/delivered.jsonl"
TOML
RUST_LOG=warn ./target/release/leadgate run --config "$DIR/leadgate.toml" 2>"$DIR/daemon.log" &
PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
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
