#!/usr/bin/env bash
# leadgate on PostgreSQL in the peer benchmark (../shared/bench/run-peers.sh), as one replica or
# as several behind nginx on one port, in the same run as limit-sqlite and Node-RED:
#
#   bench/replicas.sh                  # limit-sqlite, node-red, leadgate (SQLite), 1 and 2 PG replicas
#   bench/replicas.sh --only-ours      # leadgate on SQLite and on PostgreSQL, 1 and 2 replicas
#
# Each PostgreSQL target gets a fresh database (POSTGRES_ADMIN, default
# postgres://postgres@127.0.0.1/test, names the server) and the workload's config from
# ../shared/bench/peers/targets/leadgate.sh with the store on PostgreSQL. The harness measures
# the CPU and memory of the target's process tree: the replicas and nginx, not the PostgreSQL
# server, whose CPU is read here from /proc around the run and printed at the end.
#
# The harness runs this file again as each target's start command (`bench/replicas.sh start N`),
# with WORK, TARGET_PORT and SINK_URL set.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PEERS=$(cd "$ROOT/../shared/bench" && pwd)
POSTGRES_ADMIN=${POSTGRES_ADMIN:-postgres://postgres@127.0.0.1/test}

postgres_cpu() {  # CPU of the PostgreSQL server in clock ticks: every live process's own, and
    # what the postmaster collected from the backends that ended (cutime, cstime)
    local total=0 pid
    for pid in $(pgrep -x postgres || true); do
        total=$((total + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

start() {  # start N: N replicas on a fresh database, behind nginx on TARGET_PORT when N > 1
    local n=$1 i port upstream=""
    local db="lg_bench_$n" server=${POSTGRES_ADMIN%/*}
    cd "$WORK"   # the replicas keep the files people send in data/files/ here
    psql "$POSTGRES_ADMIN" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    sed -n "/cat > \"\$WORK\/routing.toml\" <<'TOML'/,/^TOML/p" "$PEERS/peers/targets/leadgate.sh" \
        | sed '1d;$d' > "$WORK/routing.toml"
    for i in $(seq 1 "$n"); do
        port=$TARGET_PORT
        [ "$n" -gt 1 ] && port=$((TARGET_PORT + 100 + i))
        upstream="$upstream server 127.0.0.1:$port;"
        cat > "$WORK/leadgate-$i.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
[storage]
url = "$server/$db"
[business]
phone_region = "RU"
[routing]
file = "routing.toml"
[[sources.webform]]
id = "bench"
rate_per_minute = 100000000
rate_burst = 100000000
[[sinks.webhook]]
id = "crm"
url = "$SINK_URL"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
concurrency = 8
TOML
        [ "$n" -eq 1 ] && exec env RUST_LOG=warn "$LEADGATE_BIN" run --config "$WORK/leadgate-1.toml"
        env RUST_LOG=warn "$LEADGATE_BIN" run --config "$WORK/leadgate-$i.toml" &
    done
    mkdir -p "$WORK/nginx"
    cat > "$WORK/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx;
    proxy_temp_path $WORK/nginx;
    upstream leadgate { $upstream keepalive 32; }
    server {
        listen 127.0.0.1:$TARGET_PORT;
        location / {
            proxy_pass http://leadgate;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
NGINX
    exec nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;'
}

if [ "${1:-}" = start ]; then
    start "$2"
fi

command -v nginx >/dev/null || { echo "nginx is needed: apt-get install -y nginx" >&2; exit 1; }
command -v psql >/dev/null || { echo "psql is needed: apt-get install -y postgresql-client" >&2; exit 1; }
cd "$ROOT"
cargo build --release --quiet --bin leadgate
LEADGATE_BIN=${LEADGATE_BIN:-$ROOT/target/release/leadgate}
export LEADGATE_BIN POSTGRES_ADMIN
ours=(--add leadgate-pg 'http://127.0.0.1:$TARGET_PORT/forms/bench' "$HERE/replicas.sh start 1"
      --add leadgate-pg-x2 'http://127.0.0.1:$TARGET_PORT/forms/bench' "$HERE/replicas.sh start 2")
# The harness runs every --add target in each round besides the --only ones: named in --only
# too, they ran twice a round.
if [ "${1:-}" = --only-ours ]; then
    targets=leadgate
else
    targets=limit-sqlite,node-red,leadgate
fi
before=$(postgres_cpu)
started=$(date +%s)
ADD_RR=off "$PEERS/run-peers.sh" "${ours[@]}" --only "$targets"
echo "PostgreSQL server CPU over the whole run (every target): $(( ($(postgres_cpu) - before) / $(getconf CLK_TCK) )) s in $(( $(date +%s) - started )) s"
