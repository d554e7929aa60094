# Sourced by the bench scripts that run one leadgate on a store of its own (growth, load,
# crm_down, instructions, console): the binary, a free loopback port, the config every one of
# them starts from, and a daemon started and waited for.
#
#   source bench/daemon.sh
#   needs wrk sqlite3 curl            # stop with the apt-get line when a tool is missing
#   leadgate_bin                      # BIN: $LEADGATE_BIN, or this checkout's release build
#   fresh_store                       # DIR (removed at exit, the daemon stopped), PORT, config
#   (or: PORT=$(free_port); write_config "$DIR" "$PORT" for a DIR of the caller's)
#   cat >> "$DIR/leadgate.toml" <<TOML ... TOML   # the sink, and whatever the bench adds
#   start_daemon "$DIR" "$PORT" warn  # PID; back once /healthz answers
#   start_daemon "$DIR" "$PORT" warn valgrind --tool=callgrind   # the daemon under a wrapper

needs() {  # needs TOOL...: exit with the install line when one is missing
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$tool is needed: apt-get install -y $tool" >&2; exit 1; }
    done
}

leadgate_bin() {  # sets BIN; builds the release binary unless LEADGATE_BIN names one
    BIN=${LEADGATE_BIN:-./target/release/leadgate}
    [ -n "${LEADGATE_BIN:-}" ] || cargo build --release --quiet --bin leadgate
}

free_port() {  # a loopback port nobody listens on now
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

fresh_store() {  # DIR: a new temporary directory, removed at exit with the daemon (PID)
    # stopped; PORT: a free port (LEADGATE_BENCH_PORT to choose one); DIR/leadgate.toml written
    DIR=$(mktemp -d)
    PID=
    trap 'kill $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
    PORT=${LEADGATE_BENCH_PORT:-$(free_port)}
    write_config "$DIR" "$PORT"
}

write_config() {  # write_config DIR PORT: the port, a SQLite store in DIR, the default rules
    # (config/routing.toml and its word lists, copied to DIR, not watched) and one web form
    # "site" with no rate limit. No sink: the caller appends one.
    local dir=$1 port=$2
    cp config/routing.toml "$dir"/
    cp config/*.txt "$dir"/ 2>/dev/null || true
    cat > "$dir/leadgate.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
[storage]
url = "sqlite://$dir/leadgate.db"
[routing]
file = "routing.toml"
watch = false
[[sources.webform]]
id = "site"
rate_per_minute = 100000000
rate_burst = 100000000
TOML
}

start_daemon() {  # start_daemon DIR PORT LOG_LEVEL [WRAPPER...]: sets PID, logs to DIR/daemon.log
    local dir=$1 port=$2 level=$3
    shift 3
    RUST_LOG=$level "$@" "$BIN" run --config "$dir/leadgate.toml" 2>"$dir/daemon.log" &
    PID=$!
    for _ in $(seq 1200); do
        curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "leadgate did not start; the end of its log:" >&2
    tail -20 "$dir/daemon.log" >&2
    exit 1
}
