#!/bin/bash
# test_health.sh — RHV's load balancing (Evenly_Distributed: VMs leave a host
# whose CPU load stays above a threshold) on Pacemaker's node health (issue 16),
# in a 3-node cluster with node-health-strategy=progressive (red -INFINITY,
# yellow -50 against a stickiness of 100: the band between the thresholds in
# which a node keeps its VMs but receives none) and migration-limit=1:
#   node2 is yellow; node1's health turns red → its two VMs leave by live
#   migration, one at a time, both to node3 (the yellow node gets none);
#   nothing comes back while node1 stays red, nor once it and node2 are green
#   again (stickiness: health repels, it never attracts); the migrations ran with
#   migration_speed=auto (both ends' link speed, migration-limit read).
# The lab's hosts share one kernel, and its bare-metal guests spin their vCPU
# whatever they do (and the lab's libvirt has no cgroup CPU controller to cap
# them), so no CPU measure tells one lab node from another: the test sets the
# attribute itself with attrd_updater, exactly as a health agent's monitor
# does (ocf:pacemaker:HealthCPU on a real host: see the README).
. "$(dirname "$0")/lablib.sh"
. "$(dirname "$0")/clusterlib.sh"
cluster_setup 3

VMS="vm-h1 vm-h2"
ATTR='#health-cpu'
health() { on "$1" attrd_updater -n "$ATTR" -U "$2" -N "$1"; }
poll() { # poll SECONDS CMD...: CMD succeeds within SECONDS
    local end=$(( $(date +%s) + $1 )); shift
    until "$@" >/dev/null 2>&1; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.5; done
}
ops() {
    on node1 cibadmin -Q --xpath "//lrm_rsc_op[@operation!='monitor']" 2>/dev/null |
        sed -n 's/.*operation_key="\([^"]*\)".*call-id="\([0-9]*\)".*/\1 \2/p' | sort
}
# op_attr RSC NODE OPERATION ATTRIBUTE: an attribute of that operation's record
op_attr() {
    on node1 cibadmin -Q --xpath "//node_state[@uname='$2']//lrm_resource[@id='$1']/lrm_rsc_op[@operation='$3']" 2>/dev/null |
        sed -n "s/.* $4=\"\([^\"]*\)\".*/\1/p" | head -n 1
}
off_node1() { local r; for r in $VMS; do wait_started "$r" '!node1' 1 >/dev/null 2>&1 || return 1; done; }
one_away() { local r; for r in $VMS; do wait_started "$r" '!node1' 1 >/dev/null 2>&1 && return 0; done; return 1; }
went_live() { op_on "$1" node1 migrate_to && op_on "$1" "$2" migrate_from; }
unchanged() { [ "$before" = "$(ops)" ]; }

conf=$FERRY_LAB_DIR/health.crm
{
    echo "property node-health-strategy=progressive node-health-red=-INFINITY node-health-yellow=-50 migration-limit=1"
    echo "rsc_defaults resource-stickiness=100"
    for r in $VMS; do
        vm_primitive "$r" "$(guest_xml "$r" --os bm --mem 32)" migration_speed=auto force_stop=true
        echo "location l-$r $r 50: node1"
    done
} >"$conf"
t_ok "crm configure load update (node-health-strategy=progressive, node-health-yellow=-50, migration-limit=1, 2 VMs on node1)" \
    crm_do configure load update "$conf"
for r in $VMS; do t_ok "$r started on node1" wait_started "$r" node1 180; done
"$CLUSTER" wait-idle 60 >/dev/null || true

# --- yellow: keeps its VMs, receives none; red: they leave, live, one at a time -----
t_ok "node2: $ATTR=yellow" health node2 yellow
t0=$(now_s)
t_ok "node1: $ATTR=red (what a health agent's monitor writes)" health node1 red
t_ok "a VM left node1" poll 120 one_away
t_log "     first VM away $(elapsed "$t0") s after node1 turned red"
t_ok "both VMs left node1" poll 180 off_node1
t_log "     node1 empty $(elapsed "$t0") s after it turned red"
for r in $VMS; do
    n=$(node_of "$r")
    t_ok "$r went live to $n (migrate_to on node1, migrate_from on $n)" went_live "$r" "$n"
    t_ok "$r went to node3, not to the yellow node2" test "$n" = node3
done
# migration-limit=1: the controller runs one migration at a time (both may be
# in one transition): the second began after the first had ended
k1=$(op_attr vm-h1 node1 migrate_to transition-key) k2=$(op_attr vm-h2 node1 migrate_to transition-key)
a1=$(op_attr vm-h1 node1 migrate_to last-rc-change) e1=$(op_attr vm-h1 node1 migrate_to exec-time)
a2=$(op_attr vm-h2 node1 migrate_to last-rc-change) e2=$(op_attr vm-h2 node1 migrate_to exec-time)
t_log "     migrate_to vm-h1: transition $(cut -d: -f2 <<<"$k1"), ended at $a1 after $e1 ms; vm-h2: transition $(cut -d: -f2 <<<"$k2"), ended at $a2 after $e2 ms"
if [ -n "$a1" ] && [ -n "$a2" ] && [ -n "$e1" ] && [ -n "$e2" ] &&
    awk -v a1="$a1" -v e1="$e1" -v a2="$a2" -v e2="$e2" 'BEGIN {
        s1 = a1 * 1000 - e1; s2 = a2 * 1000 - e2   # starts, in ms (end times have 1 s resolution)
        if (s1 <= s2) exit !(s2 >= a1 * 1000 - 1000); else exit !(s1 >= a2 * 1000 - 1000) }'; then
    t_pass "migration-limit=1: the two migrations ran one after the other"
else
    t_fail "the migrations overlapped"
fi

# migration_speed=auto chose from both ends' link speeds and migration-limit
log=$FERRY_LAB_DIR/node1/cluster/log-pacemaker/pacemaker.log
auto=$(grep -o "migration_speed=auto: [0-9]* MiB/s for 'vm-h1'[^]]*" "$log" | head -n 1)
t_log "     ${auto:-no migration_speed=auto line in $log}"
t_ok "migration_speed=auto: a bandwidth from two known link speeds shared by migration-limit 1" \
    grep -Eq "MiB/s .*: link [0-9]+ Mb/s here, [0-9]+ Mb/s on the target, migration-limit 1" <<<"$auto"

# --- nothing comes back, red or green -------------------------------------------
before=$(ops)
sleep 15
"$CLUSTER" wait-idle 60 >/dev/null || true
t_ok "nothing moved in 15 s while node1 stayed red" unchanged
t_ok "node1 and node2: $ATTR=green" sh -c "$(declare -f on health); LAB='$LAB'; ATTR='$ATTR'; health node1 green && health node2 green"
sleep 15
"$CLUSTER" wait-idle 60 >/dev/null || true
t_ok "nothing moved back in 15 s after node1 turned green (stickiness 100 > location 50)" unchanged
t_ok "both still off node1" off_node1

for n in node1 node2; do on "$n" attrd_updater -n "$ATTR" -D -N "$n" >/dev/null 2>&1 || true; done
for r in $VMS; do crm_do resource stop "$r" >/dev/null 2>&1; done
for r in $VMS; do poll 60 sh -c "[ \"\$('$CLUSTER' state $r 2>/dev/null)\" = 'Stopped - -' ]" || true; done
t_ok "all stopped" sh -c "for r in $VMS; do [ \"\$('$CLUSTER' state \$r 2>/dev/null)\" = 'Stopped - -' ] || exit 1; done"
watcher_verdict
exit 0
