#!/bin/bash
# test_shutdown.sh — a host leaving the cluster cleanly (what `crm cluster stop`,
# `pcs cluster stop` or a host shutdown/reboot does once systemd stops
# pacemaker.service first: see systemd/pacemaker.service.d/ferry.conf and
# test_systemd.sh) live-migrates its VMs away; the guests never stop.
# In the 3-node lab (fencing on): two VMs on node1 (migrate=live and
# migrate=pause), migration-limit=1; node1's pacemakerd gets SIGTERM:
#   - both VMs leave by migrate_to/migrate_from, one after the other, before
#     pacemakerd exits; their heartbeat continues; nobody is fenced;
#   - node1 rejoins and nothing moves back (stickiness);
# then with shutdown-lock=true (documented in README "Maintenance and
# reboots"): a node leaving stops its VMs in place (the guests shut down),
# keeps them locked to it, and starts them there again when it returns.
# The watcher checks throughout that no guest runs twice or stays paused.
. "$(dirname "$0")/lablib.sh"

. "$(dirname "$0")/clusterlib.sh"
cluster_setup 3

va=$(guest_xml vm-a --os bm --dirty 16 --rate 40)
vb=$(guest_xml vm-b --os bm --dirty 16 --rate 40)
conf=$FERRY_LAB_DIR/vms.crm
{
    echo "property migration-limit=1"
    echo "rsc_defaults resource-stickiness=100"
    # the bare-metal guests ignore ACPI: a short graceful budget for the
    # shutdown-lock half, where the VMs are stopped
    vm_primitive vm-a "$va" migrate=live shutdown_timeout=2s
    vm_primitive vm-b "$vb" migrate=pause shutdown_timeout=2s
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
"$CLUSTER" wait-idle 60 >/dev/null || true

# op_from FROM RSC NODE OPERATION: FROM's CIB records OPERATION of RSC on NODE, rc 0
op_from() {
    on "$1" cibadmin -Q --xpath "//node_state[@uname='$3']//lrm_resource[@id='$2']/lrm_rsc_op[@operation='$4' and @rc-code='0']" >/dev/null 2>&1
}

# --- node1 leaves the cluster: its VMs are live-migrated away ----------------
fenced_before=$(fenced_total)
since=$(now_ms)
t0=$(now_s)
t_ok "node1 leaves the cluster (pacemakerd SIGTERM, as a cluster stop or host shutdown)" "$CLUSTER" stop node1 240
t_log "     node1's cluster stop took $(elapsed "$t0") s"
for r in vm-a vm-b; do
    t_ok "$r runs on a survivor" wait_started "$r" '!node1' 60
    dst=$(node_of "$r")
    t_ok "$r: the CIB has migrate_from on $dst" op_from node2 "$r" "$dst" migrate_from
    t_ok "$r: node1's agent migrated it (outcome=completed)" \
        sh -c "'$LAB' exec node1 cat /run/resource-agents/ferry-migrations.log | grep 'domain=$r from=node1 to=$dst' | grep -q 'outcome=completed'"
    heartbeat_continued "$r" "$since"
done
t_ok "no QEMU guest is left on node1" sh -c "! '$LAB' exec node1 virsh -q list --name | grep -q ."
overlap=$("$LAB" exec node1 awk -v since="$since" '/from=node1 to=/ {
        split($1, a, "="); end = a[2] * 1000; for (i = 1; i <= NF; i++) if ($i ~ /^total_ms=/) { split($i, b, "="); dur = b[2] }
        if (end >= since) { s[++n] = end - dur; e[n] = end } }
        END { bad = (n != 2); for (i = 2; i <= n; i++) if (s[i] < e[i-1] - 50) bad = 1; print bad }' \
        /run/resource-agents/ferry-migrations.log)
if [ "$overlap" = 0 ]; then t_pass "migration-limit=1 held during the shutdown: two migrations, one after the other"; else t_fail "the shutdown's migrations overlapped (or were not two)"; fi
if [ "$(fenced_total)" = "$fenced_before" ]; then t_pass "nobody was fenced for a clean cluster stop"; else t_fail "a node was fenced"; fi

t0=$(now_s)
t_ok "node1 rejoins" "$CLUSTER" start node1
t_ok "node1 online" "$CLUSTER" wait-online --timeout 120
"$CLUSTER" wait-idle 60 >/dev/null || true
a_node=$(node_of vm-a) b_node=$(node_of vm-b)
t_ok "nothing moved back to node1 (stickiness 100 > location 50)" sh -c "[ '$a_node' != node1 ] && [ '$b_node' != node1 ]"

# --- shutdown-lock=true: the node's VMs are stopped in place, not moved -------
t_ok "crm configure property shutdown-lock=true" "$CLUSTER" crm node1 configure property shutdown-lock=true
victim=$a_node
locked=$(for r in vm-a vm-b; do [ "$(node_of $r)" = "$victim" ] && echo $r; done | tr '\n' ' ')
from=$(for h in $FERRY_LAB_HOSTS; do [ "$h" != "$victim" ] && echo "$h" && break; done)
lock_since=$(now_ms)
mig_before=$("$LAB" exec "$victim" grep -c "from=$victim" /run/resource-agents/ferry-migrations.log 2>/dev/null || true)
t0=$(now_s)
t_ok "$victim leaves the cluster with shutdown-lock=true" "$CLUSTER" stop "$victim" 240
t_log "     $victim's cluster stop took $(elapsed "$t0") s (its VMs: $locked)"
for r in $locked; do
    case "$("$CLUSTER" state "$r" "$from" 2>/dev/null)" in
        Stopped*) t_pass "$r is stopped, not moved" ;;
        *) t_fail "$r: $("$CLUSTER" state "$r" "$from")" ;;
    esac
    t_ok "$r: crm_mon shows it locked to $victim" sh -c "'$LAB' exec $from crm_mon -1 --output-as=xml | grep '<resource id=\"$r\"' | grep -q 'locked_to=\"$victim\"'"
done
t_ok "no migration left $victim" sh -c "[ \"\$('$LAB' exec $victim grep -c from=$victim /run/resource-agents/ferry-migrations.log 2>/dev/null || true)\" = '$mig_before' ]"
t_ok "$victim rejoins" "$CLUSTER" start "$victim"
for r in $locked; do
    t_ok "$r starts again on $victim, where it was locked" wait_started "$r" "$victim" 120
    # the price of the lock: the guest was shut down and booted again
    ticks_wait "$r" 25 20000 "$(now_ms)" || true
    rep=$(ticks_report "$r" "$lock_since")
    if grep -q '^resets=[1-9]' <<<"$rep"; then
        t_pass "$r: its guest was shut down and booted again (shutdown-lock stops, it never migrates)"
    else
        t_fail "$r: expected a restart of the guest: $(tr '\n' ' ' <<<"$rep")"
    fi
done
t_ok "crm configure property shutdown-lock=false" "$CLUSTER" crm node1 configure property shutdown-lock=false

watcher_verdict
exit 0
