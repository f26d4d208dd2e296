#!/bin/bash
# bench/monitor.sh — how long a monitor of a running domain takes: ferry's vm
# agent against resource-agents' VirtualDomain, on the same domain, in a lab
# host with a real libvirtd. Prints figures; it is a measurement, not a test.
#
#   bench/monitor.sh [RUNS]        (default 50; needs root and a built agent)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
RUNS=${1:-50}
AGENT=$top/agents/vm
VD=${VIRTUALDOMAIN:-/usr/lib/ocf/resource.d/heartbeat/VirtualDomain}
LAB=$top/tests/lab/lab.sh
OUT=$top/tests/guests/out
export FERRY_LAB_DIR=/var/tmp/ferry-bench-monitor

[ "$(id -u)" = 0 ] || { echo "bench/monitor.sh: needs root (the lab)" >&2; exit 1; }
[ -x "$AGENT" ] || { echo "bench/monitor.sh: build first (./bootstrap.sh)" >&2; exit 1; }
[ -x "$VD" ] || { echo "bench/monitor.sh: $VD missing (apt-get install resource-agents)" >&2; exit 1; }
"$top/tests/guests/build.sh" "$OUT"
trap '"$LAB" down >/dev/null 2>&1 || true' EXIT
"$LAB" up 1 >/dev/null
eval "$("$LAB" env)"
mkdir -p "$FERRY_LAB_SHARED/artifacts"
cp "$OUT/ferry-bm.elf" "$FERRY_LAB_SHARED/artifacts/"
xml=$FERRY_LAB_SHARED/bench.xml
"$top/tests/guests/mkdomain.sh" --name bench --artifacts "$FERRY_LAB_SHARED/artifacts" >"$xml"

# Everything below runs inside the host, so lab.sh's own start-up is not timed.
"$LAB" exec node1 env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin RUNS="$RUNS" AGENT="$AGENT" VD="$VD" \
    XML="$xml" bash -s <<'INNER'
set -eu
export OCF_ROOT=/usr/lib/ocf OCF_RA_VERSION_MAJOR=1 OCF_RA_VERSION_MINOR=1 OCF_RESOURCE_INSTANCE=bench \
    OCF_RESKEY_CRM_meta_timeout=30000 OCF_RESKEY_config=$XML HA_LOGFACILITY=none HA_debug=0
"$AGENT" start 2>/dev/null

# measure NAME CMD...: RUNS timed runs (after one warm-up), then min/median/p90/max ms,
# the peak RSS of one run, and how many processes one run starts.
measure() {
    local name=$1; shift
    local i t0 t1 rc times=() rss procs
    "$@" >/dev/null 2>&1 || true
    for ((i = 0; i < RUNS; i++)); do
        t0=$(date +%s%N)
        rc=0; "$@" >/dev/null 2>&1 || rc=$?
        t1=$(date +%s%N)
        [ "$rc" = 0 ] || { echo "$name: run $i returned $rc" >&2; exit 1; }
        times+=( $(( (t1 - t0) / 1000 )) )
    done
    rss=$(/usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1)
    procs=$(strace -f -qq -e trace=execve -o /dev/stdout "$@" 2>/dev/null | grep -c 'execve(' || true)
    printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" -v rss="$rss" -v procs="$procs" '
        { t[NR] = $1 }
        END {
            p90 = t[int(NR * 0.9 + 0.5)]; med = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
            printf "| %-34s | %8.2f | %8.2f | %8.2f | %8.2f | %9d | %5d |\n", name, t[1] / 1000, med / 1000, p90 / 1000, t[NR] / 1000, rss, procs - 1
        }'
}

printf 'monitor of a running domain, %d runs each, inside a lab host (libvirt %s, 2 cores)\n\n' \
    "$RUNS" "$(virsh -c qemu:///system version 2>/dev/null | sed -n 's/^Using library: libvirt //p')"
printf '| %-34s | %8s | %8s | %8s | %8s | %9s | %5s |\n' agent "min ms" "median" "p90" "max" "RSS KiB" "execs"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' ------------------------------------ ---------- ---------- ---------- ---------- ----------- -------
OCF_RESKEY_CRM_meta_interval=10000 measure "ferry vm monitor" "$AGENT" monitor
measure "ferry vm probe (interval 0)" "$AGENT" monitor
OCF_RESKEY_CRM_meta_interval=10000 measure "VirtualDomain monitor" "$VD" monitor
measure "VirtualDomain probe (interval 0)" "$VD" monitor
"$AGENT" stop >/dev/null 2>&1
INNER
