#!/bin/bash
# test_stale_record.sh — found by the chaos campaign (tests/chaos, seed 102):
# a guest whose XML has no <uuid> gets a new UUID at every start. node1 keeps
# the record (state file) of the incarnation it once ran; the guest, started
# since on node2, comes back to node1 by a migrate_to whose migrate_from never
# runs (the target's libvirtd restarted at the switch-over), and Pacemaker's
# recovery stops it on node1. That stop must remove the guest: the record's
# old UUID is not a reason to take the resource's own guest for a namesake and
# leave it running (Pacemaker then started a second copy on node2).
. "$(dirname "$0")/lablib.sh"

lab_setup 2
TIMEOUT_MS=60000
state_on() { on "$1" virsh -q domstate "$2" 2>/dev/null | head -n 1; }

g=$(guest_xml g-stale --os bm)
grep -q '<uuid>' "$g" && t_fail "the test guest's XML has a <uuid>: the case needs none"
t_expect_rc "start on node1 (node1 records this incarnation's UUID)" 0 agent node1 start OCF_RESKEY_config="$g"
t_expect_rc "stop on node1 (the record stays)" 0 agent node1 stop OCF_RESKEY_config="$g" OCF_RESKEY_force_stop=true
t_expect_rc "start on node2 (a new UUID)" 0 agent node2 start OCF_RESKEY_config="$g"
t_expect_rc "migrate_to node2 -> node1 (no migrate_from follows)" 0 migrate_to node2 node1 "$g"
s1=$(state_on node1 g-stale)
[ "$s1" = running ] && t_pass "the guest runs on node1" || t_fail "node1: '${s1:-absent}' after migrate_to"
t_expect_rc "stop on node1 (Pacemaker's recovery)" 0 agent node1 stop OCF_RESKEY_config="$g" OCF_RESKEY_force_stop=true
s1=$(state_on node1 g-stale)
case "$s1" in
"" | "shut off") t_pass "the stop on node1 removed the guest" ;;
*) t_fail "the stop on node1 answered 0 but left the guest '$s1' there: $(printf '%s' "$T_ERR" | grep -o 'another UUID[^]]*' | head -n 1)" ;;
esac
agent node1 stop OCF_RESKEY_config="$g" OCF_RESKEY_force_stop=true >/dev/null 2>&1
on node1 virsh destroy g-stale >/dev/null 2>&1
exit 0
