#!/bin/bash
# bench/part_scale.sh — part 2 of bench/run.sh: BENCH_SCALE_N running domains
# on one host, each monitored every 10 s as Pacemaker would (recurring monitor,
# interval 10 s, the starts spread evenly over the interval), for
# BENCH_SCALE_WINDOW seconds per window: the CPU share of one core the
# monitors take (agent process trees), and what libvirtd and the CIB daemon
# spend serving them.  ferry, VirtualDomain with utilization off and with its
# defaults take turns window by window, BENCH_SCALE_ROUNDS windows each.
set -euo pipefail
PART=scale
. "$(dirname "$0")/lib.sh"
N=${BENCH_SCALE_N:-50}
WINDOW=${BENCH_SCALE_WINDOW:-60}
ROUNDS=${BENCH_SCALE_ROUNDS:-2}
PERIOD=10
MEM=32
OUT=$BENCH_WORK/$PART
mkdir -p "$OUT"
RAW=$OUT/raw.txt
CFGS=(ferry vd-off vd-def)
raw_begin n="$N" window="$WINDOW" rounds="$ROUNDS" period="$PERIOD" mem="$MEM"

if [ "$REPORT_ONLY" != 1 ]; then
lab_start 2 --cluster
crm=$FERRY_LAB_DIR/scale.crm
echo "property maintenance-mode=true" >"$crm"
for ((i = 1; i <= N; i++)); do
    idle_xml "s$i" "$MEM" >"$FERRY_LAB_SHARED/s$i.xml"
    echo "primitive p_s$i ocf:heartbeat:VirtualDomain params config=\"$FERRY_LAB_SHARED/s$i.xml\" hypervisor=\"qemu:///system\" meta is-managed=false" >>"$crm"
done
"$CLUSTER" crm node1 configure load update "$crm" >/dev/null 2>&1 || die "loading $crm into the CIB failed"
note "starting $N domains of $MEM MiB on node1"
for ((i = 1; i <= N; i++)); do
    virsh_on node1 create "$FERRY_LAB_SHARED/s$i.xml" >/dev/null || die "virsh create s$i failed"
done
running=$(virsh_on node1 list --state-running --name | grep -c . || true)
[ "$running" -ge "$N" ] || die "only $running of $N domains run"
"$CLUSTER" wait-idle 120 >/dev/null || die "cluster not idle"
LV=$(daemon_pid node1 libvirtd)
CIB=$(pcmk_based_pid node1) || die "no pacemaker-based on node1"
echo "kind=info mem_used_mib=$(free -m | awk '/^Mem:/ { print $3 }')" >>"$RAW"

window() {   # CFG ROUND
    local cfg=$1 r=$2 words prog envw line
    mapfile -t words < <(cfg_words "$cfg")
    prog=${words[-1]}
    unset 'words[-1]'
    mapfile -t envw < <(ocf_env node1 p_sN 20000)
    line=$(on node1 env -i "${envw[@]}" "${words[@]}" OCF_RESKEY_CRM_meta_interval=$((PERIOD * 1000)) \
        "$BIN/runstat" sched -P $((PERIOD * 1000)) -W $((WINDOW * 1000)) -N "$N" -d "$LV" -d "$CIB" \
        -e "OCF_RESKEY_config=$FERRY_LAB_SHARED/s%d.xml" -e "OCF_RESOURCE_INSTANCE=p_s%d" -- "$prog" monitor)
    echo "cfg=$cfg round=$r $line" >>"$RAW"
    note "$cfg window $r: $line"
}
note "warm-up: one monitor of every domain per configuration (not measured)"
for c in "${CFGS[@]}"; do
    mapfile -t words < <(cfg_words "$c")
    prog=${words[-1]}
    unset 'words[-1]'
    mapfile -t envw < <(ocf_env node1 p_sN 20000)
    on node1 env -i "${envw[@]}" "${words[@]}" "$BIN/runstat" sched -P 2000 -W 2000 -N "$N" \
        -e "OCF_RESKEY_config=$FERRY_LAB_SHARED/s%d.xml" -e "OCF_RESOURCE_INSTANCE=p_s%d" -- "$prog" monitor >/dev/null
done
for ((r = 1; r <= ROUNDS; r++)); do
    for c in "${CFGS[@]}"; do window "$c" "$r"; done
done
fi
N=$(info n "$N") WINDOW=$(info window "$WINDOW") ROUNDS=$(info rounds "$ROUNDS") PERIOD=$(info period "$PERIOD")
MEM=$(info mem "$MEM") mem_used=$(info mem_used_mib "?")

# ------------------------------------------------------------------ tables
share() {   # CFG KEY...: per window, 100 * sum(KEYS) / window, min med max
    local cfg=$1
    shift
    { grep "^cfg=$cfg " "$RAW" || true; } | awk -v keys="$*" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        n = split(keys, k, " "); s = 0; for (i = 1; i <= n; i++) s += v[k[i]]
        print 100 * s / v["window_us"] }' | mmm 1 2
}
{
    echo "### 2. Scale: $N domains, a monitor of each every ${PERIOD} s"
    echo
    echo "$N domains **running** on one lab host (idle SeaBIOS guests of $MEM MiB each: no OS, the vCPU"
    echo "halts, so the guests themselves cost almost nothing; memory in use on the machine with them:"
    echo "$mem_used MiB). Pacemaker (maintenance mode) holds a VirtualDomain primitive per domain, so"
    echo "VirtualDomain's utilization updates reach a real CIB. \`runstat sched\` starts one monitor"
    echo "(\`OCF_RESKEY_CRM_meta_interval=10000\`) every $((PERIOD * 1000 / N)) ms, each domain every ${PERIOD} s, for a ${WINDOW} s window,"
    echo "like pacemaker-execd running $N recurring monitors; $ROUNDS windows per agent, the agents taking"
    echo "turns window by window. *CPU share* is the user+sys time of all monitor process trees divided"
    echo "by the window (100 % = one core of the $(nproc)); *daemons* is what libvirtd and pacemaker-based spent"
    echo "in the same window (including their own idle activity, the same for every agent)."
    echo
    echo "| agent | monitors per window | failed | CPU share of one core, % | daemons, % of one core | mean monitor wall ms |"
    echo "|---|---:|---:|---|---|---|"
    for c in "${CFGS[@]}"; do
        runs=$(col "$RAW" runs cfg="$c" | mmm 1 0 | cut -d' ' -f2)
        failed=$(col "$RAW" failed cfg="$c" | awk '{ s += $1 } END { print s + 0 }')
        printf '| %s | %s | %s | %s | %s | %s |\n' "$(cfg_label "$c")" "$runs" "$failed" \
            "$(cell "$(share "$c" user_us sys_us)")" "$(cell "$(share "$c" daemon_us)")" \
            "$(cell "$(col "$RAW" act_mean_us cfg="$c" | mmm 1000 1)")"
    done
    echo
} >"$OUT/section.md"
f=$(share ferry user_us sys_us | cut -d' ' -f2)
off=$(share vd-off user_us sys_us | cut -d' ' -f2)
def=$(share vd-def user_us sys_us | cut -d' ' -f2)
{
    echo "- **scale** ($N running domains, a monitor each every ${PERIOD} s): ferry's monitors take **${f} %** of one core,"
    echo "  VirtualDomain's ${off} % with utilization off ($(ratio "$off" "$f")×) and ${def} % with its defaults ($(ratio "$def" "$f")×)."
} >"$OUT/headline.md"
{
    lossline "scale, CPU share of one core, vs utilization off" % "$(share ferry user_us sys_us)" "$(share vd-off user_us sys_us)"
    lossline "scale, CPU share of one core, vs defaults" % "$(share ferry user_us sys_us)" "$(share vd-def user_us sys_us)"
} >"$OUT/losses.md"
note "done"
