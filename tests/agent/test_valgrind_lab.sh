#!/bin/bash
# test_valgrind_lab.sh — the agent's actions on real guests, in two lab hosts,
# under valgrind's memcheck: start, monitor, probe, migrate_to/migrate_from,
# stop on the source, a migration the abort policy gives up on (the watcher
# acts), a migration to a host whose libvirtd is down, stop. Any memcheck
# error or definite leak fails the step (tests/valgrind/ferry.supp as in
# test_valgrind.sh). One of the lab tests of `make check` (about a minute);
# alone, as root: FERRY_LAB_PREFIX=/var/tmp/ferry-lab-me tests/agent/test_valgrind_lab.sh
. "$(dirname "$0")/lablib.sh"

command -v valgrind >/dev/null || t_cannot_run "valgrind is missing (apt-get install valgrind; bootstrap.sh installs it)"
REAL_AGENT=$AGENT
[ -x "$REAL_AGENT" ] || t_cannot_run "agent binary $REAL_AGENT is missing (run make first)"
# the wrapper and memcheck's logs where lab hosts see them (not /tmp)
VG=$(mktemp -d /var/tmp/ferry-vglab.XXXXXX) || t_cannot_run "mktemp in /var/tmp failed"
chmod 755 "$VG"
cat >"$VG/agent" <<EOF
#!/bin/sh
exec valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
    --show-leak-kinds=definite --track-origins=yes --suppressions="$top_srcdir/tests/valgrind/ferry.supp" \\
    --log-file="$VG/vg.%p.log" "$REAL_AGENT" "\$@"
EOF
chmod 755 "$VG/agent"
AGENT=$VG/agent

lab_setup 2
trap 'rm -rf "$VG"; lab_exit' EXIT
TIMEOUT_MS=120000

# vg_clean STEP: the agent runs since the last call left no memcheck report.
vg_clean() {
    local f bad= n=0
    for f in "$VG"/vg.*.log; do
        [ -e "$f" ] || continue
        n=$((n + 1))
        if grep -q '^==[0-9]*== [A-Z]' "$f"; then
            bad=$f
            grep -v '^==[0-9]*== *$' "$f" | head -n 40 | sed 's/^/     /'
        fi
        rm -f "$f"
    done
    if [ "$n" = 0 ]; then t_fail "$1: no memcheck log: the agent did not run under valgrind"; return; fi
    if [ -n "$bad" ]; then t_fail "$1: memcheck found errors"; else t_pass "$1: clean under memcheck"; fi
}

vm=$(guest_xml vm1 --os bm --mem 96 --dirty 48)
since=$(now_ms)
t_expect_rc "probe of a stopped domain" 7 agent node1 monitor OCF_RESKEY_config="$vm"
vg_clean probe-stopped
t_expect_rc "start on node1" 0 agent node1 start OCF_RESKEY_config="$vm"
vg_clean start
ticks_wait vm1 25 30000 "$since" || true
t_expect_rc "monitor on node1" 0 agent node1 monitor OCF_RESKEY_config="$vm" OCF_RESKEY_CRM_meta_interval=10000
vg_clean monitor

# the abort policy gives up on a guest that never converges at 10 MiB/s
t_expect_rc "policy abort: migrate_to fails" 1 migrate_to node1 node2 "$vm" OCF_RESKEY_migration_speed=10 \
    OCF_RESKEY_migration_stall_timeout=4 OCF_RESKEY_migration_timeout_per_gib=8 OCF_RESKEY_migration_policy=abort
vg_clean migrate_to-aborted
t_expect_rc "still running on node1" 0 agent node1 monitor OCF_RESKEY_config="$vm" OCF_RESKEY_CRM_meta_interval=10000
vg_clean monitor-after-abort

# the target's libvirtd is down: migrate_to fails early
"$LAB" daemon node2 libvirtd stop >/dev/null
t_expect_rc "target libvirtd down: migrate_to fails" 1 migrate_to node1 node2 "$vm"
vg_clean migrate_to-target-down
"$LAB" daemon node2 libvirtd start >/dev/null

# a migration that works (pause mode converges whatever the guest dirties)
t_expect_rc "migrate_to node1 -> node2" 0 migrate_to node1 node2 "$vm" OCF_RESKEY_migrate=pause
vg_clean migrate_to
t_expect_rc "migrate_from on node2" 0 migrate_from node1 node2 "$vm" OCF_RESKEY_migrate=pause
vg_clean migrate_from
t_expect_rc "stop on the source node1" 0 agent node1 stop OCF_RESKEY_config="$vm"
vg_clean stop-source
t_expect_rc "monitor on node2" 0 agent node2 monitor OCF_RESKEY_config="$vm" OCF_RESKEY_CRM_meta_interval=10000
vg_clean monitor-target
t_expect_rc "stop on node2" 0 agent node2 stop OCF_RESKEY_config="$vm" OCF_RESKEY_force_stop=true
vg_clean stop
t_expect_rc "probe after stop" 7 agent node2 monitor OCF_RESKEY_config="$vm"
vg_clean probe-after-stop
