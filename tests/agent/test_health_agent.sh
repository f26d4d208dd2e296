#!/bin/bash
# test_health_agent.sh — ocf:ferry:health-cpu's contract without a cluster:
# meta-data (ra-api-1.dtd, OCF 1.1's schema), usage, unknown actions, bad
# parameters; then start/monitor/stop against a fabricated cgroup directory
# (cpu.stat and cpu.max files the test writes) with a stand-in attrd_updater
# that logs its arguments: green on start, the first monitor only records,
# a loaded reading turns it red (red_after_s=0), a loaded node stays red
# without another attrd_updater call, an idle reading makes it yellow
# (cooling down) and green only after green_after_s; stop deletes the
# attribute and the state file; a probe tells started from stopped.
. "$(dirname "$0")/testlib.sh"

HEALTH=${FERRY_HEALTH_AGENT:-$top_builddir/agents/health-cpu}
[ -x "$HEALTH" ] || t_cannot_run "agent binary $HEALTH is missing (run make first)"
command -v xmllint >/dev/null || t_cannot_run "xmllint is missing (apt-get install libxml2-utils)"
[ -r "$RA_API_DTD_DIR/ra-api-1.dtd" ] || t_cannot_run "$RA_API_DTD_DIR/ra-api-1.dtd is missing (apt-get install resource-agents)"
OCF_1_1_RNG=/usr/share/pcs/data/ocf-1.1.rng
[ -r "$OCF_1_1_RNG" ] || t_cannot_run "$OCF_1_1_RNG is missing (apt-get install pcs)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/cg" "$tmp/state"
# the stand-in attrd_updater: logs its arguments, fails when told to
cat >"$tmp/bin/attrd_updater" <<EOF
#!/bin/sh
echo "\$*" >>"$tmp/attrd.log"
[ ! -e "$tmp/attrd.fail" ] || { echo "could not connect to attrd" >&2; exit 102; }
EOF
chmod +x "$tmp/bin/attrd_updater"
export PATH="$tmp/bin:$PATH"
export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=p_health HA_RSCTMP=$tmp/state HA_LOGFACILITY=none
STATE=$tmp/state/ferry-health-cpu-p_health.state

t_expect_rc "meta-data" 0 "$HEALTH" meta-data
printf '%s\n' "$T_OUT" >"$tmp/md.xml"
t_ok "meta-data is valid against ra-api-1.dtd" \
    sh -c "cd '$RA_API_DTD_DIR' && xmllint --noout --valid - < '$tmp/md.xml'"
t_expect_rc "meta-data for an OCF 1.1 caller" 0 env OCF_RA_VERSION_MAJOR=1 OCF_RA_VERSION_MINOR=1 "$HEALTH" meta-data
printf '%s\n' "$T_OUT" >"$tmp/md11.xml"
t_ok "OCF 1.1 meta-data is valid against pcs's ocf-1.1.rng" xmllint --noout --relaxng "$OCF_1_1_RNG" "$tmp/md11.xml"
t_ok "OCF 1.1 meta-data advertises reload-agent, 1.0 does not" \
    sh -c "grep -q '<action name=\"reload-agent\"' '$tmp/md11.xml' && ! grep -q reload-agent '$tmp/md.xml'"
t_ok "meta-data states the defaults (80 % for 120 s, 60 % for 120 s, #health-ferry-cpu)" \
    sh -c "grep -A8 'name=\"red_percent\"' '$tmp/md.xml' | grep -q 'default=\"80\"' &&
           grep -A8 'name=\"red_after_s\"' '$tmp/md.xml' | grep -q 'default=\"120\"' &&
           grep -A8 'name=\"green_percent\"' '$tmp/md.xml' | grep -q 'default=\"60\"' &&
           grep -A8 'name=\"green_after_s\"' '$tmp/md.xml' | grep -q 'default=\"120\"' &&
           grep -q 'default=\"#health-ferry-cpu\"' '$tmp/md.xml'"
t_expect_rc "usage" 0 "$HEALTH" usage
t_expect_rc "no action" 2 "$HEALTH"
t_expect_rc "unknown action" 3 "$HEALTH" migrate_to
t_expect_rc "bad red_percent: not configured" 6 env OCF_RESKEY_red_percent=120 "$HEALTH" start
t_reason_has "red_percent"
t_expect_rc "green_percent above red_percent: not configured" 6 \
    env OCF_RESKEY_red_percent=50 OCF_RESKEY_green_percent=70 "$HEALTH" validate-all
t_reason_has "green_percent"
t_expect_rc "a cgroup that is not there: not installed" 5 env OCF_RESKEY_cgroup=/nonexistent/cg "$HEALTH" start
t_reason_has "/nonexistent/cg/cpu.stat"
t_expect_rc "validate-all, the whole host" 0 "$HEALTH" validate-all
t_ok "nothing called attrd_updater so far" test ! -e "$tmp/attrd.log"

# a fabricated cgroup: 0.1 CPU
usage=1000000
cg() { printf 'usage_usec %s\nuser_usec 0\nsystem_usec 0\n' "$usage" >"$tmp/cg/cpu.stat"; }
printf '10000 100000\n' >"$tmp/cg/cpu.max"
cg
export OCF_RESKEY_cgroup=$tmp/cg OCF_RESKEY_red_percent=50 OCF_RESKEY_green_percent=25 \
    OCF_RESKEY_red_after_s=0 OCF_RESKEY_green_after_s=0 OCF_RESKEY_attribute='#health-test'
mon() { env OCF_RESKEY_CRM_meta_interval=10000 "$HEALTH" monitor; }
attrd_last() { tail -n 1 "$tmp/attrd.log" 2>/dev/null; }
attrd_calls() { wc -l <"$tmp/attrd.log" 2>/dev/null || echo 0; }

t_expect_rc "monitor before start: not running" 7 mon
t_expect_rc "probe before start: not running" 7 "$HEALTH" monitor
t_expect_rc "start" 0 "$HEALTH" start
t_ok "start set the attribute green" test "$(attrd_last)" = "-n #health-test -U green"
t_ok "the state file is there" test -s "$STATE"
t_expect_rc "start again (started already)" 0 "$HEALTH" start
t_expect_rc "probe while started" 0 "$HEALTH" monitor
t_expect_rc "first monitor (only records)" 0 mon
t_ok "the state file has a reading of the cgroup" grep -qx "source=$tmp/cg" "$STATE"
calls=$(attrd_calls)
sleep 0.2
usage=$((usage + 5000000)); cg
t_expect_rc "monitor, loaded: still success" 0 mon
t_ok "loaded with red_after_s=0: attribute red" test "$(attrd_last)" = "-n #health-test -U red"
t_ok "the change is logged with the load and the thresholds" \
    sh -c "printf '%s' \"\$1\" | grep -q 'green -> red: $tmp/cg busy 100.0 % .*red at >= 50 % for 0 s, green below 25 % for 0 s'" _ "$T_ERR"
calls=$(attrd_calls)
sleep 0.2
usage=$((usage + 5000000)); cg
t_expect_rc "monitor, still loaded" 0 mon
t_ok "still red: attrd_updater not called again" test "$(attrd_calls)" = "$calls"
# idle, but a cool-down of 60 s: yellow, and it stays yellow
sleep 0.2
t_expect_rc "monitor, idle, green_after_s=60" 0 env OCF_RESKEY_green_after_s=60 OCF_RESKEY_CRM_meta_interval=10000 "$HEALTH" monitor
t_ok "red -> yellow (cooling down)" test "$(attrd_last)" = "-n #health-test -U yellow"
calls=$(attrd_calls)
sleep 0.2
t_expect_rc "monitor, idle, green_after_s=60" 0 env OCF_RESKEY_green_after_s=60 OCF_RESKEY_CRM_meta_interval=10000 "$HEALTH" monitor
t_ok "still yellow within green_after_s (no attrd_updater call)" \
    sh -c "grep -qx 'health=yellow' '$STATE' && test \"\$(wc -l <'$tmp/attrd.log')\" = $calls"
# attrd fails: monitor still succeeds, the change waits for the next monitor
touch "$tmp/attrd.fail"
sleep 0.2
t_expect_rc "monitor, idle, green_after_s=0, attrd_updater failing: success" 0 mon
t_ok "the failure is logged" sh -c "printf '%s' \"\$1\" | grep -q 'could not connect to attrd'" _ "$T_ERR"
t_ok "the state stays yellow" grep -qx 'health=yellow' "$STATE"
rm -f "$tmp/attrd.fail"
sleep 0.2
t_expect_rc "monitor, idle, green_after_s=0" 0 mon
t_ok "yellow -> green" test "$(attrd_last)" = "-n #health-test -U green"
t_ok "the state is green" grep -qx 'health=green' "$STATE"
# a cgroup made anew (its counter went back): that reading only records
usage=0; cg
sleep 0.2
t_expect_rc "monitor after the counter went back" 0 mon
t_ok "state still green" grep -qx 'health=green' "$STATE"
t_expect_rc "reload-agent with new thresholds" 0 env OCF_RESKEY_red_percent=90 "$HEALTH" reload-agent
t_expect_rc "stop" 0 "$HEALTH" stop
t_ok "stop deleted the attribute" test "$(attrd_last)" = "-n #health-test -D"
t_ok "stop removed the state file" test ! -e "$STATE"
t_expect_rc "monitor after stop: not running" 7 mon
t_expect_rc "stop again" 0 "$HEALTH" stop
t_expect_rc "stop with bad parameters still stops" 0 env OCF_RESKEY_red_percent=0 "$HEALTH" stop
t_ok "no temporary file left in the state directory" test -z "$(ls -A "$tmp/state")"
t_done
