#!/bin/bash
# test_guestnet.sh — the guest's network across migrations, as a client on
# the guest's L2 segment sees it.
#
# A Linux guest (TCG, idle) with a virtio NIC on the lab's guest segment
# (br-guest on every host) is started by the agent on node1.  The lab's
# client namespace (203.0.113.100) probes it with an ICMP echo every 10 ms
# (tests/guests/ferry-probe, which records each reply with its Ethernet
# source).  The guest then moves node1 -> node2 live and node2 -> node1
# paused (migrate_to, migrate_from, stop on the source, as Pacemaker calls
# them).  After each move the guest answers at the same IP from the same MAC,
# the segment has learned the MAC on the new host's port, and the outage the
# client saw (the longest time without a reply) is reported next to the
# guest's heartbeat gap; it must be over within the migration's own time plus
# a few seconds (no tight timing: the box is small and shared).
# (file-wide: functions run from the EXIT trap and through t_ok)
# shellcheck disable=SC2317
# shellcheck source=tests/agent/lablib.sh
. "$(dirname "$0")/lablib.sh"

PROBE=$GUESTS_OUT/ferry-probe
NAME=g-net
MAC=52:54:00:fe:00:65          # lab convention: 52:54:00:fe:00:XX for 203.0.113.XX (0x65 = 101)
IP=203.0.113.101
SETTLE_MS=5000                 # the guest must answer again within the migration time + this
PROBE_PID=""

command -v bridge >/dev/null || t_cannot_run "the bridge command (iproute2) is missing"
lab_setup 2
# shellcheck disable=SC2034  # read by lablib.sh's agent()
TIMEOUT_MS=120000
[ -x "$PROBE" ] || t_cannot_run "$PROBE was not built (tests/guests/build.sh builds it)"
if [ "${FERRY_LAB_CLIENT:-}" != 203.0.113.100 ] || [ "${FERRY_LAB_GUEST_BRIDGE:-}" != br-guest ]; then
    t_cannot_run "the lab has no client namespace / guest segment (lab.sh env: FERRY_LAB_CLIENT='${FERRY_LAB_CLIENT:-}')"
fi
PLOG=$FERRY_LAB_DIR/probe.log

probe_stop() {
    [ -n "$PROBE_PID" ] || return 0
    kill "$PROBE_PID" 2>/dev/null || true
    wait "$PROBE_PID" 2>/dev/null || true
    PROBE_PID=""
}
# the probe lives in the lab's client namespace (lab down would end it too):
# stop it by pid before the lab goes down
trap 'probe_stop; lab_exit' EXIT

# key VALUE-LINES KEY: the value of KEY=... in key=value lines
key() { sed -n "s/^$2=//p" <<<"$1" | tail -n 1; }
# field KEY LINE: KEY=value inside one line of the agent's statistics
field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2" | tail -n 1; }
probe_report() { "$PROBE" report "$PLOG" --mac "$MAC" "$@"; }
probe_wait() { "$PROBE" wait "$PLOG" --mac "$MAC" "$@" >/dev/null; }
neigh_mac() { "$LAB" exec client ip neigh show "$IP" dev eth0 | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'; }
# fdb_port: the switch port of the guest segment on which the guest's MAC was learned
fdb_port() { "$LAB" exec switch bridge fdb show br fbr-guest | awk -v m="$MAC" '$1 == m && $0 !~ /permanent/ {print $3; exit}'; }

# --- the segment -----------------------------------------------------------------
for h in node1 node2; do
    t_ok "$h: $FERRY_LAB_GUEST_BRIDGE exists and has no IPv4 address" \
        sh -c "'$LAB' exec $h ip -br link show $FERRY_LAB_GUEST_BRIDGE >/dev/null && [ -z \"\$('$LAB' exec $h ip -4 -o addr show dev $FERRY_LAB_GUEST_BRIDGE)\" ]"
done
t_ok "client: 203.0.113.100/24 on eth0, no default route" \
    sh -c "'$LAB' exec client ip -4 -o addr show dev eth0 | grep -q ' 203.0.113.100/24 ' && [ -z \"\$('$LAB' exec client ip route show default)\" ]"

# --- the guest -----------------------------------------------------------------------
cfg=$(guest_xml "$NAME" --os linux --type qemu --mem 160 --nic "$MAC" --ip "$IP/24")
t_ok "domain XML has a virtio NIC $MAC on br-guest and ferry.ip=$IP/24" \
    sh -c "grep -q \"<mac address='$MAC'/>\" '$cfg' && grep -q \"<source bridge='br-guest'/>\" '$cfg' && grep -q 'ferry.ip=$IP/24' '$cfg'"
since=$(now_ms)
t_expect_rc "start $NAME on node1" 0 agent node1 start OCF_RESKEY_config="$cfg"
t_ok "$NAME runs (heartbeats)" ticks_wait "$NAME" 25 60000 "$since"

"$LAB" exec client "$PROBE" ping "$IP" "$PLOG" --interval-ms 10 --max-seconds 1200 </dev/null &
PROBE_PID=$!
if probe_wait --count 100 --timeout-ms 60000 --since "$since"; then
    t_pass "the client gets replies from $IP, MAC $MAC (probe every 10 ms)"
else
    t_fail "no replies from $IP/$MAC within 60 s: $(probe_report --since "$since" | tr '\n' ' ')"
    exit 1
fi
t_ok "client: the neighbour entry for $IP is $MAC" test "$(neigh_mac)" = "$MAC"
t_ok "switch: $MAC was learned on node1's port fn1-guest" test "$(fdb_port)" = fn1-guest

# move MODE SRC DST [VAR=value...]: migrate, then check and report what the client saw
move() {
    local mode=$1 src=$2 dst=$3 since t_to t_done line rep hb gap hb_gap bound
    shift 3
    local i=${dst#node}
    since=$(now_ms)
    t_expect_rc "$mode: migrate_to $src -> $dst" 0 migrate_to "$src" "$dst" "$cfg" OCF_RESKEY_migrate="$mode" "$@"
    t_to=$(now_ms)
    line=$(grep -o 'domain=.*' <<<"$T_ERR" | tail -n 1)
    t_log "     stats: $line"
    t_expect_rc "$mode: migrate_from on $dst" 0 migrate_from "$src" "$dst" "$cfg" OCF_RESKEY_migrate="$mode" "$@"
    t_expect_rc "$mode: stop on the source $src" 0 agent "$src" stop OCF_RESKEY_config="$cfg"
    t_done=$(now_ms)
    t_ok "$mode: $NAME runs on $dst, not on $src" \
        sh -c "[ \"\$('$LAB' exec $dst virsh -q domstate $NAME | head -n 1)\" = running ] && ! '$LAB' exec $src virsh -q dominfo $NAME >/dev/null 2>&1"
    # the guest answers again: 100 replies from its MAC after the move was complete
    if probe_wait --count 100 --timeout-ms 20000 --since "$t_done"; then
        t_pass "$mode: $IP answers again from $MAC after the move"
    else
        t_fail "$mode: $IP does not answer from $MAC after the move: $(probe_report --since "$t_done" | tr '\n' ' ')"
    fi
    rep=$(probe_report --since "$since" --until "$(now_ms)")
    t_ok "$mode: every reply during the move came from $IP with MAC $MAC ($(key "$rep" macs))" \
        test "$(key "$rep" foreign)" = 0 -a "$(key "$rep" ips)" = "$IP/$(key "$rep" replies)"
    t_ok "client: the neighbour entry for $IP is still $MAC" test "$(neigh_mac)" = "$MAC"
    t_ok "switch: $MAC is now learned on $dst's port fn$i-guest" test "$(fdb_port)" = "fn$i-guest"

    ticks_wait "$NAME" 25 10000 "$(now_ms)" || true
    hb=$(ticks_report "$NAME" "$since")
    gap=$(key "$rep" max_gap_ms) hb_gap=$(key "$hb" max_gap_ms)
    bound=$(( t_to - since + SETTLE_MS ))
    t_log "     $mode $src -> $dst: client outage ${gap} ms ($(key "$rep" lost) of $(key "$rep" sent) probes lost, longest run $(key "$rep" lost_run_max)), heartbeat gap ${hb_gap} ms; migrate_to took $(( t_to - since )) ms (agent: downtime_ms=$(field downtime_ms "$line") pause_ms=$(field pause_ms "$line"))"
    if [ "$(key "$rep" max_gap_open)" = 0 ] && [ -n "$gap" ] && [ "$gap" -le "$bound" ]; then
        t_pass "$mode: the client's outage ($gap ms) ended within the migration time + $SETTLE_MS ms ($bound ms)"
    else
        t_fail "$mode: client outage ${gap:-?} ms (open=$(key "$rep" max_gap_open)) exceeds $bound ms: $(tr '\n' ' ' <<<"$rep")"
    fi
    if grep -qx 'resets=0' <<<"$hb" && grep -qx 'bad=0' <<<"$hb" && grep -q '^switch_1=' <<<"$hb" && [ -n "$hb_gap" ]; then
        t_pass "$mode: the heartbeat moved to $dst without a reboot (gap $hb_gap ms)"
    else
        t_fail "$mode: heartbeat after the move: $(tr '\n' ' ' <<<"$hb")"
    fi
    SUMMARY+="$mode $src->$dst: client outage $gap ms, heartbeat gap $hb_gap ms; "
}

SUMMARY=""
move live node1 node2
move pause node2 node1

# --- after stop nobody answers at the guest's address -------------------------------
t_expect_rc "stop $NAME on node1" 0 agent node1 stop OCF_RESKEY_config="$cfg"
sleep 1
t_stop=$(now_ms)
sleep 1
rep=$(probe_report --since "$t_stop")
t_ok "after stop: no replies from $IP (nobody else answers at the guest's address)" test "$(key "$rep" replies)" = 0
probe_stop
t_log "     $SUMMARY"
exit 0
