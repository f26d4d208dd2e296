#!/bin/bash
# bench/migrate.sh — live downtime and pause outage of an idle 256 MiB guest,
# migrated by the agent between two lab hosts, RUNS times each way and mode
# (min / median / max), next to the link's measured TCP bandwidth.
# A measurement that prints figures, not a test.
#
#   bench/migrate.sh [RUNS]          (default 10; root; ./bootstrap.sh first)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
RUNS=${1:-10}
AGENT=$top/agents/vm
LAB=$top/tests/lab/lab.sh
OUT=$top/tests/guests/out
export FERRY_LAB_DIR=/var/tmp/ferry-bench-migrate

[ "$(id -u)" = 0 ] || { echo "bench/migrate.sh: needs root (the lab)" >&2; exit 1; }
[ -x "$AGENT" ] || { echo "bench/migrate.sh: build first (./bootstrap.sh)" >&2; exit 1; }
"$top/tests/guests/build.sh" "$OUT"
gcc -O2 -Wall -o "$OUT/tcpbench" "$here/tcpbench.c"
if [ -e "$FERRY_LAB_DIR" ]; then "$LAB" down >/dev/null 2>&1 || true; fi
trap '"$LAB" down >/dev/null 2>&1 || true' EXIT
"$LAB" up 2 --ticks "$OUT/ferry-ticks" >/dev/null
eval "$("$LAB" env)"
mkdir -p "$FERRY_LAB_SHARED/artifacts"
cp "$OUT/ferry-bm.elf" "$FERRY_LAB_SHARED/artifacts/"
xml=$FERRY_LAB_SHARED/bench.xml
# idle: the guest rewrites nothing (its vCPU still spins, sending heartbeats)
"$top/tests/guests/mkdomain.sh" --name bench --os bm --mem 256 --dirty 0 \
    --artifacts "$FERRY_LAB_SHARED/artifacts" --collector "$FERRY_LAB_COLLECTOR" >"$xml"

link() {   # MiB/s over TCP node1 -> node2 on the management network
    "$LAB" exec node2 "$OUT/tcpbench" listen 5201 &
    local l=$!
    sleep 0.3
    "$LAB" exec node1 "$OUT/tcpbench" send node2 5201 1024
    wait "$l"
}
agent() {
    local host=$1 action=$2
    shift 2
    "$LAB" exec "$host" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin OCF_ROOT=/usr/lib/ocf \
        OCF_RA_VERSION_MAJOR=1 OCF_RA_VERSION_MINOR=1 OCF_RESOURCE_INSTANCE=p_bench \
        OCF_RESKEY_CRM_meta_timeout=120000 OCF_RESKEY_config="$xml" HA_LOGFACILITY=none \
        "$@" "$AGENT" "$action"
}
field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2" | tail -n 1; }
stats() {  # min / median / max of the numbers on stdin
    sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
        printf "%6d / %6d / %6d", v[1], m, v[NR] }'
}

bw=$(link)
agent node1 start 2>/dev/null
"$OUT/ferry-ticks" wait "$FERRY_LAB_DIR/ticks.log" bench --count 50 --timeout-ms 30000 >/dev/null
results=$FERRY_LAB_DIR/results.txt
: >"$results"
host=node1
for mode in live pause; do
    for ((i = 0; i < RUNS * 2; i++)); do
        other=$([ $host = node1 ] && echo node2 || echo node1)
        since=$(( $(date +%s%N) / 1000000 ))
        err=$(agent $host migrate_to OCF_RESKEY_migrate=$mode OCF_RESKEY_CRM_meta_migrate_source=$host \
              OCF_RESKEY_CRM_meta_migrate_target=$other 2>&1 >/dev/null) || { echo "migrate_to failed: $err" >&2; exit 1; }
        agent $other migrate_from OCF_RESKEY_CRM_meta_migrate_source=$host OCF_RESKEY_CRM_meta_migrate_target=$other 2>/dev/null
        agent $host stop 2>/dev/null
        "$OUT/ferry-ticks" wait "$FERRY_LAB_DIR/ticks.log" bench --count 10 --timeout-ms 10000 \
            --since "$(( $(date +%s%N) / 1000000 ))" >/dev/null || true
        gap=$("$OUT/ferry-ticks" report "$FERRY_LAB_DIR/ticks.log" bench --since "$since" | sed -n 's/^max_gap_ms=//p')
        line=$(grep -o 'domain=bench .*' <<<"$err" | tail -n 1)
        echo "$mode $(field downtime_ms "$line") $(field pause_ms "$line") $(field total_ms "$line") ${gap:-0} $(field bytes "$line")" >>"$results"
        host=$other
    done
done
agent $host stop OCF_RESKEY_force_stop=true 2>/dev/null

printf 'idle 256 MiB guest (KVM, bare-metal test guest), %d migrations per mode, alternating node1 <-> node2\n' $((RUNS * 2))
printf 'link: %s MiB/s TCP on the management network (1 GiB, one stream, veth + bridge)\n\n' "$bw"
printf '| mode  | libvirt downtime ms    | agent-measured pause ms | guest tick gap ms      | migrate_to total ms    | MiB sent |\n'
printf '|-------|------------------------|-------------------------|------------------------|------------------------|----------|\n'
for mode in live pause; do
    printf '| %-5s | %s | %s | %s | %s | %8.1f |\n' $mode \
        "$(awk -v m=$mode '$1 == m { print $2 }' "$results" | stats)" \
        "$(if [ $mode = pause ]; then awk '$1 == "pause" && $3 >= 0 { print $3 }' "$results" | stats; echo " "; else printf '%-24s' '(running: no pause)'; fi)" \
        "$(awk -v m=$mode '$1 == m { print $5 }' "$results" | stats)" \
        "$(awk -v m=$mode '$1 == m { print $4 }' "$results" | stats)" \
        "$(awk -v m=$mode '$1 == m { s += $6; n++ } END { print s / n / 1048576 }' "$results")"
done
echo
echo "(min / median / max; the tick gap is the longest silence in the guest's 20 ms heartbeat, so it"
echo " includes up to one tick period and the collector's scheduling on this 2-core machine)"
