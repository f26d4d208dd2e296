#!/bin/bash
# demo.sh — ferry's main job, end to end, on one machine: installs and builds
# what is missing, brings up two lab KVM hosts (namespaces, each with its own
# libvirtd and sshd, on 198.51.100.0/24 + a migration network 203.0.113.0/24),
# then, through the agent exactly as Pacemaker calls it:
#   - starts a guest that rewrites and verifies 16 MiB of its memory,
#   - migrates it live node1 -> node2 and paused node2 -> node1
#     (migrate_to on the source, migrate_from on the target, stop on the source),
#   - does the same with a Debian kernel guest (TCG) that has a network card on
#     a segment spanning both hosts, pinged every 10 ms from a client there
#     (it answers at the same IP and MAC after each move; the outage is shown),
#     and a guest that dirties memory faster than a 10 MiB/s link (the
#     non-convergence policy at work),
# then makes the same three hosts a Corosync + Pacemaker cluster (fencing on)
# and lets Pacemaker drive the agent, as operators use it: two VMs (one
# migrate=live, one migrate=pause), `crm resource move` of each, `crm node
# standby` evacuating a node, a node powered off, fenced and its VM restarted
# elsewhere. Prints what happened, and tears the lab down.
set -euo pipefail
cd "$(dirname "$0")"
top=$(pwd)

[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (the lab uses namespaces and its own libvirtd)" >&2; exit 1; }
./bootstrap.sh
export FERRY_LAB_DIR=/var/tmp/ferry-demo
LAB=$top/tests/lab/lab.sh
OUT=$top/tests/guests/out
AGENT=$top/agents/vm
tests/guests/build.sh "$OUT"
if [ -e "$FERRY_LAB_DIR" ]; then "$LAB" down >/dev/null 2>&1 || true; fi
PROBE_PID=
probe_stop() { if [ -n "$PROBE_PID" ]; then kill "$PROBE_PID" 2>/dev/null || true; wait "$PROBE_PID" 2>/dev/null || true; PROBE_PID=; fi; }
CLUSTER=$top/tests/lab/cluster.sh
trap 'probe_stop; echo; [ -d "$FERRY_LAB_DIR/cluster" ] && "$CLUSTER" down | tail -n 1; "$LAB" down | tail -n 1' EXIT
echo "demo: bringing up 3 lab hosts"
"$LAB" up 3 --ticks "$OUT/ferry-ticks" | sed 's/^/  /'
eval "$("$LAB" env)"
mkdir -p "$FERRY_LAB_SHARED/artifacts"
cp "$OUT"/ferry-bm.elf "$OUT"/vmlinuz "$OUT"/initrd.img "$FERRY_LAB_SHARED/artifacts/"
TICKS=$FERRY_LAB_DIR/ticks.log
LOG=$FERRY_LAB_DIR/agent.log

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# agent HOST ACTION RSC CONFIG [VAR=value...]: the agent as pacemaker-execd runs it
agent() {
    local host=$1 action=$2 rsc=$3 config=$4
    shift 4
    "$LAB" exec "$host" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin OCF_ROOT=/usr/lib/ocf \
        OCF_RA_VERSION_MAJOR=1 OCF_RA_VERSION_MINOR=1 OCF_RESOURCE_INSTANCE="$rsc" \
        OCF_RESKEY_CRM_meta_timeout=120000 OCF_RESKEY_config="$config" HA_LOGFACILITY=none \
        "$@" "$AGENT" "$action" 2>>"$LOG"
}
field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2" | tail -n 1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

header() {
printf '\n| %-9s | %-14s | %-7s | %-6s | %-16s | %8s | %8s | %8s | %8s | %8s | %7s | %-14s |\n' \
    guest move mode policy outcome "total ms" "downtime" "pause ms" "tick gap" "ping gap" "MiB" "guest"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ----------- ---------------- --------- -------- \
    ------------------ ---------- ---------- ---------- ---------- ---------- --------- ----------------
}
header

# move GUEST CONFIG SRC DST [VAR=value...]: Pacemaker's sequence, and one table row
move() {
    local g=$1 cfg=$2 src=$3 dst=$4 since rc=0 line rep guest ping=-
    shift 4
    since=$(now_ms)
    agent "$src" migrate_to "p_$g" "$cfg" OCF_RESKEY_CRM_meta_migrate_source="$src" \
        OCF_RESKEY_CRM_meta_migrate_target="$dst" "$@" || rc=$?
    line=$(grep -o "domain=$g .*" "$LOG" | tail -n 1)
    if [ "$rc" = 0 ]; then
        agent "$dst" migrate_from "p_$g" "$cfg" OCF_RESKEY_CRM_meta_migrate_source="$src" \
            OCF_RESKEY_CRM_meta_migrate_target="$dst" "$@" || rc=$?
        agent "$src" stop "p_$g" "$cfg" || rc=$?
    fi
    "$OUT/ferry-ticks" wait "$TICKS" "$g" --count 25 --timeout-ms 10000 --since "$(now_ms)" >/dev/null || true
    rep=$("$OUT/ferry-ticks" report "$TICKS" "$g" --since "$since" || true)
    guest="resets=$(sed -n 's/^resets=//p' <<<"$rep") bad=$(sed -n 's/^bad=//p' <<<"$rep")"
    if [ "$g" = vm-linux ] && [ -n "$PROBE_PID" ]; then
        # the client's view: replies from the same IP and MAC again, and the longest silence
        "$OUT/ferry-probe" wait "$PLOG" --mac "$MAC" --count 50 --timeout-ms 20000 --since "$(now_ms)" >/dev/null || true
        ping=$("$OUT/ferry-probe" report "$PLOG" --mac "$MAC" --since "$since" --until "$(now_ms)" | sed -n 's/^max_gap_ms=//p')
    fi
    row "$g" "$src -> $dst" "$line" "$([ "$rc" = 0 ] && field outcome "$line" || echo "FAILED rc $rc")" \
        "$(sed -n 's/^max_gap_ms=//p' <<<"$rep")" "${ping:--}" "$guest"
}

# row GUEST MOVE LOGLINE OUTCOME TICKGAP PINGGAP GUESTSTATE: one table row
row() {
    printf '| %-9s | %-14s | %-7s | %-6s | %-16s | %8s | %8s | %8s | %8s | %8s | %7s | %-14s |\n' \
        "$1" "$2" "$(field mode "$3")" "$(field policy "$3")" "$4" "$(field total_ms "$3")" \
        "$(field downtime_ms "$3" | sed 's/^-1$/-/')" "$(field pause_ms "$3" | sed 's/^-1$/-/')" \
        "$5" "$6" "$(mib "$(field bytes "$3")")" "$7"
}

start() {
    local g=$1 cfg=$2 since
    since=$(now_ms)
    agent node1 start "p_$g" "$cfg"
    "$OUT/ferry-ticks" wait "$TICKS" "$g" --count 50 --timeout-ms 30000 --since "$since" >/dev/null
}

mk() { tests/guests/mkdomain.sh --name "$1" --artifacts "$FERRY_LAB_SHARED/artifacts" \
        --collector "$FERRY_LAB_COLLECTOR" "${@:2}" >"$FERRY_LAB_SHARED/$1.xml"; echo "$FERRY_LAB_SHARED/$1.xml"; }

vm=$(mk vm-bm --os bm --dirty 16 --rate 40)
start vm-bm "$vm"
move vm-bm "$vm" node1 node2 OCF_RESKEY_migrate=live
move vm-bm "$vm" node2 node1 OCF_RESKEY_migrate=pause
move vm-bm "$vm" node1 node2 OCF_RESKEY_migrate=live OCF_RESKEY_migration_network_suffix=-mig
move vm-bm "$vm" node2 node1 OCF_RESKEY_migrate=live OCF_RESKEY_tunnelled=true
agent node1 stop p_vm-bm "$vm" OCF_RESKEY_force_stop=true

MAC=52:54:00:fe:00:01 IP=203.0.113.101 PLOG=$FERRY_LAB_DIR/probe.log
lx=$(mk vm-linux --os linux --type qemu --mem 160 --nic "$MAC" --ip "$IP/24")
start vm-linux "$lx"
"$LAB" exec client "$OUT/ferry-probe" ping "$IP" "$PLOG" --interval-ms 10 --max-seconds 600 </dev/null &
PROBE_PID=$!
"$OUT/ferry-probe" wait "$PLOG" --mac "$MAC" --count 50 --timeout-ms 60000 >/dev/null || true
move vm-linux "$lx" node1 node2 OCF_RESKEY_migrate=live
move vm-linux "$lx" node2 node1 OCF_RESKEY_migrate=pause
probe_stop
agent node1 stop p_vm-linux "$lx"

busy=$(mk vm-busy --os bm --mem 96 --dirty 48)
start vm-busy "$busy"
NC="OCF_RESKEY_migration_speed=10 OCF_RESKEY_migration_stall_timeout=4 OCF_RESKEY_migration_timeout_per_gib=8"
# shellcheck disable=SC2086
move vm-busy "$busy" node1 node2 $NC OCF_RESKEY_migration_policy=abort
# shellcheck disable=SC2086
move vm-busy "$busy" node1 node2 $NC OCF_RESKEY_migration_policy=pause
agent node2 stop p_vm-busy "$busy" OCF_RESKEY_force_stop=true

cat <<'TXT'

  total ms: wall time of migrate_to (ssh + libvirt's phases + the copy)
  downtime: libvirt's measure of the switch-over pause
  pause ms: the guest-visible pause measured by the agent (pause mode, or the policy's pause)
  tick gap: the longest silence in the guest's 20 ms heartbeat, seen from the network
  ping gap: vm-linux's network card is on a segment that spans both hosts; a client there
            pings 203.0.113.101 every 10 ms: the longest time without a reply (from the
            same MAC) across the move (TCG makes its switch-over slower than KVM's)
  guest:    resets=0 means the guest never rebooted; bad=0 means its own check of every
            page it wrote found nothing lost or corrupted
  vm-busy dirties 48 MiB at ~200 MiB/s over a 10 MiB/s link: 'abort' gives up and leaves
  it running on node1; 'pause' suspends it for the last copy and it completes.
TXT
echo
echo "demo: the agent's log:"
grep -E "migrate_to|ERROR" "$LOG" | cut -c1-220 | tail -n 14 | sed 's/^/  /'

# --- the same hosts as a Pacemaker cluster: Pacemaker drives the agent -------
echo
echo "demo: the three hosts become a Corosync + Pacemaker cluster (fencing on)"
# ocf:ferry:vm inside the lab hosts only: a copy of the OCF agent tree with
# ours added, bind-mounted over /usr/lib/ocf/resource.d in each host
ocf=$FERRY_LAB_DIR/ocf-resource.d
cp -a /usr/lib/ocf/resource.d "$ocf"
mkdir -p "$ocf/ferry"
ln -s "$AGENT" "$ocf/ferry/vm"
for h in $FERRY_LAB_HOSTS; do "$LAB" exec "$h" mount --bind "$ocf" /usr/lib/ocf/resource.d; done
"$CLUSTER" up 2>/dev/null | grep '^cluster up:' | sed 's/^/  /'
crm() { "$CLUSTER" crm node1 "$@"; }
ca=$(mk vm-a --os bm --dirty 16 --rate 40)
cb=$(mk vm-b --os bm --dirty 16 --rate 40)
primitive() { cat <<CRM
primitive $1 ocf:ferry:vm \\
    params config="$2" name=$1 migrate=$3 shutdown_timeout=5s \\
    op start timeout=90s interval=0 op stop timeout=90s interval=0 \\
    op monitor interval=5s timeout=30s \\
    op migrate_to timeout=120s interval=0 op migrate_from timeout=60s interval=0 \\
    meta allow-migrate=true
CRM
}
{
    echo "property migration-limit=1"
    echo "rsc_defaults resource-stickiness=100"
    primitive vm-a "$ca" live
    primitive vm-b "$cb" pause
    echo "location vm-a-home vm-a 50: node1"
    echo "location vm-b-home vm-b 50: node1"
} >"$FERRY_LAB_DIR/vms.crm"
sed 's/^/  /' "$FERRY_LAB_DIR/vms.crm"
since=$(now_ms)
crm configure load update "$FERRY_LAB_DIR/vms.crm" 2>/dev/null
"$CLUSTER" wait-started vm-a node1 120 >/dev/null
"$CLUSTER" wait-started vm-b node1 120 >/dev/null
for g in vm-a vm-b; do "$OUT/ferry-ticks" wait "$TICKS" "$g" --count 25 --timeout-ms 30000 --since "$since" >/dev/null; done
node_of() { "$CLUSTER" state "$1" | cut -d' ' -f2; }
secs() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }
EVENTS=()

# cluster_row GUEST SRC DST SINCE WHAT: the row of a migration Pacemaker ran
# (from the source agent's statistics line), and how long the whole step took
cluster_row() {
    local g=$1 src=$2 dst=$3 since=$4 what=$5 line rep
    line=$("$LAB" exec "$src" cat /run/resource-agents/ferry-migrations.log |
        grep -o "domain=$g from=$src to=$dst .*" | tail -n 1)
    "$OUT/ferry-ticks" wait "$TICKS" "$g" --count 25 --timeout-ms 10000 --since "$(now_ms)" >/dev/null || true
    rep=$("$OUT/ferry-ticks" report "$TICKS" "$g" --since "$since" || true)
    row "$g" "$src -> $dst" "$line" "$(field outcome "$line")" "$(sed -n 's/^max_gap_ms=//p' <<<"$rep")" - \
        "resets=$(sed -n 's/^resets=//p' <<<"$rep") bad=$(sed -n 's/^bad=//p' <<<"$rep")"
    EVENTS+=("$what: $(secs "$since") s from the command to the VM settled on $dst")
}

echo
echo "demo: Pacemaker drives the agent"
header
for g in vm-a vm-b; do
    since=$(now_ms)
    crm resource move "$g" node2 >/dev/null 2>&1
    "$CLUSTER" wait-started "$g" node2 120 >/dev/null
    cluster_row "$g" node1 node2 "$since" "crm resource move $g node2"
    crm resource clear "$g" >/dev/null 2>&1
done
"$CLUSTER" wait-idle 60 >/dev/null || true
since=$(now_ms)
crm node standby node2 >/dev/null 2>&1
"$CLUSTER" wait-started vm-a '!node2' 180 >/dev/null
"$CLUSTER" wait-started vm-b '!node2' 180 >/dev/null
for g in vm-a vm-b; do cluster_row "$g" node2 "$(node_of "$g")" "$since" "crm node standby node2 ($g)"; done
crm node online node2 >/dev/null 2>&1
"$CLUSTER" wait-idle 60 >/dev/null || true
victim=$(node_of vm-a)
since=$(now_ms)
"$CLUSTER" poweroff "$victim" >/dev/null
"$CLUSTER" wait-started vm-a "!$victim" 180 >/dev/null
dst=$(node_of vm-a)
"$OUT/ferry-ticks" wait "$TICKS" vm-a --count 25 --timeout-ms 30000 --since "$(now_ms)" >/dev/null || true
rep=$("$OUT/ferry-ticks" report "$TICKS" vm-a --since "$since" || true)
printf '| %-9s | %-14s | %-7s | %-6s | %-16s | %8s | %8s | %8s | %8s | %8s | %7s | %-14s |\n' \
    vm-a "$victim -> $dst" - - "restarted" - - - "$(sed -n 's/^max_gap_ms=//p' <<<"$rep")" - - \
    "resets=$(sed -n 's/^resets=//p' <<<"$rep") bad=$(sed -n 's/^bad=//p' <<<"$rep")"
EVENTS+=("$victim powered off: fenced ($("$LAB" exec "$dst" stonith_admin --history "$victim" 2>/dev/null | grep -c 'reboot\|off' || true) fencing operation(s) in the history), vm-a started on $dst $(secs "$since") s after the power-off")
echo
printf '  %s\n' "${EVENTS[@]}"
cat <<'TXT'

  Pacemaker chose migrate_to/migrate_from for each move and for the standby
  (allow-migrate=true, one migration at a time: migration-limit=1); vm-a moved
  live, vm-b paused, as each one's migrate= says. A node that vanishes cannot
  hand its VM over: it is fenced first, then the VM boots on a survivor
  (resets=1: a restart, the only way to recover from a lost host).
  (shutdown_timeout=5s: these bare-metal test guests ignore ACPI, so the
  teardown's stops do not wait for them.)
TXT
# the fenced node boots again (the lab's fence agent does reboot); then a calm teardown
"$CLUSTER" wait-online --timeout 120 >/dev/null 2>&1 || true
