#!/bin/bash
# test_policies.sh — RHV's scheduling policies on Pacemaker (issue 16), in a
# 3-node cluster:
#   VMs per host (VM_Evenly_Distributed's HighVmCount): with
#   autoset_utilization_vms=true each VM publishes vms=1, so a node capacity
#   vms=2 caps the VMs per node — under placement-strategy=minimal, which would
#   otherwise pack all four small VMs onto one node — and
#   placement-strategy=balanced evens the counts out (2/1/1), live;
#   power saving (Power_Saving): minimal fills nodes in turn and leaves one
#   empty; that node goes to standby with no VM moving.
. "$(dirname "$0")/lablib.sh"
. "$(dirname "$0")/clusterlib.sh"
cluster_setup 3

VMS="vm-a vm-b vm-c vm-d"
capacity() { on node1 crm_attribute --node "$1" --utilization --name "$2" --update "$3"; }
util() { on node1 crm_resource -r "$1" --utilization --get-parameter "$2" 2>/dev/null; }
poll() { # poll SECONDS CMD...: CMD succeeds within SECONDS
    local end=$(( $(date +%s) + $1 )); shift
    until "$@" >/dev/null 2>&1; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 1; done
}
# counts: "node1=N node2=N node3=N" of started VMs
counts() {
    local n r c out=
    for n in $FERRY_LAB_HOSTS; do
        c=0
        for r in $VMS; do [ "$(state "$r")" = "Started $n -" ] && c=$((c + 1)); done
        out="$out$n=$c "
    done
    echo "${out% }"
}
all_started() { local r; for r in $VMS; do case "$(state "$r")" in "Started node"*" -") ;; *) return 1 ;; esac; done; }
# placed PREDICATE: all four started, the cluster idle, and PREDICATE holds of the counts
placed() {
    all_started && "$CLUSTER" wait-idle 5 >/dev/null 2>&1 && all_started && "$1" "$(counts)"
}
capped() { ! grep -Eq '=[3-9]' <<<"$1"; }
packed() { capped "$1" && grep -q '=0' <<<"$1"; }
even() { capped "$1" && ! grep -q '=0' <<<"$1"; }
# ops: every migrate_to/migrate_from/start/stop recorded in the CIB's status, one per line
ops() {
    on node1 cibadmin -Q --xpath "//lrm_rsc_op[@operation!='monitor']" 2>/dev/null |
        sed -n 's/.*operation_key="\([^"]*\)".*call-id="\([0-9]*\)".*/\1 \2/p' | sort
}

# --- the capacity: plenty of cpu and memory, two VMs per node -----------------
for n in $FERRY_LAB_HOSTS; do
    capacity "$n" cpu 8 && capacity "$n" hv_memory 1024 && capacity "$n" vms 2 ||
        t_fail "cannot set the capacity of $n"
done
conf=$FERRY_LAB_DIR/policies.crm
{
    echo "property placement-strategy=minimal"
    echo "rsc_defaults resource-stickiness=0"
    for r in $VMS; do vm_primitive "$r" "$(guest_xml "$r" --os bm --mem 32)" autoset_utilization_vms=true force_stop=true; done
} >"$conf"
t0=$(now_s)
t_ok "crm configure load update (4 VMs, placement-strategy=minimal, node capacity vms=2)" \
    crm_do configure load update "$conf"
for r in $VMS; do t_ok "$r started" wait_started "$r" '' 180; done
t_ok "each VM published utilization vms=1" poll 60 sh -c \
    "$(declare -f on util); LAB='$LAB'; for r in $VMS; do [ \"\$(util \$r vms)\" = 1 ] || exit 1; done"
# minimal packs; until the vms=1 arrive a node may hold more than two, then they move
t_ok "minimal + vms=2: no node holds more than 2, one node is left empty" poll 240 placed packed
t_log "     placement: $(counts) (settled $(elapsed "$t0") s after the configuration)"

# --- power saving: the empty node goes to standby, nothing moves ----------------
empty=$(counts | tr ' ' '\n' | sed -n 's/=0$//p' | head -n 1)
before=$(ops)
placed=$(for r in $VMS; do state "$r"; done)
t_ok "crm node standby $empty (the node minimal left empty)" crm_do node standby "$empty"
sleep 5
"$CLUSTER" wait-idle 60 >/dev/null || true
after=$(ops)
if [ "$placed" = "$(for r in $VMS; do state "$r"; done)" ] && [ "$before" = "$after" ]; then
    t_pass "no VM moved, started or stopped ($(wc -l <<<"$after") operations recorded, the same)"
else
    t_fail "something moved: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -n 4 | tr '\n' ';')"
fi
t_ok "crm node online $empty" crm_do node online "$empty"
"$CLUSTER" wait-idle 60 >/dev/null || true
t_ok "minimal moved nothing back to $empty" placed packed

# --- balanced evens the counts out, by live migration ---------------------------
ops0=$(ops)
t1=$(now_s)
t_ok "crm configure property placement-strategy=balanced" crm_do configure property placement-strategy=balanced
t_ok "balanced + vms=2: 2/1/1" poll 240 placed even
t_log "     placement: $(counts) ($(elapsed "$t1") s)"
before=$(ops)
sleep 15
"$CLUSTER" wait-idle 60 >/dev/null || true
if [ "$before" = "$(ops)" ] && placed even; then
    t_pass "and it stays so: nothing moved in the next 15 s ($(counts))"
else
    t_fail "it does not settle: $(counts); $(diff <(echo "$before") <(ops) | grep '^[<>]' | head -n 4 | tr '\n' ';')"
fi
new=$(comm -13 <(echo "$ops0") <(ops))
m=$(grep -c '_migrate_from_0 ' <<<"$new" || true)
st=$(grep -c '_start_0 ' <<<"$new" || true)
t_ok "the VMs moved live ($m migrate_from, $st start: $(grep -o '^[a-z-]*_migrate_from' <<<"$new" | sed 's/_migrate_from//' | tr '\n' ' '))" \
    test "$m" -gt 0 -a "$st" = 0

for r in $VMS; do crm_do resource stop "$r" >/dev/null 2>&1; done
for r in $VMS; do poll 60 sh -c "[ \"\$('$CLUSTER' state $r 2>/dev/null)\" = 'Stopped - -' ]" || true; done
t_ok "all stopped" sh -c "for r in $VMS; do [ \"\$('$CLUSTER' state \$r 2>/dev/null)\" = 'Stopped - -' ] || exit 1; done"
watcher_verdict
exit 0
