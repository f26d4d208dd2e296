#!/bin/bash
# test_reload.sh — day-2 changes under a real Pacemaker, and pcs as well as
# crmsh, in one 2-node cluster (tests/lab/cluster.sh, fencing on):
#   crmsh: `crm resource param VM set migration_speed 10` is applied with
#   reload-agent (Pacemaker >= 2.1 reads reloadable="1" from the OCF 1.1
#   meta-data): Pacemaker runs reload-agent (its log) and records it in the
#   CIB's history as the resource's last "start" (a new call, the new digest,
#   op-force-restart = exactly our identity parameters), with no stop; the
#   guest is not restarted (same libvirt domain ID, its heartbeat never starts
#   again), and the next migration runs at the new speed (bytes over libvirt's
#   job time, from the agent's migration log; the same kind of guest without
#   the limit migrates faster); a change of 'config' (an identity parameter)
#   still restarts the VM (a stop, no reload-agent, a new boot).
#   pcs: `pcs resource create ... ocf:ferry:vm config=... migrate=pause meta
#   allow-migrate=true` makes a working VM with the advertised ops (reload-agent
#   among them, no recover), `pcs resource move` migrates it in its mode,
#   `pcs resource update vm1 migration_speed=50` is a reload-agent too, and
#   `pcs node standby` evacuates the node by migration.
# A watcher samples both nodes' libvirt throughout: no guest ever runs twice.
. "$(dirname "$0")/lablib.sh"

. "$(dirname "$0")/clusterlib.sh"
command -v pcs >/dev/null || t_cannot_run "pcs is missing (./bootstrap.sh --deps installs it)"
cluster_setup 2

SPEED_MIB_S=5
other() { if [ "$1" = node1 ]; then echo node2; else echo node1; fi; }
domid() { on "$1" virsh -q domid "$2" 2>/dev/null | tr -d '[:space:]'; }
pcs_do() { on node1 pcs "$@"; }
# pcmk_count NODE TEXT: lines of NODE's Pacemaker log holding TEXT
pcmk_count() { on "$1" grep -cF "$2" /var/log/pacemaker/pacemaker.log 2>/dev/null || true; }
# last_op RSC NODE ATTR: ATTR of RSC's last non-recurring operation on NODE in the CIB
last_op() {
    on node1 cibadmin -Q --xpath "//node_state[@uname='$2']//lrm_resource[@id='$1']/lrm_rsc_op[@id='$1_last_0']" 2>/dev/null |
        sed -n "s/.* $3=\"\([^\"]*\)\".*/\1/p" | head -n 1
}
IDENTITY="config hypervisor hypervisor_uri name path persistent xmlfile"
# mig_field SRC RSC DST FIELD: FIELD of the agent's last completed migration of RSC from SRC to DST
mig_field() {
    on "$1" cat /run/resource-agents/ferry-migrations.log 2>/dev/null |
        grep "domain=$2 from=$1 to=$3 .*outcome=completed" | tail -n 1 |
        tr ' ' '\n' | sed -n "s/^$4=//p"
}
# rate_mib_s SRC RSC DST: MiB/s of that migration (bytes over libvirt's job time)
rate_mib_s() {
    local bytes ms
    bytes=$(mig_field "$1" "$2" "$3" bytes)
    ms=$(mig_field "$1" "$2" "$3" elapsed_ms)
    [ -n "$bytes" ] && [ -n "$ms" ] && [ "$ms" -gt 0 ] || { echo "?"; return; }
    awk -v b="$bytes" -v ms="$ms" 'BEGIN { printf "%.1f", b / 1048576 / (ms / 1000) }'
}
heartbeat_unbroken() {   # RSC SINCE_MS WHAT: no reset, no bad page (a reload has no switch-over; clusterlib's heartbeat_continued wants one)
    local rep
    ticks_wait "$1" 25 20000 "$(now_ms)" || true
    rep=$(ticks_report "$1" "$2")
    if grep -qx 'resets=0' <<<"$rep" && grep -qx 'bad=0' <<<"$rep"; then
        t_pass "$1: its heartbeat continued $3 (max gap $(sed -n 's/^max_gap_ms=//p' <<<"$rep") ms)"
    else
        t_fail "$1: heartbeat $3: $(tr '\n' ' ' <<<"$rep")"
    fi
}

# --- crmsh: one VM, pause mode; it dirties 24 MiB so its migration is measurable
vr=$(guest_xml vm-r --os bm --dirty 24 --rate 40)
conf=$FERRY_LAB_DIR/vm-r.crm
{
    echo "rsc_defaults resource-stickiness=100"
    vm_primitive vm-r "$vr" migrate=pause force_stop=true
} >"$conf"
since=$(now_ms)
t_ok "crm configure load update (vm-r)" "$CLUSTER" crm node1 configure load update "$conf"
t_ok "vm-r started" wait_started vm-r '' 120
t_ok "vm-r's guest runs" ticks_wait vm-r 25 30000 "$since"
src=$(node_of vm-r)
dst=$(other "$src")
id_before=$(domid "$src" vm-r)

# --- reload-agent: a reloadable parameter changes, the guest stays -----------
# Pacemaker records a successful reload-agent in the CIB as the resource's
# last operation "start" (its new digest, the reload's call-id); its log names
# the reload-agent operation itself.
reloads=$(pcmk_count "$src" "Result of reload-agent operation for vm-r on $src: ok")
stops=$(pcmk_count "$src" "Result of stop operation for vm-r on $src")
call_before=$(last_op vm-r "$src" call-id)
since=$(now_ms)
t_ok "crm resource param vm-r set migration_speed $SPEED_MIB_S" \
    "$CLUSTER" crm node1 resource param vm-r set migration_speed "$SPEED_MIB_S"
"$CLUSTER" wait-idle 60 >/dev/null || true
t_ok "Pacemaker ran reload-agent of vm-r on $src ('Result of reload-agent operation ... ok')" \
    test "$(pcmk_count "$src" "Result of reload-agent operation for vm-r on $src: ok")" -gt "$reloads"
t_ok "no stop of vm-r on $src" test "$(pcmk_count "$src" "Result of stop operation for vm-r on $src")" = "$stops"
call_after=$(last_op vm-r "$src" call-id)
force=$(last_op vm-r "$src" op-force-restart | tr ' ' '\n' | grep . | sort | tr '\n' ' ')
t_log "     CIB: vm-r_last_0 on $src: $(last_op vm-r "$src" operation), call-id $call_before -> $call_after, op-force-restart: $force"
t_ok "the CIB's history of vm-r on $src holds the reload (a newer call, the new digest)" \
    test -n "$call_after" -a "$call_after" != "$call_before" -a "$(last_op vm-r "$src" operation)" = start
t_ok "Pacemaker took the identity parameters from the meta-data (op-force-restart: $IDENTITY)" \
    test "$force" = "$IDENTITY "
t_ok "vm-r still runs on $src" wait_started vm-r "$src" 60
id_after=$(domid "$src" vm-r)
if [ -n "$id_before" ] && [ "$id_before" = "$id_after" ]; then
    t_pass "the guest was not restarted: the same libvirt domain (ID $id_after) on $src"
else
    t_fail "vm-r's domain ID on $src changed: '$id_before' -> '$id_after'"
fi
heartbeat_unbroken vm-r "$since" "across the reload"

# --- the next migration uses the new speed ------------------------------------
since=$(now_ms)
t_ok "crm resource move vm-r $dst" "$CLUSTER" crm node1 resource move vm-r "$dst"
t_ok "vm-r settles on $dst" wait_started vm-r "$dst" 120
"$CLUSTER" crm node1 resource clear vm-r >/dev/null 2>&1
t_ok "vm-r: the CIB has migrate_from on $dst" op_on vm-r "$dst" migrate_from
limited=$(rate_mib_s "$src" vm-r "$dst")
bytes=$(mig_field "$src" vm-r "$dst" bytes)
t_log "     vm-r's migration after the reload: $(mig_field "$src" vm-r "$dst" bytes) bytes in $(mig_field "$src" vm-r "$dst" elapsed_ms) ms: $limited MiB/s"
if [ "${bytes:-0}" -ge $((16 * 1048576)) ] &&
    awk -v r="$limited" -v s="$SPEED_MIB_S" 'BEGIN { exit !(r != "?" && r <= s * 1.25) }'; then
    t_pass "the migration after the reload ran at the new speed ($limited MiB/s, limit $SPEED_MIB_S)"
else
    t_fail "the migration after the reload: ${bytes:-?} bytes at $limited MiB/s (limit $SPEED_MIB_S)"
fi
heartbeat_unbroken vm-r "$since" "across the move"
"$CLUSTER" wait-idle 60 >/dev/null || true

# --- an identity parameter still restarts --------------------------------------
vr2=${vr%.xml}-copy.xml
cp "$vr" "$vr2"
id_before=$(domid "$dst" vm-r)
stops=$(pcmk_count "$dst" "Result of stop operation for vm-r on $dst: ok")
reloads=$(pcmk_count "$dst" "Result of reload-agent operation for vm-r on $dst")
since=$(now_ms)
t_ok "crm resource param vm-r set config (another file)" \
    "$CLUSTER" crm node1 resource param vm-r set config "$vr2"
"$CLUSTER" wait-idle 90 >/dev/null || true
t_ok "vm-r runs after the config change" wait_started vm-r '' 120
t_ok "Pacemaker stopped vm-r on $dst for it (a restart)" \
    test "$(pcmk_count "$dst" "Result of stop operation for vm-r on $dst: ok")" -gt "$stops"
t_ok "and ran no reload-agent" \
    test "$(pcmk_count "$dst" "Result of reload-agent operation for vm-r on $dst")" = "$reloads"
rep=
for _ in $(seq 60); do    # the new boot's heartbeat starts again from 0
    rep=$(ticks_report vm-r "$since" 2>/dev/null)
    grep -qx 'resets=0' <<<"$rep" || break
    sleep 0.5
done
if ! grep -qx 'resets=0' <<<"$rep" && [ "$(domid "$(node_of vm-r)" vm-r)" != "$id_before" ]; then
    t_pass "a change of config restarted the guest (a new domain, $(grep '^resets=' <<<"$rep"))"
else
    t_fail "a change of config did not restart the guest: $(tr '\n' ' ' <<<"$rep")"
fi
"$CLUSTER" crm node1 resource stop vm-r >/dev/null 2>&1

# --- pcs: create, move, standby -------------------------------------------------
v1=$(guest_xml vm1 --os bm --dirty 24 --rate 40)
since=$(now_ms)
t_ok "pcs resource create vm1 ocf:ferry:vm config=... migrate=pause meta allow-migrate=true" \
    pcs_do resource create vm1 ocf:ferry:vm config="$v1" migrate=pause force_stop=true \
    meta allow-migrate=true
pcs_do resource config vm1 >"$FERRY_LAB_DIR/vm1.pcs" 2>&1
sed 's/^/     | /' "$FERRY_LAB_DIR/vm1.pcs"
t_ok "pcs copied the advertised ops: reload-agent, migrate_to, migrate_from" \
    sh -c "grep -q 'reload-agent:' '$FERRY_LAB_DIR/vm1.pcs' && grep -q 'migrate_to:' '$FERRY_LAB_DIR/vm1.pcs' && grep -q 'migrate_from:' '$FERRY_LAB_DIR/vm1.pcs'"
t_ok "no recover op and no depth-10 monitor in the CIB" \
    sh -c "! grep -q 'recover:\|OCF_CHECK_LEVEL' '$FERRY_LAB_DIR/vm1.pcs'"
t_ok "vm1 started" wait_started vm1 '' 120
t_ok "vm1's guest runs" ticks_wait vm1 25 30000 "$since"
src=$(node_of vm1)
dst=$(other "$src")
since=$(now_ms)
t_ok "pcs resource move vm1 $dst" pcs_do resource move vm1 "$dst" --wait=120
t_ok "vm1 settles on $dst" wait_started vm1 "$dst" 120
t_ok "vm1 left by migration, migrate=pause" sh -c "[ -n \"\$(
    '$LAB' exec $src cat /run/resource-agents/ferry-migrations.log | grep 'domain=vm1 from=$src to=$dst mode=pause .*outcome=completed')\" ]"
t_ok "pcs removed its move constraint" sh -c "! '$LAB' exec node1 cibadmin -Q -o constraints | grep -q 'rsc=\"vm1\"'"
heartbeat_unbroken vm1 "$since" "across pcs resource move"
unlimited=$(rate_mib_s "$src" vm1 "$dst")
t_log "     vm1's migration (no speed limit): $unlimited MiB/s"
if awk -v r="$unlimited" -v s="$SPEED_MIB_S" 'BEGIN { exit !(r != "?" && r > s * 1.25) }'; then
    t_pass "without the limit the same kind of guest migrates faster ($unlimited MiB/s > $limited MiB/s)"
else
    t_fail "unlimited migration at $unlimited MiB/s: the speed check above proves nothing"
fi

# pcs's way to change a reloadable parameter: reload-agent too
reloads=$(pcmk_count "$dst" "Result of reload-agent operation for vm1 on $dst: ok")
id_before=$(domid "$dst" vm1)
t_ok "pcs resource update vm1 migration_speed=50" pcs_do resource update vm1 migration_speed=50
"$CLUSTER" wait-idle 60 >/dev/null || true
t_ok "Pacemaker ran reload-agent of vm1 on $dst" \
    test "$(pcmk_count "$dst" "Result of reload-agent operation for vm1 on $dst: ok")" -gt "$reloads"
t_ok "vm1's guest was not restarted" test -n "$id_before" -a "$(domid "$dst" vm1)" = "$id_before"

"$CLUSTER" crm node1 resource start vm-r >/dev/null 2>&1
t_ok "vm-r runs again" wait_started vm-r '' 120
"$CLUSTER" wait-idle 60 >/dev/null || true
if [ "$(node_of vm-r)" != "$dst" ]; then     # both VMs on $dst for the standby
    "$CLUSTER" crm node1 resource move vm-r "$dst" >/dev/null 2>&1
    wait_started vm-r "$dst" 120 >/dev/null || true
    "$CLUSTER" crm node1 resource clear vm-r >/dev/null 2>&1
fi
"$CLUSTER" wait-idle 60 >/dev/null || true
since=$(now_ms)
t0=$(now_s)
t_ok "pcs node standby $dst" pcs_do node standby "$dst"
t_ok "vm1 evacuated to $src" wait_started vm1 "$src" 180
t_ok "vm-r evacuated to $src" wait_started vm-r "$src" 180
t_log "     evacuation of 2 VMs took $(elapsed "$t0") s"
t_ok "both left $dst by migration" sh -c "'$LAB' exec $dst cat /run/resource-agents/ferry-migrations.log | grep 'from=$dst to=$src.*outcome=completed' | grep -c 'domain=vm1 \|domain=vm-r ' | grep -qx 2"
heartbeat_unbroken vm1 "$since" "across the standby"
t_ok "pcs node unstandby $dst" pcs_do node unstandby "$dst"

watcher_verdict
exit 0
