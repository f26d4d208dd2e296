#!/bin/bash
# bench/part_actions.sh — part 1 of bench/run.sh: what one action costs.
#
# monitor of a running domain, meta-data, validate-all, stop (force_stop=true:
# destroy) and start, for ferry and VirtualDomain, each with its defaults and
# with utilization updates off; monitor also for the floor (bench/floor.c).
# Run inside one lab host whose Pacemaker cluster is in maintenance mode and
# holds a primitive p_bench, so that the agents' crm_resource calls (utilization)
# reach a real CIB as they do in production.
# Configurations alternate run by run.  Wall and CPU time come from runstat
# (wait4's rusage covers every descendant), processes from one separate
# strace -f run per action and configuration.
#
# Run by bench/run.sh (BENCH_WORK set); BENCH_RUNS_LAT runs per figure.
set -euo pipefail
PART=actions
. "$(dirname "$0")/lib.sh"
RUNS=${BENCH_RUNS_LAT:-30}
OUT=$BENCH_WORK/$PART
mkdir -p "$OUT"
RAW=$OUT/raw.txt
MON=(floor ferry ferry-off vd-off vd-def)
AGENTS=(ferry ferry-off vd-off vd-def)
raw_begin runs="$RUNS"

if [ "$REPORT_ONLY" != 1 ]; then
lab_start 2 --cluster
XML=$FERRY_LAB_SHARED/bench.xml
idle_xml bench 64 >"$XML"
crm=$FERRY_LAB_DIR/bench.crm
cat >"$crm" <<CRM
property maintenance-mode=true
primitive p_bench ocf:heartbeat:VirtualDomain params config="$XML" hypervisor="qemu:///system" meta is-managed=false
CRM
"$CLUSTER" crm node1 configure load update "$crm" >/dev/null 2>&1 || die "loading $crm into the CIB failed"
"$CLUSTER" wait-idle 60 >/dev/null || die "cluster not idle"
LV=$(daemon_pid node1 libvirtd)
CIB=$(pcmk_based_pid node1) || die "no pacemaker-based on node1"
note "libvirtd pid $LV, pacemaker-based pid $CIB"

run_agent node1 ferry start p_bench 60000 OCF_RESKEY_config="$XML" || die "ferry start of the bench domain failed"

# one ACTION CFG RUN: one measured run, appended to raw.txt
one() {
    local action=$1 cfg=$2 i=$3 line tmo=20000 extra=()
    case $action in
        start|stop) tmo=60000 ;;
    esac
    [ "$action" = monitor ] && extra+=(OCF_RESKEY_CRM_meta_interval=10000)
    [ "$action" = stop ] && extra+=(OCF_RESKEY_force_stop=true)
    if [ "$cfg" = floor ]; then
        line=$(on node1 env -i PATH=/usr/bin:/bin "$BIN/runstat" -d "$LV" -d "$CIB" -- "$BIN/floor" qemu:///system bench)
    else
        line=$(measure node1 "$cfg" "$action" p_bench "$tmo" -d "$LV" -d "$CIB" -- \
            OCF_RESKEY_config="$XML" "${extra[@]}")
    fi
    echo "kind=time action=$action cfg=$cfg run=$i $line" >>"$RAW"
}
# straced ACTION CFG: processes and programs one run starts (not timed)
straced() {
    local action=$1 cfg=$2 st=$OUT/strace-$1-$2.txt words envw prog extra=()
    [ "$action" = monitor ] && extra+=(OCF_RESKEY_CRM_meta_interval=10000)
    [ "$action" = stop ] && extra+=(OCF_RESKEY_force_stop=true)
    local tr=(strace -f -qq -e 'trace=clone,clone3,fork,vfork,execve' -e status=successful -o "$st" --)
    if [ "$cfg" = floor ]; then
        on node1 env -i PATH=/usr/bin:/bin "${tr[@]}" "$BIN/floor" qemu:///system bench >/dev/null 2>&1 || true
    else
        mapfile -t words < <(cfg_words "$cfg")
        prog=${words[-1]}
        unset 'words[-1]'
        mapfile -t envw < <(ocf_env node1 p_bench 60000)
        on node1 env -i "${envw[@]}" "${words[@]}" OCF_RESKEY_config="$XML" "${extra[@]}" \
            "${tr[@]}" "$prog" "$action" >/dev/null 2>&1 || true
    fi
    # the first execve is the traced program itself
    awk -v a="$action" -v c="$cfg" '
        /execve\(/ { e++ }
        /(clone|clone3|fork|vfork)\(/ { if ($0 ~ /CLONE_THREAD/) t++; else p++ }
        END { printf "kind=procs action=%s cfg=%s forks=%d execs=%d threads=%d\n", a, c, p, (e > 0 ? e - 1 : 0), t }' "$st" >>"$RAW"
}

note "warm-up (not measured)"
for c in "${MON[@]}"; do one monitor "$c" 0; done
sed -i '/run=0 /d' "$RAW"

note "monitor of the running domain: $RUNS runs x ${#MON[@]} configurations, alternating"
for ((i = 1; i <= RUNS; i++)); do
    for c in "${MON[@]}"; do one monitor "$c" "$i"; done
done
note "process counts of monitor (strace -f, one run each, same state as the timed runs)"
for c in "${MON[@]}"; do straced monitor "$c"; done
note "meta-data and validate-all: $RUNS runs x ${#AGENTS[@]}"
for ((i = 1; i <= RUNS; i++)); do
    for c in "${AGENTS[@]}"; do one meta-data "$c" "$i"; one validate-all "$c" "$i"; done
done
note "stop (force_stop=true) and start: $RUNS runs x ${#AGENTS[@]}"
for ((i = 1; i <= RUNS; i++)); do
    for c in "${AGENTS[@]}"; do one stop "$c" "$i"; one start "$c" "$i"; done
done
note "process counts of the other actions (strace -f, one run each)"
for c in "${AGENTS[@]}"; do
    straced meta-data "$c"
    straced validate-all "$c"
    straced stop "$c"
    straced start "$c"
done
rm -f "$OUT"/strace-*.txt
run_agent node1 ferry stop p_bench 60000 OCF_RESKEY_config="$XML" OCF_RESKEY_force_stop=true || true
fi
RUNS=$(info runs "$RUNS")

# ------------------------------------------------------------------ tables
{
    echo "### 1. Action cost"
    echo
    echo "One lab host (its own libvirtd; Pacemaker running in maintenance mode with a primitive"
    echo "\`p_bench\`, so the agents' \`crm_resource\` calls for utilization reach a real CIB), an idle 64 MiB"
    echo "SeaBIOS domain. *utilization off*: \`autoset_utilization_cpu=false autoset_utilization_hv_memory=false\`"
    echo "(both agents have these parameters, both default to true). $RUNS runs per row, the configurations of an action alternating run by run, after"
    echo "one unmeasured warm-up run each. *wall*: fork to exit of the agent. *CPU*: user+sys of the agent"
    echo "and every process it waited for (\`wait4\` rusage). *daemons*: CPU that libvirtd and"
    echo "pacemaker-based spent meanwhile (their threads' \`schedstat\` run time; for start and stop,"
    echo "where libvirtd starts or ends a domain's thread, their process CPU time to the 10 ms clock tick;"
    echo "other cluster daemons and the machine's other load are not in it). QEMU's own CPU is not in any"
    echo "column. *processes* / *programs*: \`clone\`/\`fork\` calls"
    echo "that made a process (not a thread) and \`execve\` calls, counted by \`strace -f\` in a separate"
    echo "run. Stop runs with \`force_stop=true\` for every agent (destroy: the test domain has no OS to"
    echo "answer an ACPI shutdown, so a graceful stop would only measure the agents' waiting time)."
    echo "min / **median** / max; times in ms."
    echo
    echo "| action | agent | wall ms | CPU ms | daemons ms (median) | processes | programs | threads | rc≠0 |"
    echo "|---|---|---|---|---|---:|---:|---:|---:|"
    for a in monitor meta-data validate-all stop start; do
        if [ "$a" = monitor ]; then cfgs=("${MON[@]}"); else cfgs=("${AGENTS[@]}"); fi
        for c in "${cfgs[@]}"; do
            w=$(col "$RAW" wall_us kind=time action="$a" cfg="$c" | mmm 1000 1)
            cpu=$(awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } print v["user_us"] + v["sys_us"] }' \
                < <(grep " action=$a cfg=$c " "$RAW" | grep kind=time) | mmm 1000 1)
            d=$(col "$RAW" daemon_us kind=time action="$a" cfg="$c" | mmm 1000 1 | cut -d' ' -f2)
            bad=$(col "$RAW" rc kind=time action="$a" cfg="$c" | grep -vcx 0 || true)
            pr=$(grep "kind=procs action=$a cfg=$c " "$RAW" | tail -n 1)
            printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$a" "$(cfg_label "$c")" "$(cell "$w")" "$(cell "$cpu")" \
                "$d" "$(field forks <<<"$pr")" "$(field execs <<<"$pr")" "$(field threads <<<"$pr")" "$bad"
        done
    done
    echo
} >"$OUT/section.md"

# goals (issue 5): medians of monitor wall time
mw() { med "$RAW" wall_us kind=time action=monitor cfg="$1"; }
mc() { grep "kind=time action=monitor cfg=$1 " "$RAW" | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } print v["user_us"] + v["sys_us"] }' | mmm 1 3 | cut -d' ' -f2; }
f=$(mw ferry) fl=$(mw floor) off=$(mw vd-off) def=$(mw vd-def)
r_floor=$(ratio "$f" "$fl") r_off=$(ratio "$off" "$f") r_def=$(ratio "$def" "$f")
c_floor=$(ratio "$(mc ferry)" "$(mc floor)") c_off=$(ratio "$(mc vd-off)" "$(mc ferry)") c_def=$(ratio "$(mc vd-def)" "$(mc ferry)")
pr=$(grep "kind=procs action=monitor cfg=ferry " "$RAW" | tail -n 1)
forks=$(field forks <<<"$pr") execs=$(field execs <<<"$pr")
ms() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1000 }'; }
{
    echo "Goals for ferry's monitor (issue 5), from the medians above:"
    echo
    echo "| goal | measured (wall time) | | CPU time, for comparison |"
    echo "|---|---|---|---|"
    echo "| within 1.3× of the floor | ferry $(ms "$f") ms / floor $(ms "$fl") ms = **${r_floor}×** | $(goal "$r_floor" le 1.3) | ${c_floor}× |"
    echo "| ≥ 2.5× faster than VirtualDomain, utilization off | $(ms "$off") / $(ms "$f") ms = **${r_off}×** | $(goal "$r_off" ge 2.5) | ${c_off}× |"
    echo "| ≥ 10× faster than VirtualDomain defaults | $(ms "$def") / $(ms "$f") ms = **${r_def}×** | $(goal "$r_def" ge 10) | ${c_def}× |"
    echo "| spawns nothing | $forks processes, $execs programs | $([ "$forks" = 0 ] && [ "$execs" = 0 ] && echo met || echo '**missed**') | |"
    echo
} >>"$OUT/section.md"
g1=$(goal "$r_floor" le 1.3) g2=$(goal "$r_off" ge 2.5) g3=$(goal "$r_def" ge 10)
g4=$([ "$forks" = 0 ] && [ "$execs" = 0 ] && echo met || echo '**missed**')
{
    echo "- **monitor** (median wall time): ferry $(ms "$f") ms, floor $(ms "$fl") ms → ferry = **${r_floor}× the floor** (goal ≤ 1.3×: $g1);"
    echo "  VirtualDomain $(ms "$off") ms with utilization off: **${r_off}×** ferry (goal ≥ 2.5×: $g2); $(ms "$def") ms with its"
    echo "  defaults: **${r_def}×** ferry (goal ≥ 10×: $g3); ferry spawns $forks processes (goal 0: $g4), VirtualDomain"
    echo "  $(field forks < <(grep 'kind=procs action=monitor cfg=vd-def ' "$RAW" | tail -n 1)) with its defaults."
} >"$OUT/headline.md"
# where ferry does worse than VirtualDomain
stat() { col "$RAW" wall_us kind=time action="$1" cfg="$2" | mmm 1000 1; }
{
    [ "$g1" = met ] || echo "- monitor: ferry is ${r_floor}× the floor, the goal was ≤ 1.3×"
    [ "$g2" = met ] || echo "- monitor: VirtualDomain (utilization off) is only ${r_off}× slower than ferry, the goal was ≥ 2.5×"
    [ "$g3" = met ] || echo "- monitor: VirtualDomain (defaults) is ${r_def}× slower than ferry, the goal was ≥ 10× (CPU time: ${c_def}×)"
    [ "$g4" = met ] || echo "- monitor: ferry spawned $forks processes, the goal was none"
    for a in monitor meta-data validate-all stop start; do
        lossline "$a, wall time, defaults" ms "$(stat "$a" ferry)" "$(stat "$a" vd-def)"
        lossline "$a, wall time, utilization off" ms "$(stat "$a" ferry-off)" "$(stat "$a" vd-off)"
    done
} >"$OUT/losses.md"
note "done"
