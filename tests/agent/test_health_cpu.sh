#!/bin/bash
# test_health_cpu.sh — RHV's load balancing (Evenly_Distributed) with ferry's
# own health agent, ocf:ferry:health-cpu, measuring real CPU load (issue 16):
# a 3-node cluster, node-health-strategy=progressive (red -INFINITY, yellow -50
# against a stickiness of 100), migration-limit=1, two VMs on node1, the agent
# as a clone (allow-unhealthy-nodes=true) with short thresholds (red at >= 50 %
# for 15 s, green below 25 % for 15 s, a monitor every 5 s):
#   a bounded CPU load (a busy loop capped at 0.05 CPU, with a hard time limit,
#   killed by its PID) starts in node1's cgroup → node1 turns yellow, then red
#   no sooner than red_after_s → both VMs leave it by live migration, one at a
#   time; nothing moves while the load goes on (node1 stays red); the load stops
#   → node1 turns yellow (cooling down), then green no sooner than green_after_s,
#   and nothing comes back (stickiness). Stopping the clone deletes the attribute.
# Printed: load start → red, red → each VM away, and the thresholds.
#
# The lab's hosts share one kernel, so /proc/stat (the agent's default, right
# on a real hypervisor) cannot tell one lab node from another: each lab node's
# "CPU" is a cgroup of its own that the test makes (unique to the lab, removed
# at the end), named by the agent's `cgroup` parameter through a #uname rule
# per node. Inside the lab hosts (fresh sysfs) the test mounts the machine's
# cgroup hierarchies at the same paths, so the path means the same there. The
# load's busy % is relative to its own cpu quota, so it reaches ~100 % even on a
# machine busy with other work, as long as the loop gets 0.05 CPU.
. "$(dirname "$0")/lablib.sh"
. "$(dirname "$0")/clusterlib.sh"

HEALTH=${FERRY_HEALTH_AGENT:-$top_builddir/agents/health-cpu}
[ -x "$HEALTH" ] || t_cannot_run "agent binary $HEALTH is missing (run make first)"
# the machine's cgroup v2 mount, and (a hybrid host) the v1 cpu controller's
V2=$(findmnt -rn -t cgroup2 -o TARGET | head -n 1)
[ -n "$V2" ] || t_cannot_run "no cgroup v2 hierarchy is mounted"
read -r V1CPU V1OPTS < <(findmnt -rn -t cgroup -o TARGET,FS-OPTIONS | awk '$2 ~ /(^|,)cpu(,|$)/ {print; exit}')

cluster_setup 3

VMS="vm-c1 vm-c2"
ATTR='#health-ferry-cpu'
RED_PCT=50 GREEN_PCT=25 RED_AFTER=15 GREEN_AFTER=15 LOAD_QUOTA_US=5000 LOAD_LIMIT_S=300
CG=$(basename "$FERRY_LAB_DIR")
LOAD_PID=

load_stop() {
    [ -n "$LOAD_PID" ] || return 0
    kill "$LOAD_PID" 2>/dev/null || true
    wait "$LOAD_PID" 2>/dev/null || true
    LOAD_PID=
}
cgroups_remove() {
    local d i
    for d in "$V2/$CG" ${V1CPU:+"$V1CPU/$CG"}; do
        [ -d "$d" ] || continue
        for i in 1 2 3; do
            # the loop's processes are gone within moments of its kill
            for _ in $(seq 50); do [ -s "$d/node$i/cgroup.procs" ] || break; sleep 0.2; done
            rmdir "$d/node$i" 2>/dev/null || true
        done
        rmdir "$d" 2>/dev/null || t_fail "cgroup $d left behind: $(cat "$d"/node*/cgroup.procs 2>/dev/null | tr '\n' ' ')"
    done
}
trap 'load_stop; cgroups_remove; cluster_down; lab_exit' EXIT

# --- a cgroup per lab node, visible at the same path inside the hosts -------
for i in 1 2 3; do
    mkdir -p "$V2/$CG/node$i" ${V1CPU:+"$V1CPU/$CG/node$i"} || t_cannot_run "cannot create cgroups under $V2 $V1CPU"
done
if [ -n "$V1CPU" ]; then
    echo "$LOAD_QUOTA_US" >"$V1CPU/$CG/node1/cpu.cfs_quota_us"
else
    { echo +cpu >"$V2/cgroup.subtree_control" && echo +cpu >"$V2/$CG/cgroup.subtree_control" &&
      echo "$LOAD_QUOTA_US 100000" >"$V2/$CG/node1/cpu.max"; } 2>/dev/null ||
        t_cannot_run "cannot cap node1's cgroup (no cpu controller in cgroup v2 nor v1)"
fi
for h in $FERRY_LAB_HOSTS; do
    if [ "$V2" = /sys/fs/cgroup ]; then
        on "$h" mount -t cgroup2 cgroup2 /sys/fs/cgroup
    else
        on "$h" mount -t tmpfs -o mode=0755,size=1m "ferry-cgroup-$h" /sys/fs/cgroup &&
            on "$h" mkdir -p "$V2" ${V1CPU:+"$V1CPU"} &&
            on "$h" mount -t cgroup2 cgroup2 "$V2" &&
            { [ -z "$V1CPU" ] || on "$h" mount -t cgroup -o "$V1OPTS" cgroup "$V1CPU"; }
    fi || t_cannot_run "cannot mount the cgroup hierarchies inside $h"
done
t_ok "node1 sees its cgroup's cpu.stat inside the lab host" on node1 grep -q '^usage_usec ' "$V2/$CG/node1/cpu.stat"
ln -s "$HEALTH" "$FERRY_LAB_DIR/ocf-resource.d/ferry/health-cpu"

# attr NODE: the node's health attribute as attrd has it ("" if none)
attr() { on node1 attrd_updater -Q -n "$ATTR" -N "$1" 2>/dev/null | sed -n 's/.* value="\([^"]*\)".*/\1/p'; }
attr_is() { [ "$(attr "$1")" = "$2" ]; }
poll() { # poll SECONDS CMD...: CMD succeeds within SECONDS
    local end=$(( $(date +%s) + $1 )); shift
    until "$@" >/dev/null 2>&1; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.5; done
}
ops() {
    on node1 cibadmin -Q --xpath "//lrm_resource[@id='vm-c1' or @id='vm-c2']/lrm_rsc_op[@operation!='monitor']" 2>/dev/null |
        sed -n 's/.*operation_key="\([^"]*\)".*call-id="\([0-9]*\)".*/\1 \2/p' | sort
}
op_attr() { # op_attr RSC NODE OPERATION ATTRIBUTE
    on node1 cibadmin -Q --xpath "//node_state[@uname='$2']//lrm_resource[@id='$1']/lrm_rsc_op[@operation='$3']" 2>/dev/null |
        sed -n "s/.* $4=\"\([^\"]*\)\".*/\1/p" | head -n 1
}
off_node1() { local r; for r in $VMS; do wait_started "$r" '!node1' 1 >/dev/null 2>&1 || return 1; done; }
away() { wait_started "$1" '!node1' 1 >/dev/null 2>&1; }
went_live() { op_on "$1" node1 migrate_to && op_on "$1" "$2" migrate_from; }
unchanged() { [ "$before" = "$(ops)" ]; }
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

conf=$FERRY_LAB_DIR/health-cpu.crm
{
    echo "property node-health-strategy=progressive node-health-red=-INFINITY node-health-yellow=-50 migration-limit=1"
    echo "rsc_defaults resource-stickiness=100"
    echo "primitive p-health ocf:ferry:health-cpu \\"
    for i in 1 2 3; do
        echo "    params $((i + 1)): rule #uname eq node$i cgroup=$V2/$CG/node$i \\"
    done
    echo "    params 1: red_percent=$RED_PCT green_percent=$GREEN_PCT red_after_s=$RED_AFTER green_after_s=$GREEN_AFTER \\"
    echo "    op monitor interval=5s timeout=20s"
    echo "clone c-health p-health meta interleave=true allow-unhealthy-nodes=true"
    for r in $VMS; do
        vm_primitive "$r" "$(guest_xml "$r" --os bm --mem 32)" force_stop=true
        echo "location l-$r $r 50: node1"
    done
} >"$conf"
t_ok "crm configure load update (health-cpu clone with a cgroup per node, progressive, migration-limit=1, 2 VMs on node1)" \
    crm_do configure load update "$conf"
for r in $VMS; do t_ok "$r started on node1" wait_started "$r" node1 180; done
for h in $FERRY_LAB_HOSTS; do t_ok "$h: $ATTR=green (health-cpu started)" poll 90 attr_is "$h" green; done
t_ok "node1's instance measures node1's cgroup" \
    on node1 sh -c "cat /run/resource-agents/ferry-health-cpu-p-health*.state | grep -qx 'source=$V2/$CG/node1'"
"$CLUSTER" wait-idle 60 >/dev/null || true
t_log "     ($SECONDS s: cluster, VMs and health-cpu up)"
t_log "     thresholds: red at >= $RED_PCT % for $RED_AFTER s, green below $GREEN_PCT % for $GREEN_AFTER s, monitor every 5 s; load: a busy loop capped at $LOAD_QUOTA_US/100000 CPU"

# --- node1 loaded: yellow, then red, then its VMs leave live ---------------
( echo "$BASHPID" >"$V2/$CG/node1/cgroup.procs" &&
  { [ -z "$V1CPU" ] || echo "$BASHPID" >"$V1CPU/$CG/node1/tasks"; } &&
  exec timeout "$LOAD_LIMIT_S" sh -c 'while :; do :; done' ) &
LOAD_PID=$!
t_load=$(now_s)
t_ok "node1 turns yellow (loaded, not long enough yet)" poll 60 attr_is node1 yellow
t_yellow=$(now_s)
t_ok "node1 turns red" poll 120 attr_is node1 red
t_red=$(now_s)
t_log "     load start -> yellow $(since "$t_load" "$t_yellow") s, -> red $(since "$t_load" "$t_red") s"
# a reading counts from its start: the first loaded one (busy >= red_percent
# on average) may begin up to (1 - red_percent/100) of a monitor interval
# before the load did
t_ok "red no sooner than red_after_s=$RED_AFTER (less that part of a 5 s reading) after the load began" \
    awk -v d="$(since "$t_load" "$t_red")" -v m="$RED_AFTER" -v p="$RED_PCT" 'BEGIN { exit !(d >= m - 5 * (100 - p) / 100) }'
for h in node2 node3; do t_ok "$h stays green" attr_is "$h" green; done
first=
for _ in $(seq 360); do
    for r in $VMS; do
        if [ -z "$first" ] && away "$r"; then first=$r; t_first=$(now_s); fi
    done
    [ -n "$first" ] && break
    sleep 0.5
done
t_ok "a VM left node1" test -n "$first"
t_ok "both VMs left node1" poll 180 off_node1
t_empty=$(now_s)
t_log "     red -> first VM away $(since "$t_red" "${t_first:-$t_empty}") s, -> node1 empty $(since "$t_red" "$t_empty") s (load start -> node1 empty $(since "$t_load" "$t_empty") s)"
for r in $VMS; do
    n=$(node_of "$r")
    t_ok "$r went live to $n (migrate_to on node1, migrate_from on $n)" went_live "$r" "$n"
done
k1=$(op_attr vm-c1 node1 migrate_to transition-key) k2=$(op_attr vm-c2 node1 migrate_to transition-key)
a1=$(op_attr vm-c1 node1 migrate_to last-rc-change) e1=$(op_attr vm-c1 node1 migrate_to exec-time)
a2=$(op_attr vm-c2 node1 migrate_to last-rc-change) e2=$(op_attr vm-c2 node1 migrate_to exec-time)
t_log "     migrate_to vm-c1: transition $(cut -d: -f2 <<<"$k1"), ended at $a1 after $e1 ms; vm-c2: transition $(cut -d: -f2 <<<"$k2"), ended at $a2 after $e2 ms"
if [ -n "$a1" ] && [ -n "$a2" ] && [ -n "$e1" ] && [ -n "$e2" ] &&
    awk -v a1="$a1" -v e1="$e1" -v a2="$a2" -v e2="$e2" 'BEGIN {
        s1 = a1 * 1000 - e1; s2 = a2 * 1000 - e2   # starts, in ms (end times have 1 s resolution)
        if (s1 <= s2) exit !(s2 >= a1 * 1000 - 1000); else exit !(s1 >= a2 * 1000 - 1000) }'; then
    t_pass "migration-limit=1: the two migrations ran one after the other"
else
    t_fail "the migrations overlapped"
fi
t_log "     ($SECONDS s: node1 empty)"
t_ok "the load still runs (bounded by its own time limit, not yet reached)" kill -0 "$LOAD_PID"

# --- loaded still: node1 stays red and nothing moves ------------------------
before=$(ops)
sleep 10
"$CLUSTER" wait-idle 60 >/dev/null || true
t_ok "node1 still red after 10 s (two monitors) more of load" attr_is node1 red
t_ok "nothing moved in those 10 s" unchanged
t_ok "health-cpu kept running on the red node1 (allow-unhealthy-nodes=true)" \
    sh -c "'$CLUSTER' crm node1 resource locate c-health 2>&1 | grep -q 'running on: node1'"

# --- load stopped: yellow (cooling), then green; nothing comes back --------
load_stop
t_stop=$(now_s)
t_ok "node1 turns yellow once the load stopped (cooling down)" poll 60 attr_is node1 yellow
t_cool=$(now_s)
t_ok "node1 turns green" poll 120 attr_is node1 green
t_green=$(now_s)
t_log "     load stop -> yellow $(since "$t_stop" "$t_cool") s, -> green $(since "$t_stop" "$t_green") s"
t_ok "green no sooner than green_after_s=$GREEN_AFTER (less that part of a 5 s reading) after the load stopped" \
    awk -v d="$(since "$t_stop" "$t_green")" -v m="$GREEN_AFTER" -v p="$GREEN_PCT" 'BEGIN { exit !(d >= m - 5 * p / 100) }'
sleep 5
"$CLUSTER" wait-idle 60 >/dev/null || true
t_ok "nothing moved back while node1 cooled down and in 5 s after it turned green (stickiness 100 > location 50)" unchanged
t_ok "both still off node1" off_node1

t_log "     ($SECONDS s: node1 green again)"
# what the agent logged at each change (stderr, in Pacemaker's log)
log=$FERRY_LAB_DIR/node1/cluster/log-pacemaker/pacemaker.log
grep -o "$ATTR: [a-z]* -> [a-z]*: .*" "$log" 2>/dev/null | sed 's/ \]$//; s/^/     node1: /' | head -n 6
t_ok "node1's agent logged each change with the load and the thresholds" \
    sh -c "grep -q '$ATTR: yellow -> red: .* busy [0-9.]* % .*red at >= $RED_PCT % for $RED_AFTER s' '$log'"
t_ok "by the agent's own readings, red came after >= red_after_s at or above red_percent" \
    awk -v m="$RED_AFTER" 'match($0, /yellow -> red: .* at or above red for [0-9.]+ s/) {
        split(substr($0, RSTART, RLENGTH), w, "for "); n = w[2] + 0; found = 1 }
        END { exit !(found && n >= m) }' "$log"

for r in $VMS; do crm_do resource stop "$r" >/dev/null 2>&1; done
for r in $VMS; do poll 60 sh -c "[ \"\$('$CLUSTER' state $r 2>/dev/null)\" = 'Stopped - -' ]" || true; done
t_ok "VMs stopped" sh -c "for r in $VMS; do [ \"\$('$CLUSTER' state \$r 2>/dev/null)\" = 'Stopped - -' ] || exit 1; done"
crm_do resource stop c-health >/dev/null 2>&1
for h in $FERRY_LAB_HOSTS; do t_ok "$h: stopping health-cpu deleted $ATTR" poll 60 attr_is "$h" ""; done
watcher_verdict
t_log "     ($SECONDS s: all stopped)"
exit 0
