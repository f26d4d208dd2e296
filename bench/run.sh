#!/bin/bash
# bench/run.sh — ferry's ocf:ferry:vm against ClusterLabs' VirtualDomain, side
# by side on the same lab and the same guests: writes REPORT.md and its PNG
# plots.  One command runs everything (as root, after the build):
#
#   bench/run.sh [--smoke] [--only PART[,PART...]] [--out DIR] [--keep-work]
#   bench/run.sh --report-only [--only ...] [--out DIR]
#
#   PART      actions   1. monitor / meta-data / validate-all / start / stop cost, and the floor
#             scale     2. 50 domains, a monitor of each every 10 s: CPU share
#             migrate   3. idle 256 MiB guest: downtime, pause outage, total time, link B, bytes V
#             convergence 4. dirtying guest at 0.25 / 0.5 / 1.5 B: every ferry policy and VirtualDomain
#             evacuate  5. crm node standby of a node with 1..16 VMs, migration-limit 1, 2 and 4
#             floor     6. one idle migrate_to phase by phase, next to the floor (floor_migrate.c,
#                          virsh migrate with and without an ssh ControlMaster)
#   --smoke   one iteration of everything, 10 domains in part 2, 20 s windows, a 30 s migrate_to
#             timeout in part 4 (a check that the bench works, about 12 min);
#             the report goes to bench/smoke/ unless --out is given, never over bench/REPORT.md
#   --out DIR where REPORT.md, the PNGs and data/ (raw measurements) go (default: bench/);
#             "-": print the report on stdout and keep no files
#   --keep-work  keep /var/tmp/ferry-bench-run (raw files, logs) instead of deleting it
#   --report-only  measure nothing: rebuild REPORT.md and the plots in DIR (default bench/) from
#             DIR/data/ (each part's raw lines and run.txt, what a run wrote there)
#
# Settings (environment; the defaults make the full run, about 65 min on 2 cores):
#   BENCH_RUNS_LAT=30      part 1, runs per action and agent
#   BENCH_SCALE_N=50 BENCH_SCALE_WINDOW=60 BENCH_SCALE_ROUNDS=2   part 2: domains, seconds, windows per agent
#   BENCH_RUNS_MIG=10      part 3, migrations per agent/mode
#   BENCH_RUNS_CONV=10 BENCH_RUNS_CONV_NC=3   part 4, runs per cell at 0.25 B and 0.5 B / at 1.5 B
#   BENCH_CONV_CAP=32 BENCH_CONV_WS=64 BENCH_CONV_TIMEOUT=120 BENCH_CONV_FACTORS="0.25 0.5 1.5"
#                          part 4: bandwidth cap MiB/s (both agents), working set MiB, migrate_to
#                          operation timeout s (both), dirty rates as multiples of the cap
#   BENCH_RUNS_EVAC=5      part 5, evacuations per agent, VM count and migration-limit
#   BENCH_EVAC_COUNTS="1 2 4 8 16" BENCH_EVAC_LIMITS="1 2 4"   part 5: VM counts, migration-limits
#   BENCH_RUNS_FLOOR=10    part 6, moves per row
#
# Each part brings up its own lab in /var/tmp/ferry-bench-PART (tests/lab/lab.sh) and brings it
# down on exit, failure or Ctrl-C; nothing is left behind but the report.  Only the lab networks
# 198.51.100.0/24 and 203.0.113.0/24 (inside the lab's namespaces) carry traffic.
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH/.." && pwd)
ALL_PARTS=(actions scale migrate convergence evacuate floor)
# BENCH_LAB_PREFIX (default /var/tmp/ferry-bench): the parts' labs are PREFIX-PART, the work dir
# PREFIX-run; another prefix keeps a smoke run apart from a bench or test lab running meanwhile
LABP=${BENCH_LAB_PREFIX:-/var/tmp/ferry-bench}
export BENCH_LAB_PREFIX=$LABP
WORK=$LABP-run

die() { printf 'bench/run.sh: ERROR: %s\n' "$*" >&2; exit 1; }
note() { printf '%s [run] %s\n' "$(date +%T)" "$*" >&2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }

smoke=0 only="" out="" keep=0 report_only=0
while [ $# -gt 0 ]; do
    case $1 in
        --smoke) smoke=1 ;;
        --only) [ $# -ge 2 ] || die "--only needs a value"; only=$2; shift ;;
        --out) [ $# -ge 2 ] || die "--out needs a value"; out=$2; shift ;;
        --keep-work) keep=1 ;;
        --report-only) report_only=1 ;;
        -h|--help) usage 0 ;;
        *) echo "bench/run.sh: unknown option '$1'" >&2; usage 2 ;;
    esac
    shift
done
parts=()
if [ -n "$only" ]; then
    IFS=, read -r -a parts <<<"$only"
    for p in "${parts[@]}"; do
        [[ " ${ALL_PARTS[*]} " == *" $p "* ]] || die "unknown part '$p' (parts: ${ALL_PARTS[*]})"
    done
else
    parts=("${ALL_PARTS[@]}")
fi
if [ -z "$out" ]; then
    if [ "$smoke" = 1 ]; then out=$BENCH/smoke; else out=$BENCH; fi
fi
to_stdout=0
if [ "$out" = - ]; then
    [ "$report_only" = 0 ] || die "--report-only needs a directory (--out DIR)"
    to_stdout=1
    out=$WORK/report
else
    mkdir -p "$out" || die "cannot create $out"
    out=$(cd "$out" && pwd)
    if [ "$smoke" = 1 ] && [ "$out" = "$BENCH" ]; then die "--smoke never writes bench/REPORT.md: give another --out"; fi
fi
if [ "$report_only" = 1 ]; then
    [ -s "$out/data/run.txt" ] || die "--report-only: $out/data/run.txt is missing (written by a measuring run)"
    [ -n "$only" ] || read -r -a parts <<<"$(sed -n 's/^parts=//p' "$out/data/run.txt" | tail -n 1)"
fi

# ------------------------------------------------------------------ preconditions
if [ "$report_only" = 0 ]; then
    [ "$(id -u)" = 0 ] || die "must run as root (the lab: namespaces, libvirtd, sshd, Pacemaker)"
    [ -x "$TOP/agents/vm" ] || die "$TOP/agents/vm is not built (autoreconf -fi && ./configure && make, or ./bootstrap.sh)"
    case $TOP in /tmp/*|/run/*) die "the tree is under /tmp or /run, which lab hosts cannot see: build elsewhere" ;; esac
    VD=${VIRTUALDOMAIN:-/usr/lib/ocf/resource.d/heartbeat/VirtualDomain}
    [ -x "$VD" ] || die "$VD missing (apt-get install resource-agents)"
    for b in gcc pkg-config strace virsh crm crm_mon xmllint awk sort; do
        command -v "$b" >/dev/null || die "'$b' not found (./bootstrap.sh installs the dependencies)"
    done
    pkg-config --exists libvirt || die "libvirt development files missing (libvirt-dev)"
fi
if ! command -v gnuplot >/dev/null; then
    [ "$(id -u)" = 0 ] || die "gnuplot is missing (apt-get install gnuplot-nox)"
    note "installing gnuplot-nox (for the plots)"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q gnuplot-nox >/dev/null ||
        die "apt-get install gnuplot-nox failed"
fi
gnuplot -e 'set terminal pngcairo' 2>/dev/null ||
    die "gnuplot has no pngcairo terminal (apt-get install gnuplot-nox)"

# ------------------------------------------------------------------ work dir, cleanup
if [ -e "$WORK" ]; then
    [ -f "$WORK/.ferry-bench" ] || die "$WORK exists and is not ours: remove it by hand"
    rm -rf "$WORK"
fi
mkdir -p "$WORK/bin" "$out"
echo "bench/run.sh work dir; deleted at the end" >"$WORK/.ferry-bench"
child=""
finish() {
    local rc=$? p left
    trap - EXIT INT TERM HUP
    if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    # a part killed hard may have left its lab: bring it down
    for p in "${ALL_PARTS[@]}"; do
        if [ -e "$LABP-$p" ]; then
            note "lab of part $p still there: bringing it down"
            FERRY_LAB_DIR=$LABP-$p "$TOP/tests/lab/lab.sh" down >/dev/null 2>&1 || rc=1
        fi
    done
    if [ "$keep" = 1 ]; then note "work dir kept: $WORK"; else rm -rf "$WORK"; fi
    left=$(find "$(dirname "$LABP")" -maxdepth 1 -name "$(basename "$LABP")-*" ! -path "$WORK" 2>/dev/null)
    [ -z "$left" ] || { note "left behind: $left"; rc=1; }
    exit "$rc"
}
trap finish EXIT
trap 'note "interrupted"; exit 130' INT TERM HUP

export BENCH_WORK=$WORK BENCH_SMOKE=$smoke
META=$WORK/run.txt
declare -A part_rc
run_part() {   # PART: the part's script as a child (its own traps bring its lab down)
    local p=$1 rc=0
    "$BENCH/part_$p.sh" &
    child=$!
    wait "$child" || rc=$?
    child=""
    part_rc[$p]=$rc
    return 0
}
if [ "$report_only" = 0 ]; then
    # -------------------------------------------------------------- build
    note "building the test guests and the bench tools"
    "$TOP/tests/guests/build.sh" "$TOP/tests/guests/out" || die "building the test guests failed"
    cflags=(-std=gnu11 -O2 -Wall -Wextra -Werror)
    gcc "${cflags[@]}" -o "$WORK/bin/runstat" "$BENCH/runstat.c" || die "building runstat failed"
    gcc "${cflags[@]}" -o "$WORK/bin/tcpbench" "$BENCH/tcpbench.c" || die "building tcpbench failed"
    # shellcheck disable=SC2046
    gcc "${cflags[@]}" -o "$WORK/bin/floor" "$BENCH/floor.c" $(pkg-config --cflags --libs libvirt) ||
        die "building floor failed"
    # shellcheck disable=SC2046
    gcc "${cflags[@]}" -o "$WORK/bin/floor_migrate" "$BENCH/floor_migrate.c" $(pkg-config --cflags --libs libvirt) ||
        die "building floor_migrate failed"

    # -------------------------------------------------------------- measure
    if [ "$smoke" = 1 ]; then
        export BENCH_RUNS_LAT=1 BENCH_SCALE_N=10 BENCH_SCALE_WINDOW=20 BENCH_SCALE_ROUNDS=1 BENCH_RUNS_MIG=1
        export BENCH_RUNS_CONV=1 BENCH_RUNS_CONV_NC=1 BENCH_CONV_TIMEOUT=30 BENCH_RUNS_EVAC=1 BENCH_RUNS_FLOOR=1
        export BENCH_EVAC_COUNTS=${BENCH_EVAC_COUNTS:-1 2} BENCH_EVAC_LIMITS=${BENCH_EVAC_LIMITS:-1 2}
    fi
    sample() {   # what else runs on the machine: load average and the test suite's labs
        echo "sample=$(date +%T) $1: load $(cut -d' ' -f1-3 /proc/loadavg), other labs: $(find /var/tmp -maxdepth 1 -name 'ferry-lab*' -printf '%f\n' 2>/dev/null | sort | paste -sd, -)" >>"$META"
    }
    {
        echo "command=bench/run.sh$([ "$smoke" = 1 ] && echo ' --smoke')$([ -n "$only" ] && echo " --only $only")"
        echo "smoke=$smoke"
        echo "parts=${parts[*]}"
        echo "ferry=$(cd "$TOP" && git describe --always --dirty 2>/dev/null || echo '?')"
        echo "ferry_sources=$(cd "$TOP" && git log -1 --format='%h, %cs' -- agents lib 2>/dev/null || echo '?')"
        echo "resource_agents=$(dpkg-query -W -f '${Version}' resource-agents 2>/dev/null || echo '?')"
        echo "cores=$(nproc)"
        echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
        echo "memory=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
        echo "hypervisor=$(if [ -c /dev/kvm ] && [ -w /dev/kvm ]; then echo "KVM ($(basename "$(readlink -f /sys/module/kvm_*/ 2>/dev/null | head -n 1)" 2>/dev/null || echo kvm))"; else echo "TCG (no /dev/kvm)"; fi)"
        echo "kernel=$(uname -r)"
        echo "libvirt=$(dpkg-query -W -f '${Version}' libvirt-daemon 2>/dev/null)"
        echo "qemu=$(dpkg-query -W -f '${Version}' qemu-system-x86 2>/dev/null)"
        echo "pacemaker=$(dpkg-query -W -f '${Version}' pacemaker 2>/dev/null)"
        echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    } >"$META"
    t_start=$(date +%s)
    for p in "${parts[@]}"; do
        sample "before $p"
        note "part $p"
        t0=$(date +%s)
        run_part "$p"
        echo "part_secs_$p=$(( $(date +%s) - t0 ))" >>"$META"
        echo "part_rc_$p=${part_rc[$p]}" >>"$META"
        [ "${part_rc[$p]}" = 0 ] || note "part $p FAILED (exit ${part_rc[$p]}); going on with the others"
    done
    sample "end"
    {
        echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
        echo "secs=$(( $(date +%s) - t_start ))"
        echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    } >>"$META"
    mkdir -p "$out/data"
    cp "$META" "$out/data/run.txt"
    for p in "${parts[@]}"; do [ -f "$WORK/$p/raw.txt" ] && cp "$WORK/$p/raw.txt" "$out/data/$p.txt"; done
else
    # -------------------------------------------------------------- tables from data/
    cp "$out/data/run.txt" "$META"
    # run.txt may carry settings of a part that its raw lines lack: info_PART_KEY=VALUE
    while IFS='=' read -r k v; do
        [[ $k =~ ^info_([a-z]+)_([a-z_]+)$ ]] && export "BENCH_INFO_${BASH_REMATCH[1]}_${BASH_REMATCH[2]}=$v"
    done <"$META"
    export BENCH_REPORT_ONLY=1
    for p in "${parts[@]}"; do
        [ -s "$out/data/$p.txt" ] || die "--report-only: $out/data/$p.txt is missing"
        mkdir -p "$WORK/$p"
        cp "$out/data/$p.txt" "$WORK/$p/raw.txt"
        run_part "$p"
        [ "${part_rc[$p]}" = 0 ] || note "tables of part $p FAILED (exit ${part_rc[$p]})"
    done
fi

# ------------------------------------------------------------------ report
meta() { sed -n "s/^$1=//p" "$META" | tail -n 1; }
for p in "${parts[@]}"; do   # a part that failed while measuring stays failed
    m=$(meta "part_rc_$p")
    [ -z "$m" ] || [ "$m" = 0 ] || part_rc[$p]=$m
done
secs=$(meta secs)
note "writing $out/REPORT.md"
rep=$out/REPORT.md
{
    echo "# ferry vs VirtualDomain — benchmark report"
    echo
    if [ "$(meta smoke)" = 1 ]; then
        echo "**SMOKE RUN: one iteration per figure. These numbers only show that the bench works.**"
        echo
    fi
    echo "Measured by \`$(meta command)\` on $(meta date) in $(( secs / 60 )) min $(( secs % 60 )) s"
    echo "($(for p in "${parts[@]}"; do printf '%s %s s, ' "$p" "$(meta "part_secs_$p")"; done | sed 's/, $//'))."
    echo "ferry $(meta ferry) (its agent's sources: last changed in commit $(meta ferry_sources)) against"
    echo "VirtualDomain from resource-agents $(meta resource_agents)."
    echo "Every figure is min / **median** / max over the runs stated; the agents compared alternate run by run."
    echo "Raw measurements (one line per run) are in \`data/\`; the tables and plots are computed from them"
    echo "(\`bench/run.sh --report-only\` rebuilds this file from \`data/\` without measuring)."
    echo
    echo "## Headline"
    echo
    for p in "${parts[@]}"; do
        if [ "${part_rc[$p]}" = 0 ] && [ -s "$WORK/$p/headline.md" ]; then cat "$WORK/$p/headline.md"; else echo "- part $p: FAILED (exit ${part_rc[$p]}), no figures"; fi
    done
    echo
    echo "### Where ferry does worse than VirtualDomain, or misses a goal"
    echo
    losses=$(for p in "${parts[@]}"; do [ "${part_rc[$p]}" != 0 ] || cat "$WORK/$p/losses.md" 2>/dev/null || true; done)
    clear=$(grep -v 'ranges overlap' <<<"$losses" || true)
    noisy=$(grep 'ranges overlap' <<<"$losses" || true)
    if [ -n "$losses" ]; then
        echo "Every figure in which ferry's median is slower or costlier than VirtualDomain's in the same"
        echo "setting, and every goal ferry misses (computed from the tables below)."
        echo
        if [ -n "$clear" ]; then
            echo "Clearly (a missed goal, or ferry's best run slower than VirtualDomain's worst):"
            echo
            printf '%s\n' "$clear" | sed 's/; ferry.s best run is slower than VirtualDomain.s worst)/)/'
            echo
        fi
        if [ -n "$noisy" ]; then
            echo "By the median only (the two min-max ranges overlap: within this machine's noise):"
            echo
            printf '%s\n' "$noisy" | sed 's/; ranges overlap)/)/'
        fi
    else
        echo "None: in no figure is ferry's median worse than VirtualDomain's, and every goal is met."
    fi
    echo
    echo "## Machine"
    echo
    echo "- $(meta cores) cores ($(meta cpu)), $(meta memory) memory, guests under $(meta hypervisor);"
    echo "  kernel $(meta kernel); libvirt $(meta libvirt), QEMU $(meta qemu), Pacemaker $(meta pacemaker)."
    echo "- load average (1, 5, 15 min) at the start: $(meta load_start); at the end: $(meta load_end)."
    if sed -n 's/^sample=//p' "$META" | grep -q 'other labs: [^ ]'; then
        echo "- **The machine was shared**: labs of the test suite (/var/tmp/ferry-lab-*) ran during parts of"
        echo "  this run; their guests and daemons competed for the same $(meta cores) cores. The A/B alternation"
        echo "  spreads that load over both agents, but absolute times are higher and noisier than on an idle machine."
    else
        echo "- No lab of the test suite was seen at the part boundaries; the machine may still have been shared"
        echo "  in between (the load averages below are the only other record)."
    fi
    echo "- At each part's start and at the end:"
    sed -n 's/^sample=/  - /p' "$META" | sed 's/other labs: $/other labs: none/'
    echo "- The lab: namespaced fake KVM hosts (tests/lab/lab.sh), each with its own libvirtd and sshd,"
    echo "  linked by veth pairs and a bridge (no physical network); migrations go over qemu+ssh."
    echo
    echo "## Results"
    echo
    for p in "${parts[@]}"; do
        if [ "${part_rc[$p]}" = 0 ] && [ -s "$WORK/$p/section.md" ]; then
            cat "$WORK/$p/section.md"
        else
            echo "### part $p: FAILED (exit ${part_rc[$p]})"
            echo
        fi
        for png in "$WORK/$p"/*.png; do [ -e "$png" ] && cp "$png" "$out/"; done
    done
    echo "## Reproduce"
    echo
    echo "As root, in a built tree (\`autoreconf -fi && ./configure && make\`): \`bench/run.sh\` (all parts, this"
    echo "report in bench/), \`bench/run.sh --smoke\` (one iteration each, report in bench/smoke/),"
    echo "\`bench/run.sh --only PART\` for one part; \`bench/run.sh --help\` lists the settings. The measuring"
    echo "tools are \`bench/runstat.c\` (wall time, rusage of the process tree, daemons' CPU, Pacemaker-like"
    echo "recurring monitors, operation timeouts with a process-group SIGKILL), \`bench/floor.c\`,"
    echo "\`bench/tcpbench.c\` and the test guests' heartbeat collector \`ferry-ticks\`."
} >"$rep"
if [ "$to_stdout" = 1 ]; then cat "$rep"; else note "report: $rep"; fi
for p in "${parts[@]}"; do [ "${part_rc[$p]}" = 0 ] || exit 1; done
