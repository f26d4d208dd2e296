#!/bin/bash
# test_remote.sh — ferry on Pacemaker Remote hypervisors (issue 15): 3 full
# cluster nodes (node1-3, corosync + pacemaker) and 2 remote nodes (node4,
# node5: pacemaker-remoted from the pacemaker-remote package, extracted, never
# installed; see tests/lab/README), each an ocf:pacemaker:remote resource,
# fencing on. Two ocf:ferry:vm resources (one migrate=live, one migrate=pause)
# may run on remote nodes only (resource-discovery=exclusive + a -INFINITY
# rule for the full nodes, as the Pacemaker Remote docs advise):
#   start and monitor on a remote node, never probed on a full node; the
#   agent's crm_resource utilization writes work from a remote node (through
#   pacemaker-remoted's proxy); crm_resource --move (live) and crm resource
#   move (pause) between the two remote nodes migrate them (migrate_to,
#   migrate_from, stop); standby of a remote node evacuates it by migration;
#   a remote node powered off is fenced and its VMs restart on the other one;
#   stop. The two-copies watcher samples every host throughout.
. "$(dirname "$0")/lablib.sh"

. "$(dirname "$0")/clusterlib.sh"
export FERRY_CLUSTER_REMOTE=2
cluster_setup 5

mon() { on node1 crm_mon -1 --output-as=xml 2>/dev/null; }
remote_online() { mon | xmllint --xpath "string(//nodes/node[@name='$1' and @type='remote']/@online)" - 2>/dev/null | grep -qx true; }
util() { on node1 crm_resource -r "$1" --utilization --get-parameter "$2" 2>/dev/null; }
poll() { # poll SECONDS CMD...: CMD succeeds within SECONDS
    local end=$(( $(date +%s) + $1 )); shift
    until "$@" >/dev/null 2>&1; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.5; done
}
t_ok "node4 is a remote node, online" remote_online node4
t_ok "node5 is a remote node, online" remote_online node5

# --- configuration: VMs on the remote nodes only -----------------------------
va=$(guest_xml vm-a --os bm --dirty 16 --rate 40)
vb=$(guest_xml vm-b --os bm --dirty 16 --rate 40)
conf=$FERRY_LAB_DIR/vms.crm
{
    echo "property migration-limit=1"
    echo "rsc_defaults resource-stickiness=100"
    vm_primitive vm-a "$va" migrate=live
    vm_primitive vm-b "$vb" migrate=pause
    for r in vm-a vm-b; do
        echo "location $r-remote $r resource-discovery=exclusive rule 0: #kind eq remote"
        echo "location $r-not-core $r rule -inf: #kind ne remote"
        echo "location $r-home $r 50: node4"
    done
} >"$conf"
since=$(now_ms)
t_ok "crm configure load update (two VMs, remote nodes only)" "$CLUSTER" crm node1 configure load update "$conf"
t_ok "vm-a started on node4 (remote)" wait_started vm-a node4 120
t_ok "vm-b started on node4 (remote)" wait_started vm-b node4 120
t_ok "both guests run" sh -c "$(declare -f ticks_wait); GUESTS_OUT='$GUESTS_OUT' TICKS_LOG='$TICKS_LOG'; ticks_wait vm-a 25 20000 $since && ticks_wait vm-b 25 20000 $since"
t_ok "vm-a: a recurring monitor on node4" poll 30 on node1 cibadmin -Q --xpath "//node_state[@uname='node4']//lrm_resource[@id='vm-a']/lrm_rsc_op[@operation='monitor' and @interval='5000' and @rc-code='0']"
probed=$(for h in node1 node2 node3; do on node1 cibadmin -Q --xpath "//node_state[@uname='$h']//lrm_resource[@id='vm-a' or @id='vm-b']" >/dev/null 2>&1 && echo "$h"; done)
if [ -z "$probed" ]; then t_pass "no full node probed a VM (resource-discovery=exclusive)"; else t_fail "VMs probed on full nodes: $probed"; fi

# --- utilization from a remote node: the agent's crm_resource goes through pacemaker-remoted
vcpus=$(on node4 virsh -q dominfo vm-a | awk '/^CPU\(s\)/ { print $2 }')
mem_mib=$(on node4 virsh -q dominfo vm-a | awk '/^Max memory/ { print int($3 / 1024) }')
if poll 30 sh -c "[ \"\$('$LAB' exec node1 crm_resource -r vm-a --utilization --get-parameter cpu 2>/dev/null)\" = '$vcpus' ]"; then
    t_pass "vm-a's utilization cpu=$vcpus, written by the agent on remote node4"
else
    t_fail "vm-a's utilization cpu is '$(util vm-a cpu)', want '$vcpus' (the agent's crm_resource on node4 failed?)"
fi
if [ "$(util vm-a hv_memory)" = "$mem_mib" ]; then t_pass "vm-a's utilization hv_memory=$mem_mib"; else t_fail "vm-a's utilization hv_memory is '$(util vm-a hv_memory)', want '$mem_mib'"; fi


# --- live and pause migration between the two remote nodes -------------------
since=$(now_ms)
t0=$(now_s)
t_ok "crm_resource --move vm-a to node5" on node1 crm_resource --move -r vm-a -N node5
t_ok "vm-a settles on node5" wait_started vm-a node5 120
t_log "     move (live, remote to remote) took $(elapsed "$t0") s"
migrated vm-a node4 node5 live "$since"
on node1 crm_resource --clear -r vm-a >/dev/null 2>&1
since=$(now_ms)
t0=$(now_s)
t_ok "crm resource move vm-b node5 (crmsh)" "$CLUSTER" crm node1 resource move vm-b node5
t_ok "vm-b settles on node5" wait_started vm-b node5 120
t_log "     move (pause, remote to remote) took $(elapsed "$t0") s"
migrated vm-b node4 node5 pause "$since"
"$CLUSTER" crm node1 resource clear vm-b >/dev/null 2>&1
"$CLUSTER" wait-idle 60 >/dev/null || true

# --- standby of a remote node evacuates it by migration ----------------------
t0=$(now_s)
# crmsh 4.4's `crm node standby` refuses a remote node ("is not a cluster node"): crm_standby
t_ok "crm_standby -N node5 -v on (remote; crmsh 4.4 refuses remote nodes)" on node1 crm_standby -N node5 -v on
t_ok "vm-a evacuated to node4" wait_started vm-a node4 180
t_ok "vm-b evacuated to node4" wait_started vm-b node4 180
t_log "     evacuation of 2 VMs took $(elapsed "$t0") s"
t_ok "both left node5 by migration" sh -c "'$LAB' exec node5 cat /run/resource-agents/ferry-migrations.log | grep -c 'from=node5 to=node4.*outcome=completed' | grep -qx 2"
t_ok "crm_standby -N node5 -v off" on node1 crm_standby -N node5 -v off
"$CLUSTER" wait-idle 60 >/dev/null || true

# --- a remote node powered off: fenced, its VMs restarted on the other one ----
fenced_before=$(on node1 stonith_admin --history node4 2>/dev/null | grep -c 'reboot\|off' || true)
t0=$(now_s)
"$CLUSTER" poweroff node4 >/dev/null
t_ok "vm-a restarted on node5 after node4 was lost" wait_started vm-a node5 150
t_ok "vm-b restarted on node5" wait_started vm-b node5 150
t_log "     failover (power-off of node4 to both VMs started on node5) took $(elapsed "$t0") s"
t_ok "node4 was fenced" sh -c "[ \$('$LAB' exec node1 stonith_admin --history node4 2>/dev/null | grep -c 'reboot\|off') -gt $fenced_before ]"
t_ok "node4 comes back online (remote)" poll 150 remote_online node4
t_ok "no guest left on node4" sh -c "[ -z \"\$('$LAB' exec node4 virsh -q list --name 2>/dev/null | grep .)\" ]"
"$CLUSTER" wait-idle 60 >/dev/null || true

# --- stop -----------------------------------------------------------------------
"$CLUSTER" crm node1 resource stop vm-a >/dev/null 2>&1
"$CLUSTER" crm node1 resource stop vm-b >/dev/null 2>&1
for _ in $(seq 600); do case "$(state vm-a) $(state vm-b)" in Stopped*Stopped*) break ;; esac; sleep 0.1; done
case "$(state vm-a) $(state vm-b)" in Stopped*Stopped*) t_pass "both VMs stopped" ;; *) t_fail "VMs: $(state vm-a); $(state vm-b)" ;; esac
t_ok "no guest runs anywhere" sh -c "for h in $FERRY_LAB_HOSTS; do [ -z \"\$('$LAB' exec \$h virsh -q list --name 2>/dev/null | grep .)\" ] || exit 1; done"

watcher_verdict
exit 0
