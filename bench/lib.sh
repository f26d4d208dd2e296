# shellcheck shell=bash
# bench/lib.sh — sourced by bench/run.sh and bench/part_*.sh.
#
# Paths, the OCF environment the agents get (Pacemaker 2.1.5's, as in
# tests/agent/lablib.sh), one lab per part (/var/tmp/ferry-bench-PART, brought
# down by an EXIT trap whatever happens), and the small statistics helpers.
# Every raw measurement is one line of key=value words in
# $BENCH_WORK/PART/raw.txt; the tables are computed from those lines.

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH/.." && pwd)
AGENT=$TOP/agents/vm
VD=${VIRTUALDOMAIN:-/usr/lib/ocf/resource.d/heartbeat/VirtualDomain}
LAB=$TOP/tests/lab/lab.sh
CLUSTER=$TOP/tests/lab/cluster.sh
GUESTS=$TOP/tests/guests
GOUT=$TOP/tests/guests/out
: "${BENCH_WORK:?BENCH_WORK is not set: run bench/run.sh}"
BIN=$BENCH_WORK/bin
TICKS=$GOUT/ferry-ticks

die() { printf '%s: ERROR: %s\n' "${PART:-bench}" "$*" >&2; exit 1; }
note() { printf '%s [%s] %s\n' "$(date +%T)" "${PART:-bench}" "$*" >&2; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }

# ------------------------------------------------------------------ the lab of this part
LAB_IS_UP=0
# lab_start N [--ticks] [--cluster]: lab hosts node1..nodeN in /var/tmp/ferry-bench-$PART
lab_start() {
    local n=$1 ticks=() cluster=0 out
    shift
    while [ $# -gt 0 ]; do
        case $1 in
            --ticks) ticks=(--ticks "$TICKS") ;;
            --cluster) cluster=1 ;;
            *) die "lab_start: unknown option $1" ;;
        esac
        shift
    done
    export FERRY_LAB_DIR=${BENCH_LAB_PREFIX:-/var/tmp/ferry-bench}-$PART
    export FERRY_LAB_CACHE_DIR=$BENCH_WORK/libvirt-cache
    mkdir -p "$FERRY_LAB_CACHE_DIR"
    if [ -e "$FERRY_LAB_DIR" ]; then
        note "a lab from an earlier run is in $FERRY_LAB_DIR: bringing it down"
        "$LAB" down >/dev/null 2>&1 || die "$FERRY_LAB_DIR: lab.sh down failed; remove it by hand"
    fi
    LAB_IS_UP=1
    trap lab_stop EXIT
    trap 'note "interrupted"; exit 130' INT TERM HUP
    out=$("$LAB" up "$n" "${ticks[@]}" 2>&1) || die "lab up $n failed: $(tail -n 5 <<<"$out")"
    eval "$("$LAB" env)"
    mkdir -p "$FERRY_LAB_SHARED/artifacts"
    cp "$GOUT/ferry-bm.elf" "$FERRY_LAB_SHARED/artifacts/"
    "$LAB" exec node1 test -x "$AGENT" || die "$AGENT is not visible inside the lab hosts (build outside /tmp)"
    if [ "$cluster" = 1 ]; then
        out=$("$CLUSTER" up 2>&1) || die "cluster up failed: $(tail -n 5 <<<"$out")"
    fi
    note "lab up: $n host(s)$([ "$cluster" = 1 ] && echo ' + Pacemaker cluster') in $FERRY_LAB_DIR"
}

lab_stop() {
    local rc=$? out
    trap - EXIT INT TERM HUP
    if [ "$LAB_IS_UP" = 1 ]; then
        LAB_IS_UP=0
        out=$("$LAB" down 2>&1) || true
        case $out in
            *"down: clean"*) note "lab down: clean" ;;
            *) note "lab down left something behind: $(tail -n 5 <<<"$out")"; [ "$rc" != 0 ] || rc=1 ;;
        esac
    fi
    exit "$rc"
}

on() { local h=$1; shift; "$LAB" exec "$h" "$@"; }
virsh_on() { local h=$1; shift; "$LAB" exec "$h" virsh -q -c qemu:///system "$@"; }
daemon_pid() { sed -n '1s/ .*//p' "$FERRY_LAB_DIR/$1/$2.pid"; }   # HOST libvirtd|pacemakerd|...
pcmk_based_pid() {   # HOST: the CIB daemon, which serves crm_resource
    local pmd
    pmd=$(daemon_pid "$1" pacemakerd) || return 1
    pgrep -P "$pmd" -x pacemaker-based | head -n 1
}

# ------------------------------------------------------------------ guests
guest_type() { if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then echo kvm; else echo qemu; fi; }
# idle_xml NAME MIB: SeaBIOS with nothing to boot; it halts its vCPU (about 1 % of a core).
# A fixed UUID (from the name), as a defined VM has: every start gives the same domain.
idle_xml() {
    local u
    u=$(printf 'ferry-bench-%s' "$1" | md5sum | sed 's/^\(.\{8\}\)\(.\{4\}\)\(.\{4\}\)\(.\{4\}\)\(.\{12\}\).*/\1-\2-\3-\4-\5/')
    cat <<EOF
<domain type='$(guest_type)'>
  <name>$1</name>
  <uuid>$u</uuid>
  <memory unit='MiB'>$2</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>
EOF
}
# bm_xml NAME MIB DIRTY RATE: the bare-metal test guest, heartbeat to the lab collector
bm_xml() {
    "$GUESTS/mkdomain.sh" --name "$1" --os bm --mem "$2" --dirty "$3" --rate "$4" \
        --artifacts "$FERRY_LAB_SHARED/artifacts" --collector "$FERRY_LAB_COLLECTOR"
}
ticks_wait() {   # ID COUNT TIMEOUT_MS [SINCE_MS]
    "$TICKS" wait "$FERRY_LAB_DIR/ticks.log" "$1" --count "$2" --timeout-ms "$3" ${4:+--since "$4"} >/dev/null
}
ticks_report() { "$TICKS" report "$FERRY_LAB_DIR/ticks.log" "$1" ${2:+--since "$2"}; }

# ------------------------------------------------------------------ agents
# ocf_env HOST INSTANCE TIMEOUT_MS: the environment pacemaker-execd gives an agent
ocf_env() {
    printf '%s\n' PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C OCF_ROOT=/usr/lib/ocf \
        OCF_RA_VERSION_MAJOR=1 OCF_RA_VERSION_MINOR=1 "OCF_RESOURCE_INSTANCE=$2" \
        OCF_EXIT_REASON_PREFIX=ocf-exit-reason: OCF_RESKEY_crm_feature_set=3.16.1 \
        "OCF_RESKEY_CRM_meta_timeout=$3" "OCF_RESKEY_CRM_meta_on_node=$1" HA_debug=0 HA_LOGFACILITY=none
}
# The agent configurations compared.  cfg_words NAME prints the environment
# words and the program (last word) of that configuration.
VD_BASE=(OCF_RESOURCE_TYPE=VirtualDomain OCF_RESOURCE_PROVIDER=heartbeat OCF_RESKEY_hypervisor=qemu:///system
         OCF_RESKEY_migration_transport=ssh)
VD_UTIL_OFF=(OCF_RESKEY_autoset_utilization_cpu=false OCF_RESKEY_autoset_utilization_hv_memory=false)
cfg_words() {
    case $1 in
        ferry) printf '%s\n' OCF_RESOURCE_TYPE=vm OCF_RESOURCE_PROVIDER=ferry "$AGENT" ;;
        ferry-off) printf '%s\n' OCF_RESOURCE_TYPE=vm OCF_RESOURCE_PROVIDER=ferry OCF_RESKEY_autoset_utilization_cpu=false \
            OCF_RESKEY_autoset_utilization_hv_memory=false "$AGENT" ;;
        ferry-live) printf '%s\n' OCF_RESOURCE_TYPE=vm OCF_RESOURCE_PROVIDER=ferry OCF_RESKEY_migrate=live "$AGENT" ;;
        ferry-pause) printf '%s\n' OCF_RESOURCE_TYPE=vm OCF_RESOURCE_PROVIDER=ferry OCF_RESKEY_migrate=pause "$AGENT" ;;
        ferry-p2p|ferry-shared) printf '%s\n' OCF_RESOURCE_TYPE=vm OCF_RESOURCE_PROVIDER=ferry \
            "OCF_RESKEY_migration_connection=${1#ferry-}" "$AGENT" ;;
        ferry-abort|ferry-pausepol|ferry-autoconv|ferry-postcopy)
            local pol=${1#ferry-}
            case $pol in pausepol) pol=pause ;; autoconv) pol=auto-converge ;; esac
            printf '%s\n' OCF_RESOURCE_TYPE=vm OCF_RESOURCE_PROVIDER=ferry OCF_RESKEY_migrate=live \
                "OCF_RESKEY_migration_policy=$pol" "$AGENT" ;;
        vd|vd-def) printf '%s\n' "${VD_BASE[@]}" "$VD" ;;
        vd-off) printf '%s\n' "${VD_BASE[@]}" "${VD_UTIL_OFF[@]}" "$VD" ;;
        *) die "unknown configuration $1" ;;
    esac
}
cfg_label() {
    case $1 in
        floor) echo "floor (bench/floor.c)" ;;
        ferry) echo "ferry" ;;
        ferry-off) echo "ferry utilization off" ;;
        ferry-live) echo "ferry migrate=live" ;;
        ferry-pause) echo "ferry migrate=pause" ;;
        ferry-p2p) echo "ferry migration_connection=p2p" ;;
        ferry-shared) echo "ferry migration_connection=shared" ;;
        ferry-abort) echo "ferry policy=abort" ;;
        ferry-pausepol) echo "ferry policy=pause" ;;
        ferry-autoconv) echo "ferry policy=auto-converge" ;;
        ferry-postcopy) echo "ferry policy=postcopy" ;;
        vd) echo "VirtualDomain" ;;
        vd-def) echo "VirtualDomain defaults" ;;
        vd-off) echo "VirtualDomain utilization off" ;;
        *) echo "$1" ;;
    esac
}

# measure HOST CFG ACTION INSTANCE TIMEOUT_MS [runstat options] -- [VAR=value...]
#   runs the agent once under runstat inside HOST; prints runstat's line
measure() {
    local host=$1 cfg=$2 action=$3 inst=$4 tmo=$5 ropts=() words
    shift 5
    while [ $# -gt 0 ] && [ "$1" != -- ]; do ropts+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    local prog envw
    mapfile -t words < <(cfg_words "$cfg")
    prog=${words[-1]}
    unset 'words[-1]'
    mapfile -t envw < <(ocf_env "$host" "$inst" "$tmo")
    "$LAB" exec "$host" env -i "${envw[@]}" "${words[@]}" "$@" "$BIN/runstat" "${ropts[@]}" -- "$prog" "$action"
}

# run_agent HOST CFG ACTION INSTANCE TIMEOUT_MS [VAR=value...]: plain run, output shown on failure
run_agent() {
    local host=$1 cfg=$2 action=$3 inst=$4 tmo=$5 words envw out prog rc=0
    shift 5
    mapfile -t words < <(cfg_words "$cfg")
    prog=${words[-1]}
    unset 'words[-1]'
    mapfile -t envw < <(ocf_env "$host" "$inst" "$tmo")
    out=$("$LAB" exec "$host" env -i "${envw[@]}" "${words[@]}" "$@" "$prog" "$action" 2>&1) || rc=$?
    if [ "$rc" != 0 ]; then
        printf '%s %s on %s returned %s: %s\n' "$cfg" "$action" "$host" "$rc" "$(tail -n 3 <<<"$out")" >&2
        return "$rc"
    fi
}

# ------------------------------------------------------------------ statistics
# field F: the value of key F in the key=value line on stdin
field() { tr ' ' '\n' | sed -n "s/^$1=//p" | tail -n 1; }
# col FILE KEY [k=v...]: KEY's values on the lines of FILE that carry every k=v
col() {
    local f=$1 key=$2
    shift 2
    awk -v key="$key" -v conds="$*" '
        BEGIN { n = split(conds, c, " ") }
        {
            split("", kv)
            for (i = 1; i <= NF; i++) { j = index($i, "="); if (j) kv[substr($i, 1, j - 1)] = substr($i, j + 1) }
            ok = 1
            for (i = 1; i <= n; i++) { j = index(c[i], "="); if (kv[substr(c[i], 1, j - 1)] != substr(c[i], j + 1)) ok = 0 }
            if (ok && (key in kv) && kv[key] != "" && kv[key] != "-") print kv[key]
        }' "$f"
}
# mmm [SCALE] [DECIMALS]: numbers on stdin -> "min med max n" (each divided by SCALE)
mmm() {
    local s=${1:-1} d=${2:-1}
    sort -g | awk -v s="$s" -v d="$d" '{ v[NR] = $1 / s }
        END { if (NR == 0) { print "- - - 0"; exit }
              m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              f = "%." d "f"; printf f " " f " " f " %d\n", v[1], m, v[NR], NR }'
}
# med FILE KEY [k=v...] -> the median alone (unscaled)
med() { col "$@" | mmm 1 3 | cut -d' ' -f2; }
# cell "min med max n" -> "min / med / max"
cell() { awk '{ if ($4 == 0) print "–"; else printf "%s / **%s** / %s\n", $1, $2, $3 }' <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'; }

# ------------------------------------------------------------------ migrations
# where_is NAME: the lab host on which domain NAME is running ("-" if none, "a,b" if several)
where_is() {
    local h hosts=()
    for h in $FERRY_LAB_HOSTS; do
        case $(virsh_on "$h" domstate "$1" 2>/dev/null || true) in
            running*|paused*|"in shutdown"*) hosts+=("$h") ;;
        esac
    done
    local IFS=,
    echo "${hosts[*]:--}"
}
# jobinfo HOST NAME: libvirt's statistics of NAME's last completed job on HOST as key=value words
#   (lv_downtime_ms lv_elapsed_ms lv_data_bytes lv_mem_bytes lv_iterations)
jobinfo() {
    virsh_on "$1" domjobinfo --completed "$2" 2>/dev/null | awk '
        function bytes(v, u) { return v * (u == "KiB" ? 1024 : u == "MiB" ? 1048576 : u == "GiB" ? 1073741824 : 1) }
        /^Total downtime:/ { printf " lv_downtime_ms=%d", $3 }
        /^Time elapsed:/ { printf " lv_elapsed_ms=%d", $3 }
        /^Data processed:/ { printf " lv_data_bytes=%.0f", bytes($3, $4) }
        /^Memory processed:/ { printf " lv_mem_bytes=%.0f", bytes($3, $4) }
        /^Iteration:/ { printf " lv_iterations=%d", $2 }
        END { print "" }'
}
# settle NAME SRC DST: after a failed or killed migrate_to, make sure the guest runs on exactly one
# host, unpaused, with no migration job and no half-arrived copy left (what Pacemaker's recovery or
# an operator would have to do); prints what it had to do ("-" if nothing)
settle() {
    local name=$1 src=$2 dst=$3 did=() s d i
    for ((i = 0; i < 50; i++)); do
        virsh_on "$src" domjobinfo "$name" 2>/dev/null | grep -q '^Job type: *\(Unbounded\|Bounded\)' || break
        [ "$i" = 0 ] && { virsh_on "$src" domjobabort "$name" >/dev/null 2>&1 || true; did+=(jobabort); }
        sleep 0.2
    done
    s=$(virsh_on "$src" domstate "$name" 2>/dev/null || echo absent)
    d=$(virsh_on "$dst" domstate "$name" 2>/dev/null || echo absent)
    case "$s/$d" in
        running*/absent) ;;
        running*/*|paused*/paused*) virsh_on "$dst" destroy "$name" >/dev/null 2>&1 || true; did+=("destroy-$dst") ;;
        absent/running*) did+=(migrated) ;;
        absent/paused*) virsh_on "$dst" resume "$name" >/dev/null 2>&1 || true; did+=("resume-$dst") ;;
        *) did+=("state:$s/$d") ;;
    esac
    s=$(virsh_on "$src" domstate "$name" 2>/dev/null || echo absent)
    if [[ $s == paused* ]]; then virsh_on "$src" resume "$name" >/dev/null 2>&1 || true; did+=("resume-$src"); fi
    local IFS=+
    echo "${did[*]:--}"
}
# migrate_once RAW RUN CFG NAME XML SRC DST TIMEOUT_MS [VAR=value...]
#   migrate_to on SRC (killed like Pacemaker would at TIMEOUT_MS), then migrate_from on DST and stop
#   on SRC if it worked; libvirt's job statistics, ferry's own stats line, and the guest's heartbeat
#   gap; one line appended to RAW.  Prints the host the guest runs on afterwards.
migrate_once() {
    local raw=$1 run=$2 cfg=$3 name=$4 xml=$5 src=$6 dst=$7 tmo=$8 since err to from="" stop="" job="" st="" fixed="-" rc gap rep where reason
    shift 8
    local mig=(OCF_RESKEY_config="$xml" OCF_RESKEY_CRM_meta_migrate_source="$src" OCF_RESKEY_CRM_meta_migrate_target="$dst" "$@")
    err=$BENCH_WORK/$PART/migrate_to.err
    since=$(now_ms)
    to=$(measure "$src" "$cfg" migrate_to "p_$name" "$tmo" -t "$tmo" -2 "$err" -- "${mig[@]}")
    rc=$(field rc <<<"$to")
    if [ "$rc" = 0 ]; then
        from=$(measure "$dst" "$cfg" migrate_from "p_$name" 60000 -- "${mig[@]}")
        stop=$(measure "$src" "$cfg" stop "p_$name" 60000 -- "${mig[@]}")
        job=$(jobinfo "$dst" "$name")
    else
        fixed=$(settle "$name" "$src" "$dst")
    fi
    st=$(grep -o 'domain=[^ ]* from=.*' "$err" | tail -n 1 | sed 's/ \([a-z_]*\)=/ f_\1=/g; s/^domain=[^ ]* //' || true)
    where=$(where_is "$name")
    ticks_wait "$name" 10 20000 "$(now_ms)" || true
    rep=$(ticks_report "$name" "$since" || true)
    gap=$(field max_gap_ms <<<"$(tr '\n' ' ' <<<"$rep")")
    reason=$(sed -n 's/^ocf-exit-reason://p' "$err" | tail -n 1 | cut -c1-100 | tr -c 'A-Za-z0-9.,:()/_\n-' '_')
    printf 'kind=mig run=%s cfg=%s from=%s to=%s rc=%s where=%s fixed=%s reason=%s %s %s %s gap_ms=%s resets=%s bad=%s %s %s\n' \
        "$run" "$cfg" "$src" "$dst" "$rc" "$where" "$fixed" "${reason:--}" \
        "$(sed 's/\([a-z_]*\)=/to_\1=/g' <<<"$to")" \
        "$(sed 's/\([a-z_]*\)=/from_\1=/g' <<<"$from")" \
        "$(sed 's/\([a-z_]*\)=/stop_\1=/g' <<<"$stop")" \
        "${gap:--}" "$(sed -n 's/^resets=//p' <<<"$rep")" "$(sed -n 's/^bad=//p' <<<"$rep")" "$job" "$st" | tr -s ' ' >>"$raw"
    echo "$where"
}

# ------------------------------------------------------------------ report-only mode
# BENCH_REPORT_ONLY=1: a part skips its measurements and rebuilds its tables and plots from
# $BENCH_WORK/PART/raw.txt (bench/run.sh --report-only copies bench/data/PART.txt there).
REPORT_ONLY=${BENCH_REPORT_ONLY:-0}
# info KEY DEFAULT: a setting the measurements were taken with (the kind=info line of raw.txt),
# else BENCH_INFO_<PART>_<KEY> (from data/run.txt), else DEFAULT
info() {
    local v n="BENCH_INFO_${PART}_$1"
    v=$(col "$RAW" "$1" kind=info | tail -n 1)
    [ -n "$v" ] || v=${!n:-}
    echo "${v:-$2}"
}
# raw_begin KEY=VALUE...: start raw.txt (measuring) or check it is there (report-only)
raw_begin() {
    if [ "$REPORT_ONLY" = 1 ]; then
        [ -s "$RAW" ] || die "report-only: no measurements in $RAW"
        note "tables from $RAW (no measurements)"
    else
        echo "kind=info $*" >"$RAW"
    fi
}
# goal VALUE le|ge LIMIT: "met", "**missed**", or "?" when there is no value
goal() { awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN { if (v == "" || v == "-") print "?"; else if ((op == "le" && v + 0 <= g + 0) || (op == "ge" && v + 0 >= g + 0)) print "met"; else print "**missed**" }'; }
# goalline TEXT VALUE le|ge LIMIT: a bullet for losses.md if the goal is missed
goalline() { [ "$(goal "$2" "$3" "$4")" = "**missed**" ] && echo "- goal missed: $1" || true; }
# lossline LABEL UNIT "FERRY_STATS" "VD_STATS": a bullet if ferry's median is worse (higher)
#   than VirtualDomain's; stats are "min med max n" as mmm prints them
lossline() {
    awk -v l="$1" -v u="$2" -v f="$3" -v v="$4" 'BEGIN {
        split(f, a, " "); split(v, b, " ")
        if (a[4] == 0 || b[4] == 0 || a[2] + 0 <= b[2] + 0) exit
        r = (b[2] + 0 > 0) ? sprintf("%.2f×", a[2] / b[2]) : "more"
        o = (a[1] + 0 <= b[3] + 0) ? "ranges overlap" : "ferry'\''s best run is slower than VirtualDomain'\''s worst"
        printf "- %s: ferry %s %s, VirtualDomain %s %s (median, %s; %s)\n", l, a[2], u, b[2], u, r, o }'
}
