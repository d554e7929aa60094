#!/usr/bin/env bash
# Benchmark: a backlog of messages (default 10,000; first argument to change it) APPENDed to a
# real Dovecot, then taken by leadgate's IMAP source, processed and delivered to an HTTP sink.
# Prints messages per second to intake (committed) and to the sink (end to end).
# Needs Dovecot: apt-get install -y dovecot-imapd (the test starts its own instance).
set -euo pipefail
cd "$(dirname "$0")/.."
export LEADGATE_BENCH_MESSAGES="${1:-10000}"
cargo test --release --test email_imap bench_backlog -- --ignored --nocapture 2>&1 \
  | grep -E "appended|imap backlog|panicked|FAILED|test result"
