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
SMOKE=${BENCH_SMOKE:-0}

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
    export FERRY_LAB_DIR=/var/tmp/ferry-bench-$PART
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
# idle_xml NAME MIB: SeaBIOS with nothing to boot; it halts its vCPU (about 1 % of a core)
idle_xml() {
    cat <<EOF
<domain type='$(guest_type)'>
  <name>$1</name>
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
        ferry-live) printf '%s\n' OCF_RESOURCE_TYPE=vm OCF_RESOURCE_PROVIDER=ferry OCF_RESKEY_migrate=live "$AGENT" ;;
        ferry-pause) printf '%s\n' OCF_RESOURCE_TYPE=vm OCF_RESOURCE_PROVIDER=ferry OCF_RESKEY_migrate=pause "$AGENT" ;;
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
        ferry-live) echo "ferry migrate=live" ;;
        ferry-pause) echo "ferry migrate=pause" ;;
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
