#!/bin/bash
# test_cluster.sh — Pacemaker itself drives the agent: a 3-node corosync +
# pacemaker cluster on the lab hosts (tests/lab/cluster.sh), fencing on,
# two ocf:ferry:vm resources configured as an operator would (one migrate=live,
# one migrate=pause, allow-migrate, migration-limit=1):
#   crm_resource --move and crm resource move migrate them (migrate_to on the
#   source, migrate_from on the target, stop on the source); standby evacuates
#   both by migration, one at a time; a migration that fails (target's libvirtd
#   stopped) is recovered with the VM running exactly once; node loss fences
#   the node and restarts the VM on a survivor; a guest that ignores shutdown
#   stops inside the stop timeout. A watcher samples every node's libvirt
#   throughout and fails the test if a guest ever runs twice or stays paused.
. "$(dirname "$0")/lablib.sh"

. "$(dirname "$0")/clusterlib.sh"
cluster_setup 3

# --- configuration, as an operator writes it ---------------------------------
va=$(guest_xml vm-a --os bm --dirty 16 --rate 40)
vb=$(guest_xml vm-b --os bm --dirty 16 --rate 40)
conf=$FERRY_LAB_DIR/vms.crm
{
    echo "property migration-limit=1"
    echo "rsc_defaults resource-stickiness=100"
    vm_primitive vm-a "$va" migrate=live
    vm_primitive vm-b "$vb" migrate=pause
    cat <<CRM
location vm-a-home vm-a 50: node1
location vm-b-home vm-b 50: node1
CRM
} >"$conf"
since=$(now_ms)
t_ok "crm configure load update (two VMs)" "$CLUSTER" crm node1 configure load update "$conf"
t_ok "vm-a started on node1" wait_started vm-a node1 120
t_ok "vm-b started on node1" wait_started vm-b node1 120
t_ok "both guests run" sh -c "$(declare -f ticks_wait); GUESTS_OUT='$GUESTS_OUT' TICKS_LOG='$TICKS_LOG'; ticks_wait vm-a 25 20000 $since && ticks_wait vm-b 25 20000 $since"


# --- crm_resource --move (live) and crm resource move (pause) ----------------
since=$(now_ms)
t0=$(now_s)
t_ok "crm_resource --move vm-a to node2" on node1 crm_resource --move -r vm-a -N node2
t_ok "vm-a settles on node2" wait_started vm-a node2 120
t_log "     move (live) took $(elapsed "$t0") s"
migrated vm-a node1 node2 live "$since"
on node1 crm_resource --clear -r vm-a >/dev/null 2>&1
since=$(now_ms)
t0=$(now_s)
t_ok "crm resource move vm-b node2 (crmsh)" "$CLUSTER" crm node1 resource move vm-b node2
t_ok "vm-b settles on node2" wait_started vm-b node2 120
t_log "     move (pause) took $(elapsed "$t0") s"
migrated vm-b node1 node2 pause "$since"
"$CLUSTER" crm node1 resource clear vm-b >/dev/null 2>&1
"$CLUSTER" wait-idle 60 >/dev/null || true

# --- standby evacuates both, one migration at a time -------------------------
since=$(now_ms)
t0=$(now_s)
t_ok "crm node standby node2" "$CLUSTER" crm node1 node standby node2
t_ok "vm-a evacuated to node1" wait_started vm-a node1 180
t_ok "vm-b evacuated to node1" wait_started vm-b node1 180
t_log "     evacuation of 2 VMs took $(elapsed "$t0") s"
t_ok "both left by migration" sh -c "'$LAB' exec node2 cat /run/resource-agents/ferry-migrations.log | grep -c 'from=node2 to=node1.*outcome=completed' | grep -qx 2"
# migration-limit=1: the two migrate_to's on node2 did not overlap
overlap=$("$LAB" exec node2 awk -v since="$since" '/from=node2 to=node1/ {
        split($1, a, "="); end = a[2] * 1000; for (i = 1; i <= NF; i++) if ($i ~ /^total_ms=/) { split($i, b, "="); dur = b[2] }
        if (end >= since) { s[++n] = end - dur; e[n] = end } }
        END { bad = 0; for (i = 2; i <= n; i++) if (s[i] < e[i-1] - 50) bad = 1; print bad }' \
        /run/resource-agents/ferry-migrations.log)
if [ "$overlap" = 0 ]; then t_pass "migration-limit=1 held: the migrations ran one after the other"; else t_fail "the two migrations overlapped"; fi
t_ok "crm node online node2" "$CLUSTER" crm node1 node online node2
"$CLUSTER" wait-idle 60 >/dev/null || true

# --- a migration that fails: the target's libvirtd is stopped ----------------
"$LAB" daemon node3 libvirtd stop >/dev/null
t0=$(now_s)
t_ok "crm_resource --move vm-a to node3 (libvirtd down there)" on node1 crm_resource --move -r vm-a -N node3
sleep 5
t_ok "vm-a recovers, running exactly once" wait_started vm-a '!node3' 180
t_log "     recovery took $(elapsed "$t0") s, vm-a on $(node_of vm-a)"
on node1 crm_resource --clear -r vm-a >/dev/null 2>&1
"$LAB" daemon node3 libvirtd start >/dev/null
on node1 crm_resource --cleanup -r vm-a >/dev/null 2>&1
"$CLUSTER" wait-idle 60 >/dev/null || true
t_ok "vm-a still runs after the cleanup" wait_started vm-a '' 120

# --- node loss: fenced, and the VM restarted on a survivor -------------------
victim=$(node_of vm-a)
fenced_before=$(on node1 stonith_admin --history "$victim" 2>/dev/null | grep -c 'reboot\|off' || true)
t0=$(now_s)
"$CLUSTER" poweroff "$victim" >/dev/null
t_ok "vm-a restarted on a survivor after $victim was lost" wait_started vm-a "!$victim" 120
t_log "     failover (power-off of $victim to vm-a started elsewhere) took $(elapsed "$t0") s"
t_ok "$victim was fenced" sh -c "[ \$('$LAB' exec $(for h in $FERRY_LAB_HOSTS; do [ $h != "$victim" ] && echo $h && break; done) stonith_admin --history $victim 2>/dev/null | grep -c 'reboot\|off') -gt $fenced_before ]"
t_ok "vm-b runs too" wait_started vm-b "!$victim" 120
t_ok "$victim comes back online" "$CLUSTER" wait-online --timeout 120
"$CLUSTER" wait-idle 60 >/dev/null || true

# --- a guest that ignores shutdown stops inside the stop timeout -------------
fenced_before=$(fenced_total)
t0=$(now_s)
t_ok "crm resource stop vm-a (its guest ignores ACPI; stop timeout 30s)" "$CLUSTER" crm node1 resource stop vm-a
for _ in $(seq 600); do case "$(state vm-a)" in Stopped*) break ;; esac; sleep 0.1; done
case "$(state vm-a)" in Stopped*) t_pass "vm-a stopped after $(elapsed "$t0") s" ;; *) t_fail "vm-a: $(state vm-a)" ;; esac
t_ok "no failed stop recorded" sh -c "! '$LAB' exec node1 crm_mon -1 --output-as=xml | grep -q '<failure [^>]*task=\"stop\"'"
fenced_after=$(fenced_total)
if [ "$fenced_after" = "$fenced_before" ]; then t_pass "no node was fenced for it"; else t_fail "fencing happened: $fenced_before -> $fenced_after"; fi

# --- coming from rgmanager: a cluster.conf imported with ferry-import ---------
# two (ACPI-answering) Linux guests, one <vm migrate="live">, one "pause",
# in an ordered failover domain that prefers node3
vc=$(guest_xml vm-c --os linux --type qemu)
vd=$(guest_xml vm-d --os linux --type qemu)
cat >"$FERRY_LAB_DIR/cluster.conf" <<CONF
<?xml version="1.0"?>
<cluster name="lab" config_version="1">
  <clusternodes>
    <clusternode name="node1" nodeid="1"/>
    <clusternode name="node2" nodeid="2"/>
    <clusternode name="node3" nodeid="3"/>
  </clusternodes>
  <rm>
    <failoverdomains>
      <failoverdomain name="prefer3" ordered="1" restricted="0">
        <failoverdomainnode name="node3" priority="1"/>
        <failoverdomainnode name="node2" priority="2"/>
      </failoverdomain>
    </failoverdomains>
    <vm name="vm-c" xmlfile="$vc" migrate="live" domain="prefer3" recovery="relocate"/>
    <vm name="vm-d" xmlfile="$vd" migrate="pause" domain="prefer3"/>
  </rm>
</cluster>
CONF
since=$(now_ms)
t_ok "ferry-import cluster.conf" "$top_builddir/tools/ferry-import" --output "$FERRY_LAB_DIR/imported.crm" "$FERRY_LAB_DIR/cluster.conf"
t_ok "crm configure load update (imported)" "$CLUSTER" crm node1 configure load update "$FERRY_LAB_DIR/imported.crm"
t_ok "vm-c (imported) started on node3, its domain's first node" wait_started vm-c node3 180
t_ok "vm-d (imported) started on node3" wait_started vm-d node3 180
t_ok "both imported guests run" sh -c "$(declare -f ticks_wait); GUESTS_OUT='$GUESTS_OUT' TICKS_LOG='$TICKS_LOG'; ticks_wait vm-c 25 60000 $since && ticks_wait vm-d 25 60000 $since"
since=$(now_ms)
t_ok "crm_resource --move vm-c to node2" on node1 crm_resource --move -r vm-c -N node2
t_ok "vm-c settles on node2" wait_started vm-c node2 120
migrated vm-c node3 node2 live "$since"
since=$(now_ms)
t_ok "crm_resource --move vm-d to node2" on node1 crm_resource --move -r vm-d -N node2
t_ok "vm-d settles on node2" wait_started vm-d node2 120
migrated vm-d node3 node2 pause "$since"
on node1 crm_resource --clear -r vm-c >/dev/null 2>&1
on node1 crm_resource --clear -r vm-d >/dev/null 2>&1
"$CLUSTER" crm node1 resource stop vm-c >/dev/null 2>&1
"$CLUSTER" crm node1 resource stop vm-d >/dev/null 2>&1
for _ in $(seq 600); do case "$(state vm-c) $(state vm-d)" in Stopped*Stopped*) break ;; esac; sleep 0.1; done
case "$(state vm-c) $(state vm-d)" in Stopped*Stopped*) t_pass "the imported VMs stopped" ;; *) t_fail "imported VMs: $(state vm-c); $(state vm-d)" ;; esac

watcher_verdict
exit 0
