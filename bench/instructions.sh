#!/usr/bin/env bash
# What a lead costs in instructions: the daemon (release) runs under valgrind's callgrind, takes
# N web-form posts (16 at a time; Cyrillic text, phones in Russian spellings, one in five a new
# person and the others the same people writing again, as in the peer benchmark's workload),
# routes them over five managers and delivers them to a file sink. The count runs from after a
# warm-up until the sink holds every lead, so it is the same on a busy machine as on a quiet one:
# compare two commits with it where wall-clock figures would drift (user-space instructions;
# the kernel's work, fsyncs and thread switches are not in it, bench/load.sh shows those).
#   bench/instructions.sh [N]            # default 1000
#   LEADGATE_BIN=path/to/leadgate bench/instructions.sh 1000   # skip the build
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
source bench/daemon.sh
needs valgrind curl
leadgate_bin
fresh_store
cat >> "$DIR/leadgate.toml" <<TOML
[business]
phone_region = "RU"
[[sinks.file]]
id = "crm"
path = "$DIR/delivered.jsonl"
TOML
{
    printf 'levels = ["junior", "senior"]\nstrategy = "round_robin"\nprefer_previous_manager = false\n'
    printf '[sla]\nack_within = "30m"\nworking_hours_only = false\n'
    for m in anna:senior boris:senior vera:junior gleb:junior dmitry:junior; do
        printf '[[managers]]\nid = "%s"\nname = "%s"\nlevel = "%s"\nhours = "daily 00:00-24:00"\nworks_holidays = true\n' \
            "${m%%:*}" "${m%%:*}" "${m##*:}"
    done
    printf '[[rules]]\nname = "wholesale"\nwhen = { text_contains = ["опт", "тендер"] }\nlevel = "senior"\n'
    printf '[[rules]]\nname = "the rest"\nlevel = "junior"\n'
} > "$DIR/routing.toml"
start_daemon "$DIR" "$PORT" warn valgrind --tool=callgrind --callgrind-out-file="$DIR/callgrind.out"
delivered() { [ -f "$DIR/delivered.jsonl" ] && wc -l < "$DIR/delivered.jsonl" || echo 0; }
post() {  # post FIRST COUNT: COUNT leads from number FIRST, 16 at a time
    python3 - "$PORT" "$1" "$2" <<'PY'
import sys, urllib.request, urllib.parse, concurrent.futures
port, first, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
texts = ["Здравствуйте! Интересует оптовая поставка офисной бумаги, 200 коробок в месяц.",
         "Добрый день. Сколько стоит доставка одной коробки в Подольск?",
         "Мы проводим тендер на поставку канцтоваров, пришлите коммерческое предложение.",
         "Подскажите, есть ли в наличии бумага А4 плотностью 80 г/м²?"]
phones = ["8 (916) 555-%02d-%02d", "+7 916 555 %02d %02d", "8-916-555-%02d-%02d", "916555%02d%02d"]
def post(i):
    v = i % 4
    body = urllib.parse.urlencode({"name": "Ирина Ковалёва", "phone": phones[v] % (i % 400 // 100, i % 100),
        "email": "Lead.N%d@Example.RU" % i, "message": texts[v], "utm_source": "yandex"}).encode()
    req = urllib.request.Request("http://127.0.0.1:%d/forms/site" % port, data=body,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    return urllib.request.urlopen(req, timeout=300).status
with concurrent.futures.ThreadPoolExecutor(16) as pool:
    codes = list(pool.map(post, range(first, first + count)))
bad = [c for c in codes if c >= 300]
if bad:
    sys.exit("%d posts were refused" % len(bad))
PY
}
wait_for() { for _ in $(seq 1200); do [ "$(delivered)" -ge "$1" ] && return 0; sleep 0.5; done; echo "the sink got $(delivered) of $1" >&2; exit 1; }
post 1000000 50   # warm-up: the phone metadata, the connections, the caches
wait_for 50
sleep 2
callgrind_control -z "$PID" >/dev/null
post 0 "$N"
wait_for $((N + 50))
callgrind_control -d "$PID" >/dev/null
sleep 1
TOTAL=$(grep -h '^summary:' "$DIR"/callgrind.out.* | awk '{s += $2} END {print s}')
echo "leads: $N  instructions: $TOTAL  per lead: $((TOTAL / N))"
# zlib-rs clears a 128 KiB hash table before each packed value with `rep stosb`, which
# valgrind counts once per byte: about 30 % of the count, under 2 % of the time in `perf`.
RESET=$(callgrind_annotate --inclusive=yes --threshold=100 "$DIR/callgrind.out.1" 2>/dev/null |
    awk '/:zlib_rs::deflate::reset / && !n {gsub(",", "", $1); n = $1} END {print n + 0}')
echo "of which deflate's table reset: $((${RESET:-0} / N)) per lead; without it: $(((TOTAL - ${RESET:-0}) / N)) per lead"
echo "== where they go (inclusive, per lead, leadgate's own functions)"
callgrind_annotate --inclusive=yes --threshold=100 "$DIR/callgrind.out.1" 2>/dev/null |
    python3 -c '
import re, sys
n = int(sys.argv[1]); shown = 0
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+[^:]*:(leadgate::\S+)", line)
    if m and not m.group(2).endswith("}}") and shown < 25:
        print("%10d  %s" % (int(m.group(1).replace(",", "")) // n, m.group(2))); shown += 1
' "$N"
