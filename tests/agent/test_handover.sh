#!/bin/bash
# test_handover.sh — found by the chaos campaign (tests/chaos, seed 102, the
# rerun): a migrate_to node2 -> node1 answered 0, the guest ran on node1, and
# Pacemaker 2.1.5 (its transition aborted by a cleared constraint while the
# migrate_to ran) then scheduled "Restart c6 (node2)": a stop and a start on
# node2, no migrate_from on node1, and nothing at all for node1, whose copy ran
# on beside the new one. The stop and the start on the source must end the
# copy they handed over when the CIB shows Pacemaker never learnt of it, and
# leave it alone when it did (the usual migrate_to, migrate_from, stop), and
# end it as gracefully as the stop itself would (force_stop, shutdown_timeout).
# The CIB is a file (CIB_file, which every Pacemaker tool honours), so the
# sequence replays without a cluster; the chaos campaign runs it in one.
. "$(dirname "$0")/lablib.sh"

lab_setup 2
TIMEOUT_MS=60000
RSC=c-hand
state_on() { on "$1" virsh -q domstate "$2" 2>/dev/null | head -n 1; }
running() { [ "$(state_on "$1" g-hand)" = running ]; }
STATE_DIR=/run/resource-agents    # the agent's default HA_RSCTMP

# cib FILE NODE OPERATION LAST_RC_CHANGE: a CIB whose only history of the
# resource is one operation on NODE
cib() {
    cat >"$1" <<XML
<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
 <configuration><crm_config/><nodes/><resources/><constraints/></configuration>
 <status>
  <node_state id="1" uname="$2"><lrm id="1"><lrm_resources>
   <lrm_resource id="$RSC" type="vm" class="ocf" provider="ferry">
    <lrm_rsc_op id="${RSC}_last_0" operation="$3" rc-code="0" op-status="0" last-rc-change="$4" call-id="7"/>
   </lrm_resource></lrm_resources></lrm></node_state>
 </status>
</cib>
XML
}

g=$(guest_xml g-hand --os bm)
knew=$FERRY_LAB_DIR/cib-knew.xml
unaware=$FERRY_LAB_DIR/cib-unaware.xml

# 1. the usual migration: migrate_from on the target is in the CIB, the stop
# on the source leaves the guest where it went
t_expect_rc "start on node1" 0 agent node1 start OCF_RESKEY_config="$g"
t_expect_rc "migrate_to node1 -> node2" 0 migrate_to node1 node2 "$g"
t_expect_rc "migrate_from on node2" 0 migrate_from node1 node2 "$g"
cib "$knew" node2 migrate_from "$(date +%s)"
t_expect_rc "stop on node1 (the CIB has node2's migrate_from)" 0 \
    agent node1 stop OCF_RESKEY_config="$g" CIB_file="$knew"
running node2 && t_pass "the guest still runs on node2" ||
    t_fail "the stop on node1 took the migrated guest from node2: '$(state_on node2 g-hand)'"

# 2. seed 102: migrate_to node2 -> node1, then Pacemaker's "Restart" on
# node2 (stop, start) with no migrate_from, node1's history older (force_stop
# as in the campaign; case 5 without)
t_expect_rc "migrate_to node2 -> node1 (no migrate_from follows)" 0 migrate_to node2 node1 "$g"
running node1 || t_fail "node1: '$(state_on node1 g-hand)' after migrate_to"
cib "$unaware" node1 stop $(( $(date +%s) - 600 ))
t_expect_rc "stop on node2 (the CIB knows of no copy on node1)" 0 \
    agent node2 stop OCF_RESKEY_config="$g" OCF_RESKEY_force_stop=true CIB_file="$unaware"
grep -q "never followed with migrate_from" <<<"$T_ERR" &&
    t_pass "the stop says why it ended the copy on node1" ||
    t_fail "the stop did not say it ended node1's copy: $T_ERR"
t_expect_rc "start on node2" 0 agent node2 start OCF_RESKEY_config="$g" CIB_file="$unaware"
n=0; for h in node1 node2; do running "$h" && n=$((n + 1)); done
[ "$n" = 1 ] && running node2 && t_pass "exactly one copy runs, on node2" ||
    t_fail "two copies or none: node1 '$(state_on node1 g-hand)', node2 '$(state_on node2 g-hand)'"

# 3. no CIB to ask (not under a cluster): the copy handed over is left alone
t_expect_rc "migrate_to node2 -> node1 again" 0 migrate_to node2 node1 "$g"
t_expect_rc "stop on node2 with no CIB" 0 agent node2 stop OCF_RESKEY_config="$g"
running node1 && t_pass "without a CIB the stop leaves node1's copy alone" ||
    t_fail "without a CIB the stop touched node1's copy: '$(state_on node1 g-hand)'"

# 4. a record that could not be updated (HA_RSCTMP full or read-only when
# migrate_to answered) looks like a killed migrate_to's: the usual stop after
# migrate_from must still leave the guest where Pacemaker knows it runs
t_expect_rc "stop on node2 (clean up case 3)" 0 agent node2 stop OCF_RESKEY_config="$g"
for h in node1 node2; do on "$h" virsh destroy g-hand >/dev/null 2>&1; done
t_expect_rc "start on node1" 0 agent node1 start OCF_RESKEY_config="$g"
begun=$(date +%s)
t_expect_rc "migrate_to node1 -> node2" 0 migrate_to node1 node2 "$g"
t_expect_rc "migrate_from on node2" 0 migrate_from node1 node2 "$g"
uuid=$(on node2 virsh domuuid g-hand 2>/dev/null | head -n 1)
# what HA_RSCTMP kept: the record as migrate_to wrote it before the copy, its
# writer (a process that has exited) gone
dead=$(on node1 sh -c 'sh -c "echo \$\$"')
on node1 sh -c "cat >$STATE_DIR/ferry-vm-$RSC.flight" <<REC
pid=$dead
start_ticks=1
name=g-hand
uuid=$uuid
target=node2
dest_uri=qemu+ssh://node2/system
was_running=1
begun_s=$begun
handed=0
REC
cib "$knew" node2 migrate_from "$(date +%s)"
t_expect_rc "stop on node1 (a stale in-flight record; the CIB has node2's migrate_from)" 0 \
    agent node1 stop OCF_RESKEY_config="$g" CIB_file="$knew"
running node2 && t_pass "the guest still runs on node2" ||
    t_fail "a stale record made the stop on node1 take the migrated guest from node2: '$(state_on node2 g-hand)'"

for h in node1 node2; do on "$h" virsh destroy g-hand >/dev/null 2>&1; done

# 5. the copy Pacemaker does not know of is the guest itself (no copy runs on
# node2, which Pacemaker asks to stop it): without force_stop it is asked to
# shut down first, as the stop would ask it here, within shutdown_timeout (the
# bare-metal guest ignores ACPI, so it is destroyed when that is up); with
# force_stop it is destroyed at once
for force in false true; do
    t_expect_rc "force_stop=$force: start on node2" 0 agent node2 start OCF_RESKEY_config="$g"
    t_expect_rc "force_stop=$force: migrate_to node2 -> node1 (no migrate_from follows)" 0 \
        migrate_to node2 node1 "$g"
    cib "$unaware" node1 stop $(( $(date +%s) - 600 ))
    t0=$(date +%s%N)
    t_expect_rc "force_stop=$force: stop on node2 (the CIB knows of no copy on node1)" 0 \
        agent node2 stop OCF_RESKEY_config="$g" OCF_RESKEY_force_stop=$force \
        OCF_RESKEY_shutdown_timeout=3s CIB_file="$unaware"
    took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    running node1 && t_fail "force_stop=$force: node1's copy still runs: '$(state_on node1 g-hand)'" ||
        t_pass "force_stop=$force: node1's copy is gone"
    if [ "$force" = false ]; then
        grep -q "it did not shut down within 3000 ms.*: destroyed it there" <<<"$T_ERR" && [ "$took_ms" -ge 3000 ] &&
            t_pass "asked node1's guest to shut down, waited shutdown_timeout ($took_ms ms), then destroyed it" ||
            t_fail "no graceful attempt on node1 before the destroy ($took_ms ms): $T_ERR"
    else
        grep -q "destroyed it there" <<<"$T_ERR" && ! grep -q "did not shut down" <<<"$T_ERR" &&
            t_pass "force_stop: destroyed node1's copy without a shutdown request" ||
            t_fail "force_stop: $T_ERR"
    fi
done
exit 0
