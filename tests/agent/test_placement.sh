#!/bin/bash
# test_placement.sh — placement and persistence under Pacemaker (issue 7):
#   the agent publishes each VM's vCPUs and memory as its utilization, so
#   placement-strategy=balanced spreads three VMs of different sizes over three
#   nodes, and a standby sends a VM only where there is capacity for it;
#   monitors of unchanged VMs write nothing to the CIB and start no process;
#   a change to the running domain's definition (virsh setmaxmem --config, then
#   virsh edit) reaches the config file and survives a move and a node loss.
. "$(dirname "$0")/lablib.sh"
. "$(dirname "$0")/clusterlib.sh"
command -v strace >/dev/null || t_cannot_run "strace is missing (./bootstrap.sh --deps installs it)"
cluster_setup 3

util() { on node1 crm_resource -r "$1" --utilization --get-parameter "$2" 2>/dev/null; }
util_is() { [ "$(util "$1" "$2")" = "$3" ]; }
capacity() { on node1 crm_attribute --node "$1" --utilization --name "$2" --update "$3"; }
epoch() { on node1 cibadmin -Q 2>/dev/null | head -n 1 | sed -n 's/.* epoch="\([0-9]*\)".*/\1/p'; }
poll() { # poll SECONDS CMD...: CMD succeeds within SECONDS
    local end=$(( $(date +%s) + $1 )); shift
    until "$@" >/dev/null 2>&1; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.5; done
}
maxmem_kib() { on "$1" virsh -q dominfo "$2" | awk '/^Max memory/ { print $3 }'; }

# --- nodes with capacity; three VMs of different sizes, no location preference
for n in $FERRY_LAB_HOSTS; do
    capacity "$n" cpu 4 && capacity "$n" hv_memory 256 || t_fail "cannot set the capacity of $n"
done
vs=$(guest_xml vm-s --os bm --mem 48)
vm=$(guest_xml vm-m --os bm --mem 64)
vl=$(guest_xml vm-l --os bm --mem 96)
conf=$FERRY_LAB_DIR/placement.crm
{
    echo "property placement-strategy=balanced"
    echo "rsc_defaults resource-stickiness=100"
    vm_primitive vm-s "$vs" persistent=true
    vm_primitive vm-m "$vm"
    vm_primitive vm-l "$vl"
} >"$conf"
t_ok "crm configure load update (3 VMs, placement-strategy=balanced)" crm_do configure load update "$conf"
for r in vm-s vm-m vm-l; do t_ok "$r started" wait_started "$r" '' 120; done

# --- the agent publishes the sizes ---------------------------------------------
t_ok "vm-s: utilization hv_memory=48 cpu=1 published" poll 30 sh -c "$(declare -f on util util_is); LAB='$LAB'; util_is vm-s hv_memory 48 && util_is vm-s cpu 1"
t_ok "vm-m: utilization hv_memory=64 published" poll 30 sh -c "$(declare -f on util util_is); LAB='$LAB'; util_is vm-m hv_memory 64"
t_ok "vm-l: utilization hv_memory=96 published" poll 30 sh -c "$(declare -f on util util_is); LAB='$LAB'; util_is vm-l hv_memory 96"
"$CLUSTER" wait-idle 60 >/dev/null || true
ns=$(node_of vm-s) nm=$(node_of vm-m) nl=$(node_of vm-l)
t_log "     placement: vm-s@$ns vm-m@$nm vm-l@$nl"
if [ "$(printf '%s\n' "$ns" "$nm" "$nl" | sort -u | wc -l)" = 3 ]; then
    t_pass "balanced: one VM per node"
else
    t_fail "balanced: not spread (vm-s@$ns vm-m@$nm vm-l@$nl)"
fi

# --- unchanged VMs: monitors write nothing and start nothing ---------------------
e0=$(epoch)
for r in vm-s vm-m vm-l; do
    h=$(node_of "$r")
    for _ in 1 2 3; do
        RSC=$r agent "$h" monitor OCF_RESKEY_config="$FERRY_LAB_SHARED/$r.xml" OCF_RESKEY_name="$r" \
            OCF_RESKEY_CRM_meta_interval=5000 >/dev/null 2>&1 || t_fail "monitor of $r on $h failed"
    done
done
# the agent's own monitor under strace: threads (its watchdog) yes, processes no
h=$(node_of vm-m)
on "$h" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=vm-m \
    OCF_RESKEY_crm_feature_set=3.16.1 OCF_RESKEY_CRM_meta_timeout=20000 OCF_RESKEY_CRM_meta_interval=5000 \
    OCF_RESKEY_config="$vm" OCF_RESKEY_name=vm-m HA_LOGFACILITY=none \
    strace -f -qq -e trace=clone,clone3,fork,vfork,execve -o "$FERRY_LAB_DIR/monitor.strace" "$AGENT" monitor \
    >/dev/null 2>&1
procs=$(grep -Ev 'CLONE_THREAD|execve\("'"$AGENT"'"' "$FERRY_LAB_DIR/monitor.strace" | grep -Ec 'clone|fork|execve' || true)
if [ "$procs" = 0 ]; then
    t_pass "a monitor of an unchanged VM starts no process (strace: $(grep -c CLONE_THREAD "$FERRY_LAB_DIR/monitor.strace") thread(s))"
else
    t_fail "a monitor started processes: $(grep -Ev CLONE_THREAD "$FERRY_LAB_DIR/monitor.strace" | head -n 3 | tr '\n' ';')"
fi
sleep 12    # and two rounds of the cluster's own 5 s monitors
e1=$(epoch)
if [ -n "$e0" ] && [ "$e0" = "$e1" ]; then
    t_pass "the CIB epoch stayed $e0 over 9 + 6 monitors of unchanged VMs"
else
    t_fail "the CIB epoch moved: $e0 -> $e1"
fi

# --- capacity decides where a VM may go ------------------------------------------
# vm-m's node keeps room for nothing bigger than 36 MiB; vm-s's node has plenty
capacity "$nm" hv_memory 100
capacity "$ns" hv_memory 256
"$CLUSTER" wait-idle 60 >/dev/null || true
since=$(now_ms)
t0=$(now_s)
t_ok "crm node standby $nl (vm-l's node)" crm_do node standby "$nl"
t_ok "vm-l moved to $ns, the node with room for it" wait_started vm-l "$ns" 120
t_log "     evacuation of vm-l took $(elapsed "$t0") s"
t_ok "vm-l went by migration" op_on vm-l "$ns" migrate_from
t_ok "$nm, without room, was never chosen for vm-l" sh -c "$(declare -f on op_on); LAB='$LAB'; ! op_on vm-l $nm start && ! op_on vm-l $nm migrate_from"
t_ok "vm-m stayed on $nm" wait_started vm-m "$nm" 10
t_ok "crm node online $nl" crm_do node online "$nl"
"$CLUSTER" wait-idle 60 >/dev/null || true

# --- a changed definition survives a move ------------------------------------------
h=$(node_of vm-s)
t_ok "virsh setmaxmem vm-s 64M --config on $h" on "$h" virsh -q setmaxmem vm-s 64M --config
t_ok "the next monitor saved it to vm-s's config file" poll 20 grep -q "<memory unit='KiB'>65536</memory>" "$vs"
t_ok "the config file is still a valid definition of vm-s" sh -c "xmllint --noout '$vs' && grep -q '<name>vm-s</name>' '$vs'"
t_ok "crm_resource --move vm-s to $nl" on node1 crm_resource --move -r vm-s -N "$nl"
t_ok "vm-s settles on $nl" wait_started vm-s "$nl" 120
t_ok "vm-s went by migration" op_on vm-s "$nl" migrate_from
t_ok "its definition on $nl has the change" sh -c "'$LAB' exec $nl virsh dumpxml --inactive vm-s | grep -q \"<memory unit='KiB'>65536</memory>\""
t_ok "no definition of vm-s is left on $h" sh -c "! '$LAB' exec $h virsh -q dominfo vm-s >/dev/null 2>&1"
on node1 crm_resource --clear -r vm-s >/dev/null 2>&1
"$CLUSTER" wait-idle 60 >/dev/null || true

# --- ... and a node loss -------------------------------------------------------------
h=$(node_of vm-s)
# virsh edit itself, with an "editor" that changes the memory as an operator would
cat >"$FERRY_LAB_DIR/edit.sh" <<'EDIT'
#!/bin/sh
sed -i "s|<memory unit='KiB'>65536</memory>|<memory unit='KiB'>81920</memory>|" "$1"
EDIT
chmod 755 "$FERRY_LAB_DIR/edit.sh"
t_ok "virsh edit vm-s on $h: memory 80 MiB" on "$h" env EDITOR="$FERRY_LAB_DIR/edit.sh" virsh -q edit vm-s
t_ok "the next monitor saved it" poll 20 grep -q "<memory unit='KiB'>81920</memory>" "$vs"
t0=$(now_s)
"$CLUSTER" poweroff "$h" >/dev/null
t_ok "vm-s restarted on a survivor after $h was lost" wait_started vm-s "!$h" 120
t_log "     failover took $(elapsed "$t0") s"
h2=$(node_of vm-s)
t_ok "it booted with the changed definition (80 MiB)" poll 30 sh -c "[ \"\$('$LAB' exec $h2 virsh -q dominfo vm-s | awk '/^Max memory/ { print \$3 }')\" = 81920 ]"
t_ok "and published its new size (hv_memory=80)" poll 30 sh -c "$(declare -f on util util_is); LAB='$LAB'; util_is vm-s hv_memory 80"
t_ok "$h comes back online" "$CLUSTER" wait-online --timeout 120
"$CLUSTER" wait-idle 60 >/dev/null || true

for r in vm-s vm-m vm-l; do crm_do resource stop "$r" >/dev/null 2>&1; done
for _ in $(seq 600); do case "$(state vm-s) $(state vm-m) $(state vm-l)" in Stopped*Stopped*Stopped*) break ;; esac; sleep 0.1; done
case "$(state vm-s) $(state vm-m) $(state vm-l)" in Stopped*Stopped*Stopped*) t_pass "all stopped" ;; *) t_fail "not stopped: $(state vm-s); $(state vm-m); $(state vm-l)" ;; esac
watcher_verdict
exit 0
