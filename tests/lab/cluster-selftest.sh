#!/usr/bin/env bash
# cluster-selftest.sh -- proves tests/lab/cluster.sh: a 3-host lab becomes a 3-node Pacemaker cluster
# with working fencing; an ocf:pacemaker:Dummy (allow-migrate=true) migrates on crm_resource --move,
# crm resource move and crm node standby; node loss (cluster.sh poweroff) gets the node fenced, the
# Dummy restarted elsewhere and the node back online; then everything is torn down and checked.
# One line per check, then "cluster-selftest: N passed, M failed".  Exit 0 only if nothing failed.
# Uses its own lab: FERRY_LAB_DIR=/var/tmp/ferry-lab-cluster-selftest (override with the variable).
# On failure the hosts' cluster logs are copied to $FERRY_LAB_DIR.failed-logs before the teardown.
set -euo pipefail

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
LAB=$HERE/lab.sh
CLU=$HERE/cluster.sh
export FERRY_LAB_DIR=${FERRY_LAB_DIR:-/var/tmp/ferry-lab-cluster-selftest}
PASS=0 FAIL=0; PIDS_SEEN=()

now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }
secs_since() { local d=$(( $(now_ms) - $1 )); printf '%d.%02d' $(( d / 1000 )) $(( d % 1000 / 10 )); }
ok() { PASS=$(( PASS + 1 )); echo "ok   $*"; }
bad() { FAIL=$(( FAIL + 1 )); echo "FAIL $*"; }
q() { "$@" >/dev/null 2>&1; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
in_node() { local h=$1; shift; "$LAB" exec "$h" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
mon() { in_node node1 crm_mon -1 --output-as=xml 2>/dev/null || in_node node2 crm_mon -1 --output-as=xml 2>/dev/null; }
xp() { xmllint --xpath "$1" - 2>/dev/null || true; }
where() { "$CLU" state "$1" | cut -d' ' -f2; }
remember_pids() { local h f; for h in node1 node2 node3; do for f in corosync pacemakerd; do [ -f "$FERRY_LAB_DIR/$h/$f.pid" ] && PIDS_SEEN+=("$(cat "$FERRY_LAB_DIR/$h/$f.pid")"); done; done; true; }

cleanup() {
  local rc=$?
  trap - EXIT
  if [ "$FAIL" -gt 0 ] || [ "$rc" != 0 ]; then
    if [ -d "$FERRY_LAB_DIR" ]; then
      local keep=$FERRY_LAB_DIR.failed-logs h
      rm -rf "$keep"; mkdir -p "$keep"
      for h in node1 node2 node3; do
        [ -d "$FERRY_LAB_DIR/$h" ] || continue
        mkdir -p "$keep/$h"; cp -a "$FERRY_LAB_DIR/$h/log" "$keep/$h/" 2>/dev/null || true
        for d in log-pacemaker log-corosync fence.log; do cp -a "$FERRY_LAB_DIR/$h/cluster/$d" "$keep/$h/" 2>/dev/null || true; done
      done
      echo "logs kept in $keep"
    fi
    "$CLU" down >/dev/null 2>&1 || true
    "$LAB" down 2>&1 | tail -n 3 || true
  fi
  echo "cluster-selftest: $PASS passed, $FAIL failed"
  [ "$FAIL" = 0 ] && [ "$rc" = 0 ] && exit 0
  exit 1
}
trap cleanup EXIT
trap 'exit 130' INT; trap 'exit 143' TERM

[ ! -e "$FERRY_LAB_DIR" ] || { echo "$FERRY_LAB_DIR exists; run: FERRY_LAB_DIR=$FERRY_LAB_DIR $LAB down"; trap - EXIT; exit 1; }
T_ALL=$(now_ms)

# ---------------------------------------------------------------------------------------- up
t0=$(now_ms)
if out=$("$LAB" up 3 2>&1); then ok "lab up 3 ($(secs_since "$t0")s)"; else bad "lab up 3: $out"; exit 1; fi
t0=$(now_ms)
out=$("$CLU" up 2>&1) && ok "cluster up ($(secs_since "$t0")s): ${out##*$'\n'}" || { bad "cluster up: $out"; exit 1; }
remember_pids
x=$(mon)
check "3 nodes online" [ "$(xp "count(//nodes/node[@online='true'])" <<<"$x")" = 3 ]
check "a DC is elected ($(xp 'string(//current_dc/@name)' <<<"$x"))" [ "$(xp 'string(//current_dc/@present)' <<<"$x")" = true ]
check "partition has quorum" [ "$(xp 'string(//current_dc/@with_quorum)' <<<"$x")" = true ]
check "stonith-enabled=true" [ "$(in_node node2 crm_attribute -t crm_config -n stonith-enabled -G -q 2>/dev/null)" = true ]
check "fence device ferrylab-fence Started ($("$CLU" state ferrylab-fence))" q "$CLU" wait-started ferrylab-fence "" 30
check "fence_ferrylab only inside the hosts (not on the root fs)" eval '[ ! -e /usr/sbin/fence_ferrylab ] && in_node node3 test -x /usr/sbin/fence_ferrylab'
check "fence_ferrylab metadata is valid XML" eval 'in_node node1 sh -c "echo action=metadata | /usr/sbin/fence_ferrylab" | xmllint --noout -'
check "fence_ferrylab list/status" eval '[ "$(in_node node1 sh -c "printf \"action=list\n\" | /usr/sbin/fence_ferrylab" | tr "\n" " ")" = "node1 node2 node3 " ] && in_node node1 sh -c "printf \"action=status\nport=node2\n\" | /usr/sbin/fence_ferrylab"'
check "corosync ring addresses are the lab's 198.51.100.x" eval '! grep -E "ring0_addr" "$FERRY_LAB_DIR/cluster/corosync.conf" | grep -v "198\.51\.100\.1[1-3]$" | grep . >/dev/null'

# ----------------------------------------------------------------------- Dummy + migrations
in_node node1 crm configure primitive d1 ocf:pacemaker:Dummy op monitor interval=10s \
  op migrate_to interval=0 timeout=60s op migrate_from interval=0 timeout=60s meta allow-migrate=true >/dev/null 2>&1 || true
check "Dummy d1 (allow-migrate=true) starts" q "$CLU" wait-started d1 "" 60
src=$(where d1); tgt=node1; [ "$src" = node1 ] && tgt=node3
t0=$(now_ms)
in_node node1 crm_resource --move -r d1 -N "$tgt" >/dev/null 2>&1 || true
if "$CLU" wait-started d1 "$tgt" 60 >/dev/null; then ok "crm_resource --move d1 $src -> $tgt: Started on $tgt only, nothing pending ($(secs_since "$t0")s)"; else bad "crm_resource --move d1 -> $tgt: $("$CLU" state d1)"; fi
lrm=$(in_node node1 cibadmin -Q --xpath "//lrm_resource[@id='d1']" 2>/dev/null || true)
check "CIB lrm history: migrate_to on $src with migrate_source=$src migrate_target=$tgt" \
  eval 'grep -E "operation=\"migrate_to\"" <<<"$lrm" | grep "on_node=\"$src\"" | grep "migrate_source=\"$src\"" | grep "migrate_target=\"$tgt\"" >/dev/null'
check "CIB lrm history: migrate_from on $tgt with migrate_source/migrate_target" \
  eval 'grep -E "operation=\"migrate_from\"" <<<"$lrm" | grep "on_node=\"$tgt\"" | grep "migrate_source=\"$src\"" | grep "migrate_target=\"$tgt\"" >/dev/null'
in_node node1 crm_resource --clear -r d1 >/dev/null 2>&1 || true
check "crm_resource --clear removed cli-prefer-d1" eval '! in_node node1 cibadmin -Q --xpath "//rsc_location[@id=\"cli-prefer-d1\"]" >/dev/null 2>&1'

src=$(where d1); tgt=node2; [ "$src" = node2 ] && { in_node node1 crm_resource --move -r d1 -N node1 >/dev/null 2>&1; "$CLU" wait-started d1 node1 60 >/dev/null; in_node node1 crm_resource --clear -r d1 >/dev/null 2>&1; src=node1; }
t0=$(now_ms)
in_node node1 crm resource move d1 node2 >/dev/null 2>&1 || true
if "$CLU" wait-started d1 node2 60 >/dev/null; then ok "crm resource move (crmsh) d1 $src -> node2 ($(secs_since "$t0")s incl. crmsh start-up)"; else bad "crm resource move d1 node2: $("$CLU" state d1)"; fi
in_node node1 crm resource clear d1 >/dev/null 2>&1 || true
check "crm resource clear removed the constraint" eval '! in_node node1 cibadmin -Q --xpath "//rsc_location[contains(@id,\"d1\")]" >/dev/null 2>&1'

# ----------------------------------------------------------------------------------- standby
t0=$(now_ms)
in_node node1 crm node standby node2 >/dev/null 2>&1 || true
if "$CLU" wait-started d1 '!node2' 60 >/dev/null; then ok "crm node standby node2 evacuates d1 to $(where d1) ($(secs_since "$t0")s)"; else bad "standby node2: $("$CLU" state d1)"; fi
check "node2 is standby and runs nothing" eval '[ "$(mon | xp "string(//nodes/node[@name=\"node2\"]/@standby)")" = true ] && [ "$(mon | xp "string(//nodes/node[@name=\"node2\"]/@resources_running)")" = 0 ]'
lrm=$(in_node node1 cibadmin -Q --xpath "//lrm_resource[@id='d1']" 2>/dev/null || true)
check "standby evacuation was a migration (migrate_from with migrate_source=node2)" eval 'grep "operation=\"migrate_from\"" <<<"$lrm" | grep "migrate_source=\"node2\"" >/dev/null'
in_node node1 crm node online node2 >/dev/null 2>&1 || true
check "crm node online node2" eval 'sleep 0.5; [ "$(mon | xp "string(//nodes/node[@name=\"node2\"]/@standby)")" = false ]'
"$CLU" wait-started d1 "" 30 >/dev/null || true

# ---------------------------------------------------------------------------------- node loss
victim=$(where d1)
hist0=$(in_node node1 stonith_admin --history "$victim" --output-as=xml 2>/dev/null | grep -c 'status="success"' || true)
t0=$(now_ms)
out=$("$CLU" poweroff "$victim" 2>&1) && ok "poweroff $victim: $out" || bad "poweroff $victim: $out"
ns_count() { local hp n; hp=$(cut -d' ' -f1 "$FERRY_LAB_DIR/$1/holder.pid"); n=$(readlink "/proc/$hp/ns/net"); find /proc/[0-9]*/ns/net -maxdepth 0 -printf '%l\n' 2>/dev/null | grep -cxF "$n"; }
check "$victim has no process left but its holder" [ "$(ns_count "$victim")" = 1 ]
if r=$("$CLU" wait-started d1 "!$victim" 90); then ok "failover: d1 Started elsewhere $(secs_since "$t0")s after losing $victim ($r)"; else bad "failover: $("$CLU" state d1)"; fi
T_FAIL=$(secs_since "$t0")
obs=node1; [ "$victim" = node1 ] && obs=node2
fenced() { [ "$(in_node "$obs" stonith_admin --history "$victim" --output-as=xml 2>/dev/null | grep -c 'status="success"')" -gt "$hist0" ]; }
check "stonith history: $victim fenced ($(in_node "$obs" stonith_admin --history "$victim" 2>/dev/null | head -n1))" eval 'for i in $(seq 100); do fenced && break; sleep 0.2; done; fenced'
t1=$(now_ms)
if r=$("$CLU" wait-online --timeout 90); then ok "fenced $victim back online $(secs_since "$t0")s after the loss ($(secs_since "$t1")s after failover): $r"; else bad "$victim did not rejoin: $r"; fi
remember_pids
check "no 'allegedly just fenced' on $victim" eval '! grep -q "allegedly just fenced" "$FERRY_LAB_DIR/$victim/cluster/log-pacemaker/pacemaker.log"'
check "$victim's libvirtd answers again after power-on" q in_node "$victim" virsh -q -c qemu:///system version
check "cluster idle after the rejoin ($("$CLU" wait-idle 60 2>&1))" q "$CLU" wait-idle 1
check "d1 still Started on exactly one node after the rejoin ($("$CLU" state d1))" q "$CLU" wait-started d1 "" 30

# ------------------------------------------------------------------------------------ teardown
check "fence device not failed" eval '! mon | grep "failure.*ferrylab-fence" >/dev/null'
out=$("$CLU" down 2>&1) && ok "cluster down: ${out##*$'\n'}" || bad "cluster down: $out"
check "cluster down again is idempotent" eval '"$CLU" down >/dev/null 2>&1'
check "no cluster mounts left in the hosts" eval '! grep -qE "$FERRY_LAB_DIR/node1/cluster/| ferrycl-" /proc/$(cut -d" " -f1 "$FERRY_LAB_DIR/node1/holder.pid")/mountinfo'
out=$("$LAB" down 2>&1); if grep -q '^down: clean' <<<"$out"; then ok "lab down: $(grep '^down:' <<<"$out")"; else bad "lab down: $out"; fi
# a recorded "PID STARTTIME" still alive (zombies, which pid 1 reaps a moment later, count as gone)
seen_alive() {
  local e pid st f
  for e in "${PIDS_SEEN[@]}"; do
    read -r pid st <<<"$e"
    f=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    read -r -a f <<<"${f##*) }"
    [ "${f[19]}" = "$st" ] && [ "${f[0]}" != Z ] && { echo "$pid"; return 0; }
  done
  return 1
}
check "no corosync/pacemakerd we started is alive (${#PIDS_SEEN[@]} pids checked)" eval '! seen_alive'
check "nothing installed: no /usr/sbin/fence_ferrylab, no state dir" eval '[ ! -e /usr/sbin/fence_ferrylab ] && [ ! -e "$FERRY_LAB_DIR" ]'
echo "timings: failover ${T_FAIL}s; whole selftest $(secs_since "$T_ALL")s"
