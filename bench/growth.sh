#!/usr/bin/env bash
# How cost grows with the work: one store filled by the web form until it holds TARGET leads
# (default 1,000,000), nobody acknowledging, with the default rules (config/routing.toml). Every
# STEP leads (default 100,000) it prints the requests/s since the previous step, the daemon's
# RSS and the store's size per lead; at the end, where the bytes are (per table and index).
#   bench/growth.sh [TARGET] [STEP] [CONNECTIONS]      (LEADGATE_BIN=path skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:-1000000}
STEP=${2:-100000}
CONNECTIONS=${3:-8}
for tool in wrk sqlite3 curl; do
  command -v $tool >/dev/null || { echo "$tool is needed: apt-get install -y $tool" >&2; exit 1; }
done
BIN=${LEADGATE_BIN:-./target/release/leadgate}
[ -n "${LEADGATE_BIN:-}" ] || cargo build --release --quiet --bin leadgate
DIR=${GROWTH_DIR:-$(mktemp -d)}
trap 'kill $WRK $PID 2>/dev/null || true' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cp config/routing.toml "$DIR"/
cp config/*.txt "$DIR"/ 2>/dev/null || true
cat > "$DIR/leadgate.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
[storage]
url = "sqlite://$DIR/leadgate.db"
[routing]
watch = false
[[sources.webform]]
id = "site"
rate_per_minute = 100000000
rate_burst = 100000000
[[sinks.file]]
id = "crm"
path = "$DIR/delivered.jsonl"
TOML
RUST_LOG=warn "$BIN" run --config "$DIR/leadgate.toml" 2>"$DIR/daemon.log" &
PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
echo "store: $DIR/leadgate.db; $CONNECTIONS connections until $TARGET leads"
wrk -t2 -c"$CONNECTIONS" -d10h -s bench/unique.lua "http://127.0.0.1:$PORT" >"$DIR/wrk.txt" 2>&1 &
WRK=$!
count() { sqlite3 "file:$DIR/leadgate.db?mode=ro" "SELECT COALESCE(MAX(rowid), 0) FROM leads" 2>/dev/null || echo 0; }
bytes() { du -cb "$DIR"/leadgate.db* | tail -1 | cut -f1; }
printf '%10s %8s %9s %8s %10s\n' leads seconds "leads/s" "RSS MiB" "bytes/lead"
START=$(date +%s.%N); LAST_T=$START; LAST_N=0; MARK=$STEP
while :; do
  sleep 2
  N=$(count); NOW=$(date +%s.%N)
  if [ "$N" -ge "$MARK" ]; then
    RSS=$(awk '/VmRSS/ {print int($2/1024)}' /proc/$PID/status)
    python3 -c "n,ln,t,lt,s,b=$N,$LAST_N,$NOW,$LAST_T,$START,$(bytes); print(f'{n:>10} {t-s:>8.0f} {(n-ln)/(t-lt):>9.0f} {$RSS:>8} {b/n:>10.0f}')"
    LAST_T=$NOW; LAST_N=$N; MARK=$((MARK + STEP))
  fi
  [ "$N" -ge "$TARGET" ] && break
done
kill $WRK; wait $WRK 2>/dev/null || true
sleep 2
sqlite3 "$DIR/leadgate.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
N=$(count)
echo "== where the bytes are ($N leads, $(bytes) bytes, $(( $(bytes) / N )) bytes/lead)"
sqlite3 "file:$DIR/leadgate.db?mode=ro" \
  "SELECT name, SUM(pgsize) / $N AS bytes_per_lead FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 15;"
