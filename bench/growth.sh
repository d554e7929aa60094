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
source bench/daemon.sh
needs wrk sqlite3 curl
leadgate_bin
DIR=${GROWTH_DIR:-$(mktemp -d)}
WRK=
trap 'kill $WRK $PID 2>/dev/null || true' EXIT
PORT=$(free_port)
write_config "$DIR" "$PORT"
cat >> "$DIR/leadgate.toml" <<TOML
[[sinks.file]]
id = "crm"
path = "$DIR/delivered.jsonl"
TOML
start_daemon "$DIR" "$PORT" warn
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
