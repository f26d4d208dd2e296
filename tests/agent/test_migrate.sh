#!/bin/bash
# test_migrate.sh — migrate_to / migrate_from between two real lab hosts over
# qemu+ssh, with the OCF environment Pacemaker 2.1.5 sets for them:
# live and pause, both directions, per-VM mode, idle and memory-dirtying
# guests (the heartbeat and the guest's own page verification prove the
# memory state survived), non-converging guests under each policy, failures
# (target sshd down, host key changed, libvirtd down, short of memory,
# migration network cut, unknown node), the target's half of an interrupted
# migration, tunnelled and migration-network transports.
. "$(dirname "$0")/lablib.sh"

lab_setup 2
TIMEOUT_MS=120000

state_on() { on "$1" virsh -q domstate "$2" 2>/dev/null | head -n 1; }
field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2" | tail -n 1; }

# move NAME CONFIG SRC DST [VAR=value...]: the full Pacemaker sequence
# (migrate_to, migrate_from, stop on the source), checked end to end.
move() {
    local name=$1 cfg=$2 src=$3 dst=$4 since line
    shift 4
    since=$(now_ms)
    t_expect_rc "$name: migrate_to $src -> $dst $*" 0 migrate_to "$src" "$dst" "$cfg" "$@"
    line=$(grep -o 'domain=.*' <<<"$T_ERR" | tail -n 1)
    LAST_LINE=$line
    t_log "     stats: $line"
    t_expect_rc "$name: migrate_from on $dst" 0 migrate_from "$src" "$dst" "$cfg" "$@"
    t_expect_rc "$name: stop on the source $src" 0 agent "$src" stop OCF_RESKEY_config="$cfg"
    t_expect_rc "$name: monitor on $dst" 0 agent "$dst" monitor OCF_RESKEY_config="$cfg" OCF_RESKEY_CRM_meta_interval=10000
    t_expect_rc "$name: probe on $src" 7 agent "$src" monitor OCF_RESKEY_config="$cfg"
    ticks_wait "$name" 25 10000 "$(now_ms)" || true
    local rep
    rep=$(ticks_report "$name" "$since")
    if grep -qx 'resets=0' <<<"$rep" && grep -qx 'bad=0' <<<"$rep" && grep -q '^switch_1=' <<<"$rep"; then
        t_pass "$name: the guest kept running across the move (no reboot, 0 bad pages, max gap $(sed -n 's/^max_gap_ms=//p' <<<"$rep") ms)"
    else
        t_fail "$name: heartbeat after the move: $(tr '\n' ' ' <<<"$rep")"
    fi
}

# running_unpaused_on HOST NAME DESC: exactly one copy, on HOST, running.
only_on() {
    local host=$1 name=$2 desc=$3 other
    other=$([ "$host" = node1 ] && echo node2 || echo node1)
    local s o
    s=$(state_on "$host" "$name") o=$(state_on "$other" "$name")
    if [ "$s" = running ] && [ -z "$o" -o "$o" = "shut off" ]; then
        t_pass "$desc: runs unpaused on $host only"
    else
        t_fail "$desc: $host says '${s:-absent}', $other says '${o:-absent}'"
    fi
}

# --- per-VM mode, both directions, memory-dirtying guests -------------------
g_live=$(guest_xml g-live --os bm --dirty 16 --rate 40)
g_pause=$(guest_xml g-pause --os bm --dirty 16 --rate 40)
since=$(now_ms)
t_expect_rc "start g-live on node1" 0 agent node1 start OCF_RESKEY_config="$g_live"
t_expect_rc "start g-pause on node1" 0 agent node1 start OCF_RESKEY_config="$g_pause"
t_ok "both guests run" sh -c "$(declare -f ticks_wait); GUESTS_OUT='$GUESTS_OUT' TICKS_LOG='$TICKS_LOG'; ticks_wait g-live 25 15000 $since && ticks_wait g-pause 25 15000 $since"
move g-live "$g_live" node1 node2 OCF_RESKEY_migrate=live
case "$LAST_LINE" in *"mode=live"*"outcome=completed"*) t_pass "g-live went live" ;; *) t_fail "g-live: $LAST_LINE" ;; esac
move g-pause "$g_pause" node1 node2 OCF_RESKEY_migrate=pause
case "$LAST_LINE" in *"mode=pause"*"outcome=completed"*) t_pass "g-pause went paused" ;; *) t_fail "g-pause: $LAST_LINE" ;; esac
p=$(field pause_ms "$LAST_LINE")
if [ -n "$p" ] && [ "$p" -ge 0 ]; then t_pass "the agent measured the guest's pause: $p ms"; else t_fail "no pause measured: $LAST_LINE"; fi
move g-live "$g_live" node2 node1 OCF_RESKEY_migrate=live
move g-pause "$g_pause" node2 node1 OCF_RESKEY_migrate=pause
t_ok "the migration statistics are kept on node1" sh -c "'$LAB' exec node1 grep -c 'outcome=completed' /run/resource-agents/ferry-migrations.log | grep -qx 2"

# --- an idle Linux guest (TCG) live, there and back -------------------------
g_linux=$(guest_xml g-linux --os linux --type qemu)
since=$(now_ms)
t_expect_rc "start g-linux on node1" 0 agent node1 start OCF_RESKEY_config="$g_linux"
t_ok "g-linux runs" ticks_wait g-linux 25 30000 "$since"
move g-linux "$g_linux" node1 node2
move g-linux "$g_linux" node2 node1 OCF_RESKEY_migrate=pause
t_expect_rc "stop g-linux" 0 agent node1 stop OCF_RESKEY_config="$g_linux"

# --- transports: tunnelled, and the migration network ------------------------
move g-live "$g_live" node1 node2 OCF_RESKEY_tunnelled=true
rx0=$(on node1 cat /sys/class/net/eth1/statistics/rx_bytes)
move g-live "$g_live" node2 node1 OCF_RESKEY_migration_network_suffix=-mig
rx1=$(on node1 cat /sys/class/net/eth1/statistics/rx_bytes)
mib=$(( (rx1 - rx0) / 1048576 ))
if [ "$mib" -ge 10 ]; then t_pass "the memory stream came over the migration network ($mib MiB on eth1)"; else t_fail "only $mib MiB arrived on eth1 (203.0.113.0/24)"; fi
move g-live "$g_live" node1 node2 'OCF_RESKEY_migrateuri=tcp://%n-mig' OCF_RESKEY_migration_speed=100 OCF_RESKEY_migration_downtime=500
move g-live "$g_live" node2 node1 OCF_RESKEY_migration_mapping=node1:node1,node2:node2
t_expect_rc "stop g-pause" 0 agent node1 stop OCF_RESKEY_config="$g_pause" OCF_RESKEY_force_stop=true

# --- persistent=true: the definition moves with the guest ---------------------
g_pers=$(guest_xml g-pers --os bm)
since=$(now_ms)
t_expect_rc "start g-pers persistent on node1" 0 agent node1 start OCF_RESKEY_config="$g_pers" OCF_RESKEY_persistent=true
ticks_wait g-pers 25 15000 "$since" || true
move g-pers "$g_pers" node1 node2 OCF_RESKEY_persistent=true
t_ok "persistent: defined on the target" sh -c "'$LAB' exec node2 virsh -q dominfo g-pers | grep -Eq '^Persistent: +yes'"
t_ok "persistent: no definition left on the source" sh -c "! '$LAB' exec node1 virsh -q dominfo g-pers >/dev/null 2>&1"
move g-pers "$g_pers" node2 node1 OCF_RESKEY_persistent=true
t_expect_rc "stop g-pers" 0 agent node1 stop OCF_RESKEY_config="$g_pers" OCF_RESKEY_persistent=true OCF_RESKEY_force_stop=true
on node1 virsh -q undefine g-pers >/dev/null 2>&1 || true

# --- a disk on storage libvirt does not see as shared ------------------------
on node1 qemu-img create -q -f qcow2 "$FERRY_LAB_SHARED/g-disk.qcow2" 16M
g_disk=$(guest_xml g-disk --os bm --disk "$FERRY_LAB_SHARED/g-disk.qcow2")
since=$(now_ms)
t_expect_rc "start g-disk on node1" 0 agent node1 start OCF_RESKEY_config="$g_disk"
ticks_wait g-disk 25 15000 "$since" || true
t0=$(now_ms)
t_expect_rc "disk on a local filesystem: migrate_to refuses" 1 migrate_to node1 node2 "$g_disk"
t_reason_has "does not treat as shared"
t_log "     refused after $(( $(now_ms) - t0 )) ms"
only_on node1 g-disk "unsafe storage"
move g-disk "$g_disk" node1 node2 OCF_RESKEY_allow_unsafe=true
t_expect_rc "stop g-disk" 0 agent node2 stop OCF_RESKEY_config="$g_disk" OCF_RESKEY_force_stop=true

# --- rgmanager's invocation: vm migrate <target-node> -------------------------
since=$(now_ms)
t_expect_rc "rgmanager: vm migrate node2" 0 on node1 env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    OCF_RESOURCE_INSTANCE=p_vm OCF_RESKEY_config="$g_live" HA_LOGFACILITY=none "$AGENT" migrate node2
only_on node2 g-live "rgmanager migrate"
t_expect_rc "rgmanager: vm migrate without a target" 2 on node2 env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    OCF_RESOURCE_INSTANCE=p_vm OCF_RESKEY_config="$g_live" HA_LOGFACILITY=none "$AGENT" migrate
t_expect_rc "rgmanager: and back" 0 on node2 env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    OCF_RESOURCE_INSTANCE=p_vm OCF_RESKEY_config="$g_live" HA_LOGFACILITY=none "$AGENT" migrate node1
only_on node1 g-live "rgmanager migrate back"

# --- non-converging guest: each policy ---------------------------------------
# g-live dirties 16 MiB at 40 MiB/s; g-busy dirties 48 MiB as fast as it can
# (about 200 MiB/s here), over a link capped at 10 MiB/s: it never converges.
g_busy=$(guest_xml g-busy --os bm --mem 96 --dirty 48)
NC="OCF_RESKEY_migration_speed=10 OCF_RESKEY_migration_stall_timeout=4 OCF_RESKEY_migration_timeout_per_gib=8"
since=$(now_ms)
t_expect_rc "start g-busy on node1" 0 agent node1 start OCF_RESKEY_config="$g_busy"
ticks_wait g-busy 25 15000 "$since" || true
t0=$(now_ms)
# shellcheck disable=SC2086
t_expect_rc "policy abort: migrate_to fails" 1 migrate_to node1 node2 "$g_busy" $NC OCF_RESKEY_migration_policy=abort
t_reason_has "aborted by migration_policy=abort"
t_log "     took $(( $(now_ms) - t0 )) ms; $(grep -o 'outcome=[^ ]* trigger=[^ ]*' <<<"$T_ERR" | tail -n 1)"
only_on node1 g-busy "policy abort"
rep=$(ticks_report g-busy "$since")
if grep -qx 'resets=0' <<<"$rep" && grep -qx 'source_changes=0' <<<"$rep" && grep -qx 'bad=0' <<<"$rep"; then
    t_pass "policy abort: the guest never left node1 and kept running"
else
    t_fail "policy abort: $(tr '\n' ' ' <<<"$rep")"
fi
# shellcheck disable=SC2086
move g-busy "$g_busy" node1 node2 $NC OCF_RESKEY_migration_policy=pause
case "$LAST_LINE" in *"outcome=completed-paused"*) t_pass "policy pause: paused to finish ($(field pause_ms "$LAST_LINE") ms pause)" ;; *) t_fail "policy pause: $LAST_LINE" ;; esac
# shellcheck disable=SC2086
move g-busy "$g_busy" node2 node1 $NC OCF_RESKEY_migration_policy=auto-converge
case "$LAST_LINE" in *"outcome=completed"*) t_pass "policy auto-converge: completed ($(grep -o 'outcome=[^ ]* .*throttle_pct=[^ ]*' <<<"$LAST_LINE"))" ;; *) t_fail "policy auto-converge: $LAST_LINE" ;; esac
# shellcheck disable=SC2086
move g-busy "$g_busy" node1 node2 $NC OCF_RESKEY_migration_policy=postcopy
case "$LAST_LINE" in *"outcome=completed"*) t_pass "policy postcopy: completed ($(field outcome "$LAST_LINE"))" ;; *) t_fail "policy postcopy: $LAST_LINE" ;; esac
t_expect_rc "stop g-busy" 0 agent node2 stop OCF_RESKEY_config="$g_busy" OCF_RESKEY_force_stop=true

# --- ssh_reuse: one ssh login per target -------------------------------------
# ferry-ssh shares one login to a target between the agent's connection, libvirtd's (p2p) and
# the next migrate_to within 60 s; sshd's log on the target counts the logins.
logins_on() { grep -c 'Accepted publickey' "$FERRY_LAB_DIR/$1/log/sshd.log" || true; }
masters_close() {   # HOST PEER: end HOST's shared connection to PEER, if any
    on "$1" ssh -o ControlPath=/run/ferry/ssh/%C -O exit "$2" >/dev/null 2>&1 || true
}
masters_close node1 node2
masters_close node2 node1
l0=$(logins_on node2)
move g-live "$g_live" node1 node2
move g-live "$g_live" node2 node1
move g-live "$g_live" node1 node2
l1=$(logins_on node2)
if [ $(( l1 - l0 )) = 1 ]; then
    t_pass "ssh_reuse: two migrate_to node1 -> node2 (the agent's and libvirtd's connections each) logged in once"
else
    t_fail "ssh_reuse: two migrate_to node1 -> node2 logged in $(( l1 - l0 )) times on node2 (want 1)"
fi
if on node1 ssh -o ControlPath=/run/ferry/ssh/%C -O check node2 >/dev/null 2>&1; then
    t_pass "ssh_reuse: node1's shared connection to node2 stays up after the agent exits"
else
    t_fail "ssh_reuse: no shared connection from node1 to node2 after migrate_to"
fi
m=$(on node1 stat -c '%a %U' /run/ferry/ssh 2>/dev/null)
[ "$m" = "700 root" ] && t_pass "ssh_reuse: the socket directory is root's alone (0700)" ||
    t_fail "ssh_reuse: /run/ferry/ssh on node1 is '$m' (want '700 root')"
# the target's end of the shared connection dies (as when it reboots): the next one logs in anew
sessions=$(on node2 pgrep -f '^sshd: root' || true)
# shellcheck disable=SC2086
[ -n "$sessions" ] && on node2 kill -KILL $sessions
l0=$(logins_on node1)
move g-live "$g_live" node2 node1 OCF_RESKEY_ssh_reuse=false
l1=$(logins_on node1)
if [ $(( l1 - l0 )) = 2 ]; then
    t_pass "ssh_reuse=false: migrate_to node2 -> node1 logged in twice (the agent, libvirtd)"
else
    t_fail "ssh_reuse=false: migrate_to node2 -> node1 logged in $(( l1 - l0 )) times on node1 (want 2)"
fi
l0=$(logins_on node2)
move g-live "$g_live" node1 node2
move g-live "$g_live" node2 node1
l1=$(logins_on node2)
if [ -n "$sessions" ] && [ $(( l1 - l0 )) = 1 ]; then
    t_pass "ssh_reuse: after node2 dropped the shared connection (sshd sessions killed), migrate_to logged in afresh, once"
else
    t_fail "ssh_reuse: after killing node2's sshd sessions ('$sessions'), migrate_to logged in $(( l1 - l0 )) times (want 1)"
fi

# --- failures: one running copy, on the source, unpaused, a clear reason -----
fail_case() {
    local desc=$1 want=$2
    shift 2
    local t0
    t0=$(now_ms)
    t_expect_rc "$desc: migrate_to fails" 1 migrate_to node1 node2 "$g_live" "$@"
    t_reason_has "$want"
    t_log "     failed after $(( $(now_ms) - t0 )) ms: $(grep '^ocf-exit-reason:' <<<"$T_ERR" | tail -n 1)"
    only_on node1 g-live "$desc"
}
"$LAB" daemon node2 sshd stop >/dev/null
fail_case "target sshd down" "unreachable"
"$LAB" daemon node2 sshd start >/dev/null
"$LAB" rekey node2 >/dev/null
# (a connection shared before the key changed would still serve: no reuse for this case)
fail_case "target host key changed" "Host key verification failed" OCF_RESKEY_ssh_reuse=false
"$LAB" rekey node2 --restore >/dev/null
"$LAB" daemon node2 libvirtd stop >/dev/null
fail_case "target libvirtd down" "target node2"
"$LAB" daemon node2 libvirtd start >/dev/null
fail_case "migration_mapping without the target" "is not in migration_mapping" OCF_RESKEY_migration_mapping=node1:node1,node3:node3
fail_case "migration_mapping is exact, not a substring" "is not in migration_mapping" OCF_RESKEY_migration_mapping=node1:node1,node22:node2
t_expect_rc "migrate_to without a target" 1 agent node1 migrate_to OCF_RESKEY_config="$g_live"
t_reason_has "no migration target"
t_expect_rc "migrate_to onto itself" 1 migrate_to node1 node1 "$g_live"
t_reason_has "is this node"

# short of memory: a guest whose memory the target cannot hold (QEMU only
# touches what the guest uses, so node1 runs it)
big_mib=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 - 64 ))
g_big=$(guest_xml g-big --os bm --mem "$big_mib")
if agent node1 start OCF_RESKEY_config="$g_big" >/dev/null 2>&1; then
    t_expect_rc "target short of memory: migrate_to fails" 1 migrate_to node1 node2 "$g_big"
    t_reason_has "of free memory"
    only_on node1 g-big "target short of memory"
    agent node1 stop OCF_RESKEY_config="$g_big" OCF_RESKEY_force_stop=true >/dev/null 2>&1
else
    t_fail "could not start a $big_mib MiB guest for the memory test"
fi

# the migration network is cut mid-migration
# shellcheck disable=SC2086
( sleep 3; "$LAB" link node2 down mig >/dev/null ) &
cutter=$!
t0=$(now_ms)
# shellcheck disable=SC2086
t_expect_rc "migration network cut mid-migration: migrate_to fails" 1 \
    migrate_to node1 node2 "$g_live" OCF_RESKEY_migration_network_suffix=-mig \
    OCF_RESKEY_migration_speed=2 OCF_RESKEY_migration_stall_timeout=4
wait "$cutter"
t_log "     failed after $(( $(now_ms) - t0 )) ms: $(grep '^ocf-exit-reason:' <<<"$T_ERR" | tail -n 1)"
"$LAB" link node2 up mig >/dev/null
only_on node1 g-live "migration network cut"
t_expect_rc "after the failures, a migration works" 0 migrate_to node1 node2 "$g_live"
t_expect_rc "and migrate_from confirms it" 0 migrate_from node1 node2 "$g_live"
t_expect_rc "stop on node1 after it left" 0 agent node1 stop OCF_RESKEY_config="$g_live"

# --- the target's half of an interrupted migration ---------------------------
# a slow pause-mode migration node2 -> node1 is in flight: the source's
# recurring monitor still says running; the target is probed and stopped
# (Pacemaker aborted the transition): the probe must not say 7, the stop must
# remove the incoming copy, and the source keeps the guest, resumed.
(
    migrate_to node2 node1 "$g_live" OCF_RESKEY_migrate=pause OCF_RESKEY_migration_speed=1 \
        OCF_RESKEY_migration_stall_timeout=60 >"$FERRY_LAB_DIR/slow.out" 2>&1
    echo $? >"$FERRY_LAB_DIR/slow.rc"
) &
slow=$!
for _ in $(seq 100); do [ "$(state_on node1 g-live)" = paused ] && break; sleep 0.1; done
for _ in $(seq 100); do [ "$(state_on node2 g-live)" = paused ] && break; sleep 0.1; done
t_expect_rc "monitor on the source during a pause-mode migration: running" 0 \
    agent node2 monitor OCF_RESKEY_config="$g_live" OCF_RESKEY_CRM_meta_interval=10000
t_expect_rc "probe on the target during an incoming migration is not 7" 1 agent node1 monitor OCF_RESKEY_config="$g_live"
t_expect_rc "stop on the target removes the incoming copy" 0 agent node1 stop OCF_RESKEY_config="$g_live"
wait "$slow"
t_ok "the interrupted migrate_to failed" grep -qx 1 "$FERRY_LAB_DIR/slow.rc"
only_on node2 g-live "interrupted migration"
t_expect_rc "stop g-live" 0 agent node2 stop OCF_RESKEY_config="$g_live" OCF_RESKEY_force_stop=true

exit 0
