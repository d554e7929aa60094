#!/usr/bin/env bash
# Benchmark: the admin console's list pages over a store of N leads (default 1,000,000; first
# argument to change it). Fills a fresh SQLite store with direct SQL (a realistic spread of
# channels, sources, levels, managers, statuses, not-leads and dead letters), starts the
# daemon on it, signs in and times every list page with curl (best of 3, milliseconds).
# Needs sqlite3 and curl. LEADGATE_BIN picks the binary (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
source bench/daemon.sh
needs sqlite3 curl
leadgate_bin
TOKEN="bench-admin-token-0123456789"
fresh_store
cat >> "$DIR/leadgate.toml" <<TOML
[admin]
token = "$TOKEN"
[[sinks.file]]
id = "crm"
path = "$DIR/delivered.jsonl"
TOML

start() { start_daemon "$DIR" "$PORT" info; }

start   # creates the schema
kill "$PID"; wait "$PID" 2>/dev/null || true

echo "filling $N leads..."
T0=$(date +%s)
sqlite3 "$DIR/leadgate.db" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
CREATE TEMP TABLE seq AS WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < $N - 1) SELECT i FROM s;
INSERT INTO leads (id, inbound_id, source, channel, received_at, last_activity_at, status, level, rule, manager_id, rules_version, record, trace)
SELECT printf('lead-%08d', i), printf('in-%08d', i),
       CASE i % 5 WHEN 0 THEN 'site' WHEN 1 THEN 'mail' WHEN 2 THEN 'tg' WHEN 3 THEN 'vk' ELSE 'wa' END,
       CASE i % 5 WHEN 0 THEN 'webform' WHEN 1 THEN 'email' WHEN 2 THEN 'telegram' WHEN 3 THEN 'vk' ELSE 'whatsapp' END,
       strftime('%Y-%m-%dT%H:%M:%S.000000Z', '2026-12-01', printf('-%d seconds', ($N - i) * 31)),
       strftime('%Y-%m-%dT%H:%M:%S.000000Z', '2026-12-01', printf('-%d seconds', ($N - i) * 31)),
       CASE WHEN i % 10 = 0 THEN 'held' WHEN i % 3 = 0 THEN 'assigned' ELSE 'acknowledged' END,
       CASE WHEN i % 4 = 0 THEN 'senior' ELSE 'junior' END,
       'Всё остальное',
       CASE WHEN i % 10 = 0 THEN NULL ELSE CASE i % 3 WHEN 0 THEN 'anna' WHEN 1 THEN 'boris' ELSE 'vera' END END,
       'bench',
       json_object('schema', 'leadgate.lead.v1', 'id', printf('lead-%08d', i),
                   'contact', json_object('name', printf('Клиент %d', i), 'emails', json_array(printf('client%d@example.ru', i)),
                                          'phones', json_array(printf('+7916%07d', i))),
                   'text', printf('Нужна смета на ремонт, заявка номер %d', i)),
       '{}'
FROM seq;
INSERT INTO lead_contacts (key, lead_id, at)
SELECT printf('phone:+7916%07d', i), printf('lead-%08d', i), '2026-01-01T00:00:00.000000Z' FROM seq;
INSERT INTO lead_contacts (key, lead_id, at)
SELECT printf('email:client%d@example.ru', i), printf('lead-%08d', i), '2026-01-01T00:00:00.000000Z' FROM seq;
-- Every item a lead was made from, and one kept out for every ten leads.
INSERT INTO inbound (id, source, channel, dedupe_key, received_at, payload, status, lead_id, processed_at)
SELECT printf('in-%08d', i), 'site', 'webform', printf('k%d', i),
       strftime('%Y-%m-%dT%H:%M:%S.000000Z', '2026-12-01', printf('-%d seconds', ($N - i) * 31)),
       CAST(printf('phone=%%2B7916%07d', i) AS BLOB), 'lead', printf('lead-%08d', i), '2026-12-01T00:00:00.000000Z'
FROM seq;
INSERT INTO inbound (id, source, channel, dedupe_key, received_at, payload, status, reason, detail, processed_at)
SELECT printf('nl-%08d', i), 'mail', 'email', printf('nl%d', i),
       strftime('%Y-%m-%dT%H:%M:%S.000000Z', '2026-12-01', printf('-%d seconds', ($N - i) * 31 + 7)),
       CAST('Subject: Out of office' AS BLOB), 'not_lead',
       CASE i % 3 WHEN 0 THEN 'auto_reply' WHEN 1 THEN 'spam' ELSE 'bulk' END, 'Auto-Submitted: auto-replied',
       '2026-12-01T00:00:00.000000Z'
FROM seq WHERE i % 10 = 0;
-- One delivery per lead; one in a thousand dead.
INSERT INTO outbox (lead_id, sink, event_id, event_type, body, status, attempts, created_at, retry_since, next_attempt_at, last_error, delivered_at)
SELECT printf('lead-%08d', i), 'crm', printf('ev-%08d', i), 'lead.created', '{}',
       CASE WHEN i % 1000 = 0 THEN 'dead' ELSE 'delivered' END, 1,
       '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z',
       CASE WHEN i % 1000 = 0 THEN 'HTTP 422' END, '2026-12-01T00:00:00.000000Z'
FROM seq;
-- Every assigned lead's assignment (the report's daily totals follow by trigger).
INSERT INTO assignments (lead_id, manager_id, level, strategy, attempt, assigned_at, state)
SELECT id, manager_id, level, 'round_robin', 1, received_at, 'active' FROM leads WHERE manager_id IS NOT NULL;
-- 0012's daily totals, which triggers fill as deliveries and declines happen: every lead's
-- time to the CRM (spread over four buckets), and one assignment in fifty declined.
INSERT INTO report_crm (day, source, channel, c0, c1, c2, c3)
SELECT substr(received_at, 1, 10), source, channel, SUM(i % 4 = 0), SUM(i % 4 = 1), SUM(i % 4 = 2), SUM(i % 4 = 3)
FROM (SELECT received_at, source, channel, CAST(substr(id, 6) AS INTEGER) AS i FROM leads)
GROUP BY 1, 2, 3;
INSERT INTO report_declines (day, manager_id, level, reason, n)
SELECT substr(received_at, 1, 10), manager_id, level,
       CASE CAST(substr(id, 6) AS INTEGER) % 3 WHEN 0 THEN 'busy' WHEN 1 THEN 'not_mine' ELSE 'spam' END, COUNT(*)
FROM leads WHERE manager_id IS NOT NULL AND CAST(substr(id, 6) AS INTEGER) % 50 = 0
GROUP BY 1, 2, 3, 4;
COMMIT;
ANALYZE;
SQL
echo "filled in $(( $(date +%s) - T0 )) s; $(du -h "$DIR/leadgate.db" | cut -f1)"

start
COOKIE=$(curl -s -o /dev/null -D - -d "token=$TOKEN" "http://127.0.0.1:$PORT/admin/sign-in" \
  | grep -i '^set-cookie:' | sed -E 's/^[Ss]et-[Cc]ookie: ([^;]*).*/\1/')
[ -n "$COOKIE" ] || { echo "sign-in failed"; exit 1; }

MID=$(sqlite3 "$DIR/leadgate.db" "SELECT received_at || ' ' || id FROM leads ORDER BY received_at DESC, id DESC LIMIT 1 OFFSET $((N / 2))")
MID_AT=$(echo "$MID" | cut -d' ' -f1 | sed 's/+/%2B/g; s/:/%3A/g')
MID_ID=$(echo "$MID" | cut -d' ' -f2)
SOME=$((N / 3))
PAGES=(
  "/admin/leads"
  "/admin/leads?after_at=$MID_AT&after_id=$MID_ID"
  "/admin/leads?channel=telegram"
  "/admin/leads?source=vk&status=held"
  "/admin/leads?manager=vera"
  "/admin/leads?level=senior&since=2026-06-01&until=2026-06-30"
  "/admin/leads?q=%2B7916$(printf '%07d' $SOME)"
  "/admin/leads?q=client$SOME%40example.ru"
  "/admin/leads?q=%D0%9A%D0%BB%D0%B8%D0%B5%D0%BD%D1%82%20$SOME"
  "/admin/leads/lead-$(printf '%08d' $SOME)"
  "/admin/leads.csv?manager=anna&since=2026-11-30"
  "/admin/not-leads"
  "/admin/not-leads?reason=spam"
  "/admin/not-leads/nl-$(printf '%08d' $(( (N - 1) / 10 * 10 )))"
  "/admin/dead-letters"
  "/admin/rules"
  "/admin/reports"
  "/admin/reports?since=2026-11-01&until=2026-11-30"
  "/admin/reports?since=2025-12-02&until=2026-12-01"
  "/admin/reports/days.csv?since=2025-12-02&until=2026-12-01"
  "/admin/reports/declines.csv?since=2025-12-02&until=2026-12-01"
)
printf '%-72s %6s %8s\n' "page ($N leads)" "status" "ms"
for p in "${PAGES[@]}"; do
  best=""
  for _ in 1 2 3; do
    out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$p")
    code=${out% *}; t=$(awk -v s="${out#* }" 'BEGIN { printf "%.1f", s * 1000 }')
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
  done
  printf '%-72s %6s %8s\n' "${p:0:72}" "$code" "$best"
done
