#!/bin/bash
# run.sh — one seeded run of the chaos campaign (issue 10): random operations
# and random faults against the 3-node Corosync + Pacemaker lab with fencing
# (tests/lab/cluster.sh), an independent checker sampling every node, and a
# verdict.
#
#   tests/chaos/run.sh [--agent ferry|vd] [--seed N] [--duration 10m] [--vms 6]
#                      [--out DIR] [--faults KIND,KIND...] [--cycle] [--settle S] [--locks]
#
# Prints "chaos: seed=N ..." first and
#   chaos: agent=ferry seed=N ops=K faults=F violations=V
# last; exit 0 only if V = 0 (--faults: only these kinds; --cycle: in this order, round robin,
# instead of at random) (and the run could run). The seed fixes every
# random choice (configuration, operations, faults, their targets and delays);
# the timing of the cluster does not replay exactly, the sequence does.
# --out (default /var/tmp/chaos-AGENT-SEED) keeps the raw data: events.tsv (every
# operation and fault), faults.tsv (one line per fault: kind, during migration,
# outcome, recovery ms, fences/restarts/node lost, hit: 0 if the fault found nothing to
# hit — no agent process, no QEMU — and is no injection), samples.jsonl / cib.jsonl (the checker's samples),
# ticks.log (the guests' heartbeats), logs/ (the nodes' pacemaker, libvirtd and fence logs),
# violations.tsv and a directory per
# violation (samples around it, the nodes' logs). See tests/chaos/README.
# Needs root, a built agent (make), crmsh and Pacemaker; the lab lives in
# ${FERRY_LAB_PREFIX:-/var/tmp/ferry-lab}-chaos. Ctrl-C or SIGTERM: the run
# stops, the checker runs over what was sampled and the lab is torn down.
HERE=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$HERE/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
LOCKS=0 CYCLE=0 KIND=ferry SEED=$(( $(date +%s%N) % 100000 )) DURATION=10m VMS=6 OUT="" ONLY="" SETTLE_S=240
while [ $# -gt 0 ]; do
    case $1 in
    --agent) KIND=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --vms) VMS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --faults) ONLY=$2; shift 2 ;;
    --cycle) CYCLE=1; shift ;;
    --settle) SETTLE_S=$2; shift 2 ;;
    --locks) LOCKS=1; shift ;;
    -h|--help) sed -n '2,/^HERE=/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
    *) echo "run.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
case $KIND in ferry|vd) ;; *) echo "run.sh: --agent ferry|vd" >&2; exit 2 ;; esac
case $DURATION in *h) DUR_S=$(( ${DURATION%h} * 3600 )) ;; *m) DUR_S=$(( ${DURATION%m} * 60 )) ;;
    *s) DUR_S=${DURATION%s} ;; *) DUR_S=$DURATION ;; esac
[ "$VMS" -ge 2 ] || { echo "run.sh: --vms must be at least 2" >&2; exit 2; }
OUT=${OUT:-/var/tmp/chaos-$KIND-$SEED}
echo "chaos: seed=$SEED agent=$KIND duration=${DUR_S}s vms=$VMS locks=$LOCKS out=$OUT"
RANDOM=$SEED

# lablib.sh sources its testlib.sh from $0's directory and names the lab after $0
BASH_ARGV0=$top_srcdir/tests/agent/chaos.sh
. "$top_srcdir/tests/agent/lablib.sh"
. "$HERE/lib.sh"
CLUSTER=$top_srcdir/tests/lab/cluster.sh
VD_AGENT=/usr/lib/ocf/resource.d/heartbeat/VirtualDomain
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
: >"$OUT/events.tsv"; : >"$OUT/faults.tsv"; : >"$OUT/violations.tsv"
NOPS=0 NFAULTS=0 SAMPLER="" BG_PIDS=() STOPPING=0 T_START=$(now_ms)
REPAIRS=()     # commands that undo the fault in place (run by the next settle and by the trap)

# rnd N: R = a seeded random number in [0, N) (no subshell: $RANDOM's sequence stays ours)
rnd() { R=$(( RANDOM % $1 )); }
pick() { rnd $#; shift "$R"; P=$1; }
ev() { printf '%s\t%s\n' "$(now_ms)" "$*" >>"$OUT/events.tsv"; }
violation() { # INVARIANT TEXT
    printf '%s\t%s\t%s\n' "$(now_ms)" "$1" "$2" >>"$OUT/violations.tsv"
    echo "chaos: VIOLATION invariant $1 at $(date -u +%T): $2 (seed $SEED)"
}
wait_started() { "$CLUSTER" wait-started "$@"; }
live_node() { # a node whose pacemakerd runs (not $1)
    local h p
    for h in $FERRY_LAB_HOSTS; do
        [ "$h" = "${1:-}" ] && continue
        read -r p _ <"$FERRY_LAB_DIR/$h/pacemakerd.pid" 2>/dev/null && kill -0 "$p" 2>/dev/null && { echo "$h"; return 0; }
    done
    return 1
}
on_live() { local h; h=$(live_node) || return 1; on "$h" "$@"; }
dc_node() { on_live crm_mon -1 --output-as=xml 2>/dev/null | sed -n 's/.*<current_dc [^>]*name="\([^"]*\)".*/\1/p'; }
vm_node() { "$CLUSTER" state "$1" 2>/dev/null | cut -d' ' -f2; }
other_node() { # NODE...: a seeded random node not in the list
    local c=() h
    for h in $FERRY_LAB_HOSTS; do [[ " $* " == *" $h "* ]] || c+=("$h"); done
    [ ${#c[@]} -gt 0 ] || { P=""; return; }
    pick "${c[@]}"
}

# --------------------------------------------------------------- teardown (also on Ctrl-C)
finish() {
    local rc=$? v
    [ "$STOPPING" = 1 ] && return
    STOPPING=1
    trap '' INT TERM
    ev "end"
    chaos_stop_jobs "${BG_PIDS[@]}"
    for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    repair_all
    if [ -n "$SAMPLER" ]; then
        rm -f "$OUT/sampler.on"; kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null
    fi
    if [ -n "${FERRY_LAB_DIR:-}" ] && [ -f "$FERRY_LAB_DIR/lab.env" ]; then
        cp "$TICKS_LOG" "$OUT/ticks.log" 2>/dev/null
        python3 "$HERE/checker.py" "$OUT" "$FERRY_LAB_DIR" "$SEED" || violation checker "checker.py failed"
        # the nodes' logs, for a later look at any outcome (compressed; the lab's go with it)
        mkdir -p "$OUT/logs"
        for h in $FERRY_LAB_HOSTS; do
            gzip -c "$FERRY_LAB_DIR/$h/cluster/log-pacemaker/pacemaker.log" >"$OUT/logs/$h-pacemaker.log.gz" 2>/dev/null
            gzip -c "$FERRY_LAB_DIR/$h/log/libvirtd.log" >"$OUT/logs/$h-libvirtd.log.gz" 2>/dev/null
            cp "$FERRY_LAB_DIR/$h/cluster/fence.log" "$OUT/logs/$h-fence.log" 2>/dev/null
        done
        "$CLUSTER" down >/dev/null 2>&1 || echo "chaos: cluster down failed"
    fi
    lab_teardown >/dev/null
    [ "$T_FAILED" -eq 0 ] || echo "chaos: the lab was not left clean"
    v=$(wc -l <"$OUT/violations.tsv")
    [ "$T_FAILED" -eq 0 ] || v=$(( v + 1 ))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$KIND" "$SEED" "$(( ($(now_ms) - T_START) / 1000 ))" "$NOPS" "$NFAULTS" "$v" "$LOCKS" >"$OUT/summary.tsv"
    echo "chaos: agent=$KIND seed=$SEED ops=$NOPS faults=$NFAULTS violations=$v"
    case $rc in 99|130) exit "$rc" ;; esac
    [ "$v" = 0 ] && exit 0
    exit 1
}
trap finish EXIT
trap 'echo "chaos: interrupted"; exit 130' INT TERM

# ------------------------------------------------------------------------------ set-up
[ "$KIND" = ferry ] || [ -x "$VD_AGENT" ] || t_cannot_run "VirtualDomain is missing ($VD_AGENT)"
command -v crm >/dev/null || t_cannot_run "crmsh is missing (./bootstrap.sh --deps installs it)"
command -v python3 >/dev/null || t_cannot_run "python3 is missing (the checker)"
# --locks: libvirt's lock manager (lockd) on every host and a lease in every guest (README,
# "Two copies"): the same for both agents, it is libvirt's
[ "$LOCKS" = 1 ] && export FERRY_LAB_LOCKS=1
lab_setup 3
LEASE=()
if [ "$LOCKS" = 1 ]; then
    [ -n "${FERRY_LAB_LEASES:-}" ] || t_cannot_run "--locks: the lab came up without its lock manager"
    LEASE=(--lease "$FERRY_LAB_LEASES")
fi
trap finish EXIT
ocf=$FERRY_LAB_DIR/ocf-resource.d
cp -a /usr/lib/ocf/resource.d "$ocf"
mkdir -p "$ocf/ferry"
ln -s "$AGENT" "$ocf/ferry/vm"
for h in $FERRY_LAB_HOSTS; do on "$h" mount --bind "$ocf" /usr/lib/ocf/resource.d; done
out=$("$CLUSTER" up 2>&1) || t_cannot_run "cluster up failed: $(tail -n 5 <<<"$out")"
echo "chaos: $(grep '^cluster up:' <<<"$out")"
touch "$OUT/sampler.on"
python3 "$HERE/sampler.py" "$FERRY_LAB_DIR" "$OUT" 150 &
SAMPLER=$!

# the VMs: bare-metal guests (memory verifier) and one Linux guest; modes and policies by seed
VM_NAMES=()
declare -A MODE=() OS=()
rnd 3; MIGLIMIT=$(( R + 1 ))
conf=$OUT/vms.crm
{
    echo "property migration-limit=$MIGLIMIT"
    echo "rsc_defaults resource-stickiness=100"
} >"$conf"
for i in $(seq 1 "$VMS"); do
    v=c$i
    VM_NAMES+=("$v")
    if [ "$i" = "$VMS" ]; then
        OS[$v]=linux; guest_xml "$v" --os linux --type qemu "${LEASE[@]}" >/dev/null
    else
        OS[$v]=bm; rnd 3; guest_xml "$v" --os bm --dirty $(( 8 + 8 * R )) --rate 40 "${LEASE[@]}" >/dev/null
    fi
    cfg=$FERRY_LAB_SHARED/$v.xml
    ops="op start timeout=90s interval=0 op stop timeout=60s interval=0 op monitor interval=10s timeout=30s \\
    op migrate_to timeout=120s interval=0 op migrate_from timeout=60s interval=0 meta allow-migrate=true"
    if [ "$KIND" = ferry ]; then
        pick live pause; MODE[$v]=$P
        pick pause abort auto-converge; pol=$P
        echo "primitive $v ocf:ferry:vm params config=\"$cfg\" name=$v migrate=${MODE[$v]} migration_policy=$pol migration_network_suffix=-mig force_stop=true $ops" >>"$conf"
    else
        # the same draws as for ferry, unused: a seed gives both agents the same sequence
        pick live pause; pick pause abort auto-converge
        MODE[$v]=live
        echo "primitive $v ocf:heartbeat:VirtualDomain params config=\"$cfg\" hypervisor=\"qemu:///system\" migration_transport=ssh migration_network_suffix=-mig force_stop=true $ops" >>"$conf"
    fi
    pick node1 node2 node3
    echo "location $v-home $v 50: $P" >>"$conf"
done
since0=$(now_ms)
"$CLUSTER" crm node1 configure load update "$conf" >/dev/null 2>&1 || t_cannot_run "crm configure load update failed"
ev "config migration-limit=$MIGLIMIT vms=${VM_NAMES[*]}"
for v in "${VM_NAMES[@]}"; do
    wait_started "$v" '' 180 >/dev/null || t_cannot_run "$v did not start: $("$CLUSTER" state "$v")"
done
echo "chaos: $VMS VMs started (migration-limit=$MIGLIMIT), running the campaign for ${DUR_S}s"

# ------------------------------------------------------------------------ operations
declare -A TARGET_ROLE=()
for v in "${VM_NAMES[@]}"; do TARGET_ROLE[$v]=Started; done
# op_random: one operation, in the background (several overlap); seeded choices
op_random() {
    local v n
    pick "${VM_NAMES[@]}"; v=$P
    NOPS=$(( NOPS + 1 ))
    rnd 10
    case $R in
    0|1|2) other_node "$(vm_node "$v")"; n=$P
       ev "op move $v $n"; on_live crm_resource --move -r "$v" -N "$n" >/dev/null 2>&1 & ;;
    3) other_node "$(vm_node "$v")"; n=$P
       ev "op crm-move $v $n"; "$CLUSTER" crm "$(live_node)" resource move "$v" "$n" >/dev/null 2>&1 & ;;
    4) pick $FERRY_LAB_HOSTS; n=$P
       ev "op standby $n"; on_live crm_attribute -N "$n" -n standby -v on -l forever >/dev/null 2>&1 & ;;
    5) ev "op restart $v"; "$CLUSTER" crm "$(live_node)" resource restart "$v" >/dev/null 2>&1 & ;;
    6) rnd 3
       if [ "$KIND" = ferry ]; then
           pick pause abort auto-converge
           ev "op param $v migration_policy=$P"; on_live crm_resource -r "$v" -p migration_policy -v "$P" >/dev/null 2>&1 &
       else
           pick pause abort auto-converge    # (ferry's draw, unused)
           ev "op param $v migration_downtime=$(( 100 + R * 200 ))"; on_live crm_resource -r "$v" -p migration_downtime -v $(( 100 + R * 200 )) >/dev/null 2>&1 &
       fi ;;
    7) ev "op stop-start $v"; TARGET_ROLE[$v]=Stopped
       ( on_live crm_resource -r "$v" -m -p target-role -v Stopped >/dev/null 2>&1
         sleep 8; on_live crm_resource -r "$v" -m -p target-role -v Started >/dev/null 2>&1 ) &
       TARGET_ROLE[$v]=Started ;;
    *) other_node "$(vm_node "$v")"; n=$P
       ev "op move $v $n"; on_live crm_resource --move -r "$v" -N "$n" >/dev/null 2>&1 & ;;
    esac
    BG_PIDS+=($!)
}
# clear_ops: the operator undoes what the operations left (move constraints, standby)
clear_ops() {
    local v h
    for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    BG_PIDS=()
    for v in "${VM_NAMES[@]}"; do on_live crm_resource --clear -r "$v" >/dev/null 2>&1; done
    for h in $FERRY_LAB_HOSTS; do on_live crm_attribute -N "$h" -n standby -v off -l forever >/dev/null 2>&1; done
    for v in "${VM_NAMES[@]}"; do on_live crm_resource -r "$v" -m -p target-role -v Started >/dev/null 2>&1; done
}

# -------------------------------------------------------------------------- faults
# the libvirtd of HOST: pid from the lab's pid file
daemon_pid() { pidfile_pid "$FERRY_LAB_DIR/$1/$2.pid"; }   # HOST DAEMON: nothing if it has died (lab/pids.sh)
holder() { daemon_pid "$1" holder; }
agent_pids() { # HOST ACTION: the agent processes pacemaker-execd runs for ACTION on HOST
    # execd runs the agent by its OCF path: .../resource.d/ferry/vm ACTION. A lookup by
    # the parent is fast enough to catch a migrate_to of a few seconds (a walk over /proc
    # in bash took about a second under load: most actions had ended by then)
    local want=resource.d/ferry/vm pm ex
    [ "$KIND" = vd ] && want=resource.d/heartbeat/VirtualDomain
    pm=$(daemon_pid "$1" pacemakerd) || return 0
    for ex in $(pgrep -P "$pm" -x pacemaker-execd); do
        ps -o pid=,args= --ppid "$ex" 2>/dev/null | awk -v w="$want $2" 'index($0, w) { print $1 }'
    done
}
qemu_pid() { # HOST GUEST: the pid of GUEST's QEMU on HOST, from libvirt's pid file
    # (a walk over /proc in bash was slow: the QEMU of a migrating guest had often ended)
    local p
    p=$(cat "/proc/$(holder "$1")/root/run/libvirt/qemu/$2.pid" 2>/dev/null)   # no newline at its end
    [ -n "$p" ] || return 0
    case $(cat "/proc/$p/comm" 2>/dev/null) in qemu-system*) ;; *) return 0 ;; esac
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "-name guest=$2," && echo "$p"
}
repair_all() {
    local r
    for r in "${REPAIRS[@]}"; do eval "$r" >/dev/null 2>&1; done
    REPAIRS=()
}

ALL_FAULTS="agent-kill libvirtd-kill libvirtd-restart sshd-stop mig-cut corosync-cut poweroff qemu-kill statedir config-unreadable nonconverging slow-target"
# fault KIND MIG_VM SRC DST: inject KIND now; a migration of MIG_VM from SRC to DST may be
# in flight ("-" if none). Sets F_DESC, F_NODE (the node hit), F_NODELOSS=1 if a node is lost
fault() {
    local kind=$1 v=$2 src=$3 dst=$4 p h pids
    F_NODELOSS=0 F_DESC=$kind F_NODE=- F_HIT=1
    case $kind in
    agent-kill)    # Pacemaker's timeout kill, early: migrate_to on the source or migrate_from on the target
        if [ "$v" != - ]; then
            # the action itself, as soon as it runs (a migrate_to of a small guest takes
            # seconds: the CIB's pending record comes too late to aim by)
            pick src dst
            local side=$P end=$(( $(now_ms) + 15000 ))
            # the target's migrate_from comes once migrate_to has returned: a source that is
            # too late takes it, a target waits for it
            while :; do
                h=$dst pids=""
                [ "$side" = src ] && { h=$src pids=$(agent_pids "$src" migrate_to); }
                [ -z "$pids" ] && { h=$dst pids=$(agent_pids "$dst" migrate_from); }
                [ -n "$pids" ] || [ "$(now_ms)" -ge "$end" ] && break
                sleep 0.05
            done
        else
            pick "${VM_NAMES[@]}"; h=$(vm_node "$P"); pids=$(agent_pids "$h" monitor)
        fi
        F_NODE=$h F_DESC="agent-kill on $h (pids ${pids:-none})"
        for p in $pids; do kill -KILL -- "-$(ps -o pgid= -p "$p" | tr -d ' ')" 2>/dev/null || kill -KILL "$p" 2>/dev/null; done
        [ -n "$pids" ] || F_HIT=0 F_DESC="agent-kill on $h: no agent process found (the action had ended)" ;;
    libvirtd-kill)
        if [ "$v" != - ]; then pick "$src" "$dst"; h=$P; else pick $FERRY_LAB_HOSTS; h=$P; fi
        F_NODE=$h F_DESC="libvirtd SIGKILLed on $h"
        kill -KILL "$(daemon_pid "$h" libvirtd)" 2>/dev/null || F_HIT=0
        rnd 10; sleep $(( 2 + R ))
        "$LAB" daemon "$h" libvirtd start >/dev/null 2>&1 ;;
    libvirtd-restart)
        if [ "$v" != - ]; then pick "$src" "$dst"; h=$P; else pick $FERRY_LAB_HOSTS; h=$P; fi
        F_NODE=$h F_DESC="libvirtd restarted on $h"
        "$LAB" daemon "$h" libvirtd restart >/dev/null 2>&1 ;;
    sshd-stop)
        if [ "$v" != - ]; then h=$dst; else pick $FERRY_LAB_HOSTS; h=$P; fi
        F_NODE=$h F_DESC="sshd stopped on $h"
        "$LAB" daemon "$h" sshd stop >/dev/null 2>&1
        REPAIRS+=("'$LAB' daemon $h sshd start")
        rnd 20; sleep $(( 5 + R )) ;;
    mig-cut)
        if [ "$v" != - ]; then pick "$src" "$dst"; h=$P; else pick $FERRY_LAB_HOSTS; h=$P; fi
        F_NODE=$h F_DESC="migration link of $h cut"
        "$LAB" link "$h" down mig >/dev/null 2>&1
        REPAIRS+=("'$LAB' link $h up mig")
        rnd 20; sleep $(( 5 + R )) ;;
    corosync-cut)
        if [ "$v" != - ]; then pick "$src" "$dst"; h=$P; else pick $FERRY_LAB_HOSTS; h=$P; fi
        F_NODE=$h F_NODELOSS=1 F_DESC="cluster link of $h cut (quorum loss, fencing)"
        local flog=$FERRY_LAB_DIR/$h/cluster/fence.log since
        since=$(chaos_fence_log_size "$flog")
        "$LAB" link "$h" down mgmt >/dev/null 2>&1
        REPAIRS+=("'$LAB' link $h up mgmt")
        # until the others have fenced it (bounded); the log keeps the run's earlier fencings of $h
        local end=$(( $(now_ms) + 60000 ))
        while [ "$(now_ms)" -lt "$end" ] && ! chaos_fence_log_fenced_since "$flog" "$since"; do sleep 0.5; done
        chaos_fence_log_fenced_since "$flog" "$since" || F_DESC="$F_DESC, not fenced within 60 s"
        sleep 3
        "$LAB" link "$h" up mgmt >/dev/null 2>&1 ;;
    poweroff)      # through the fence device: the VMs' node, the DC or the migration target
        if [ "$v" != - ]; then h=$dst; else
            pick vm dc; if [ "$P" = dc ]; then h=$(dc_node); else pick "${VM_NAMES[@]}"; h=$(vm_node "$P"); fi
        fi
        case $h in node[1-9]) ;; *) pick $FERRY_LAB_HOSTS; h=$P ;; esac
        F_NODE=$h F_NODELOSS=1 F_DESC="$h powered off by the fence device"
        on "$(live_node "$h")" stonith_admin --reboot "$h" --timeout 60 >/dev/null 2>&1 ;;
    qemu-kill)
        local x after=""
        if [ "$v" != - ]; then
            # the source's or the target's QEMU; the other if that one has ended
            pick "$src" "$dst"; h=$P; p=$(qemu_pid "$h" "$v")
            if [ -z "$p" ]; then
                [ "$h" = "$src" ] && h=$dst || h=$src
                p=$(qemu_pid "$h" "$v")
            fi
            [ -n "$p" ] || after=" (the migration had ended)"
        else
            pick "${VM_NAMES[@]}"; v=$P
        fi
        if [ -z "$p" ]; then
            # the node where its QEMU runs (an operation may be moving it right now)
            h=-
            for x in $FERRY_LAB_HOSTS; do p=$(qemu_pid "$x" "$v"); [ -n "$p" ] && { h=$x; break; }; done
        fi
        F_NODE=$h F_DESC="QEMU of $v killed on $h (pid ${p:-none})$after"
        if [ -n "$p" ]; then kill -KILL "$p"; else F_HIT=0; fi ;;
    statedir)
        if [ "$v" != - ]; then pick "$src" "$dst"; h=$P; else pick $FERRY_LAB_HOSTS; h=$P; fi
        F_NODE=$h
        pick ro full
        if [ "$P" = ro ]; then
            F_DESC="state directory read-only on $h"
            on "$h" mount --bind -o ro /run/resource-agents /run/resource-agents
            REPAIRS+=("'$LAB' exec $h umount /run/resource-agents")
        else
            F_DESC="state directory (/run) full on $h"
            on "$h" sh -c 'dd if=/dev/zero of=/run/resource-agents/chaos-fill bs=1M >/dev/null 2>&1; true'
            REPAIRS+=("'$LAB' exec $h rm -f /run/resource-agents/chaos-fill")
        fi
        rnd 20; sleep $(( 10 + R )) ;;
    config-unreadable)   # the share holding the configuration stalls/disappears on one node
        if [ "$v" != - ]; then pick "$src" "$dst"; h=$P; else pick $FERRY_LAB_HOSTS; h=$P; fi
        F_NODE=$h F_DESC="configuration share gone on $h"
        on "$h" mount -t tmpfs -o size=1m,mode=0700 chaos-noshare "$FERRY_LAB_SHARED"
        REPAIRS+=("'$LAB' exec $h umount $FERRY_LAB_SHARED")
        rnd 20; sleep $(( 10 + R )) ;;
    nonconverging)  # the migration link slower than the guest dirties memory
        if [ "$v" != - ]; then h=$src; else pick $FERRY_LAB_HOSTS; h=$P; fi
        F_NODE=$h F_DESC="migration link of $h throttled to 8 Mbit/s"
        on "$h" tc qdisc add dev eth1 root tbf rate 8mbit burst 32kb latency 400ms
        REPAIRS+=("'$LAB' exec $h tc qdisc del dev eth1 root")
        rnd 30; sleep $(( 20 + R )) ;;
    slow-target)
        if [ "$v" != - ]; then h=$dst; else pick $FERRY_LAB_HOSTS; h=$P; fi
        p=$(daemon_pid "$h" libvirtd)
        rnd 8
        F_NODE=$h F_DESC="libvirtd of $h stopped (SIGSTOP) for $(( 3 + R ))s"
        kill -STOP "$p" 2>/dev/null || F_HIT=0
        REPAIRS+=("kill -CONT $p")
        sleep $(( 3 + R )) ;;
    esac
}

# fences_total: fencing operations in any live node's history (the largest count); --verbose:
# without it stonith_admin lists only the latest fencing of each node
fences_total() {
    local h n max=0
    for h in $FERRY_LAB_HOSTS; do
        n=$(on "$h" stonith_admin --history '*' --verbose 2>/dev/null | grep -c 'reboot\|off' || true)
        [ "${n:-0}" -gt "$max" ] && max=$n
    done
    echo "$max"
}
# all_good: every VM whose target-role is Started runs on exactly one node in the CIB,
# nothing pending, and libvirt (read by us, not by the agent) agrees
all_good() {
    local v n s
    "$CLUSTER" wait-online --timeout 1 >/dev/null 2>&1 || return 1
    for v in "${VM_NAMES[@]}"; do
        [ "${TARGET_ROLE[$v]}" = Started ] || continue
        s=$("$CLUSTER" state "$v" 2>/dev/null)
        read -r role n pend <<<"$s"
        [ "$role" = Started ] && [ "$pend" = - ] && [[ $n != *,* ]] && [ "$n" != - ] || return 1
        [ "$(on "$n" virsh -q domstate "$v" 2>/dev/null | head -n 1)" = running ] || return 1
        for h in $FERRY_LAB_HOSTS; do
            [ "$h" = "$n" ] && continue
            case $(on "$h" virsh -q domstate "$v" 2>/dev/null | head -n 1) in running|paused) return 1 ;; esac
        done
    done
}
# settle T0: repair, then wait (bounded) until all_good; prints the recovery ms, or "-" (violation)
settle() {
    local t0=$1 end cleaned=0
    repair_all
    clear_ops
    end=$(( $(now_ms) + SETTLE_S * 1000 ))
    while :; do
        # powered-off nodes come back by themselves (fence_ferrylab reboot); make sure of it
        if "$CLUSTER" wait-idle 1 >/dev/null 2>&1 && all_good; then
            echo $(( $(now_ms) - t0 )); return 0
        fi
        if [ "$cleaned" = 0 ] && [ "$(now_ms)" -gt $(( end - SETTLE_S * 500 )) ]; then
            # the operator's cleanup after half the bound (failcounts, failed actions)
            ev "op cleanup"; on_live crm_resource --cleanup >/dev/null 2>&1; cleaned=1
        fi
        [ "$(now_ms)" -lt "$end" ] || break
        sleep 1
    done
    echo -; return 1
}
# resets SINCE_MS: the guests' restarts (heartbeat sequence resets) since then, total
resets_since() {
    local v n=0 r
    for v in "${VM_NAMES[@]}"; do
        r=$(ticks_report "$v" "$1" 2>/dev/null | sed -n 's/^resets=//p')
        n=$(( n + ${r:-0} ))
    done
    echo "$n"
}

# -------------------------------------------------------------------------- the run
FAULTS=${ONLY//,/ }
FAULTS=${FAULTS:-$ALL_FAULTS}
read -r -a FAULT_LIST <<<"$FAULTS"
ev "start seed=$SEED"
end_s=$(( $(date +%s) + DUR_S ))
while [ "$(date +%s)" -lt "$end_s" ]; do
    # one to three operations, overlapping
    rnd 3
    for _ in $(seq 0 "$R"); do op_random; rnd 4; sleep "$R"; done
    if [ "$CYCLE" = 1 ]; then kind=${FAULT_LIST[$(( NFAULTS % ${#FAULT_LIST[@]} ))]}; else pick "${FAULT_LIST[@]}"; kind=$P; fi
    # most faults wait for a migrate_to in flight (started by a move if need be)
    rnd 10; mig=$R
    v=- src=- dst=-
    # counted before the move: on three nodes it takes seconds, which a short migrate_to has not
    fences0=$(fences_total)
    case $kind in agent-kill|nonconverging|slow-target) mig=0 ;; poweroff|corosync-cut) [ "$mig" -lt 5 ] || mig=9 ;; esac
    if [ "$mig" -lt 7 ]; then
        rm -f "$OUT/inflight"
        if [ "$kind" = nonconverging ]; then
            # throttle first, then move: the copy cannot converge
            pick "${VM_NAMES[@]}"; v=$P; src=$(vm_node "$v")
            case $src in node[1-9]) ;; *) src=node1 ;; esac
            on "$src" tc qdisc add dev eth1 root tbf rate 8mbit burst 32kb latency 400ms
            REPAIRS+=("'$LAB' exec $src tc qdisc del dev eth1 root")
            other_node "$src"; ev "op move $v $P"; NOPS=$(( NOPS + 1 ))
            on_live crm_resource --move -r "$v" -N "$P" >/dev/null 2>&1
        elif ! [ -s "$OUT/inflight" ]; then
            pick "${VM_NAMES[@]}"; v=$P
            other_node "$(vm_node "$v")"; ev "op move $v $P"; NOPS=$(( NOPS + 1 ))
            on_live crm_resource --move -r "$v" -N "$P" >/dev/null 2>&1
        fi
        # wait (bounded) for a migrate_to in flight, then a seeded delay into it
        end=$(( $(now_ms) + 30000 ))
        while [ "$(now_ms)" -lt "$end" ] && ! [ -s "$OUT/inflight" ]; do sleep 0.2; done
        if read -r v src dst <"$OUT/inflight" 2>/dev/null && [ -n "$dst" ]; then
            rnd 20; [ "$kind" = agent-kill ] || sleep "0.$(( R * 5 ))"   # 0-0.95 s into it
        else
            v=- src=- dst=-
        fi
    fi
    NFAULTS=$(( NFAULTS + 1 ))
    t0=$(now_ms)
    ev "fault-begin $kind vm=$v src=$src dst=$dst"
    if [ "$kind" = nonconverging ] && [ "$v" != - ]; then
        F_NODE=$src F_NODELOSS=0 F_HIT=1 F_DESC="migration link of $src throttled to 8 Mbit/s before the move"
        rnd 30; sleep $(( 20 + R ))
    else
        fault "$kind" "$v" "$src" "$dst"
    fi
    ev "fault $kind node=$F_NODE nodeloss=$F_NODELOSS vm=$v src=$src dst=$dst desc=$F_DESC"
    during=""; [ "$v" != - ] && during=" (during the migration of $v $src -> $dst)"
    echo "chaos: $(date -u +%T) fault $NFAULTS: $F_DESC$during"
    rec=$(settle "$t0")
    ev "settled $kind recovery_ms=$rec"
    fences1=$(fences_total)
    nres=$(resets_since "$t0")
    where=-; [ "$v" != - ] && where=$(vm_node "$v")
    if [ $(( fences1 - fences0 )) -gt 0 ]; then outcome=fenced
    elif [ "$nres" -gt 0 ]; then outcome=restarted
    elif [ "$v" = - ]; then outcome=no-restart
    elif [ "$where" = "$dst" ]; then outcome=completed
    elif [ "$where" = "$src" ]; then outcome=aborted
    else outcome=elsewhere; fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$KIND" "$SEED" "$t0" "$kind" "$( [ "$v" != - ] && echo 1 || echo 0)" \
        "$v" "$src" "$dst" "$F_NODE" "$outcome" "$rec" "$(( fences1 - fences0 ))/$nres/$F_NODELOSS" "$F_HIT" >>"$OUT/faults.tsv"
    echo "chaos:    -> $outcome, recovered in ${rec} ms, fences $(( fences1 - fences0 )), guest restarts $nres"
    if [ "$rec" = - ]; then
        violation 4 "after '$F_DESC': not every Started VM runs exactly once within ${SETTLE_S}s: $(for x in "${VM_NAMES[@]}"; do printf '%s=%s; ' "$x" "$("$CLUSTER" state "$x" 2>/dev/null)"; done)"
        on_live crm_resource --cleanup >/dev/null 2>&1
        settle "$(now_ms)" >/dev/null || { violation 4 "the cluster did not recover at all; stopping the run"; break; }
    fi
    if [ $(( fences1 - fences0 )) -gt 0 ] && [ "$F_NODELOSS" = 0 ]; then
        violation 5 "a node was fenced after '$F_DESC', which loses no node (a failed stop?)"
    fi
done
exit 0
