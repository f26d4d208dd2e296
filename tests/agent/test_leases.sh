#!/bin/bash
# test_leases.sh — libvirt's lock manager under ferry: the remedy for the one window an agent
# cannot close (chaos campaign, seed 103). In a peer-to-peer migration the target's libvirtd
# resumes the guest in its Finish phase and only then answers the source; if that answer is lost
# (the target's libvirtd restarted at that instant), the source's libvirtd confirms the migration
# as failed and resumes its own paused copy: two run until something notices (0.5 s there). With
# a lease in the domain (<lease>: lockspace ferry, key = the name; lockd's virtlockd on every host
# locks one shared file per lease while the guest's CPUs run), the second resume cannot get the
# lock and fails: the copy stays paused and no second copy runs.
#
# The lab runs with FERRY_LAB_LOCKS=1 (lock_manager = "lockd", a virtlockd per host). Checked:
#  1. ferry's start, migrate_to (live and pause), migrate_from and stop work with a lease;
#  2. a second copy cannot start on the other host while the guest runs (virsh create fails);
#  3. the source's resume in that window, made deterministic: while the guest runs on node2, a
#     paused copy on node1 (started paused, as the source's copy is after the switch-over:
#     registered with virtlockd, no lock) is resumed as libvirt's Confirm would: it fails and the
#     copy stays paused; ferry's stop on node1 removes it; node2's guest never stops;
#  4. the control: the same guest without a lease: that resume succeeds and two copies run (so
#     check 3 can fail).
. "$(dirname "$0")/lablib.sh"

export FERRY_LAB_LOCKS=1
lab_setup 2
TIMEOUT_MS=120000
[ -n "${FERRY_LAB_LEASES:-}" ] || t_cannot_run "the lab came up without its lock manager (FERRY_LAB_LEASES unset)"

state_on() { on "$1" virsh -q domstate "$2" 2>/dev/null | head -n 1; }
two_running() { [ "$(state_on node1 "$1")" = running ] && [ "$(state_on node2 "$1")" = running ]; }

g=$(guest_xml g-lease --os bm --dirty 16 --rate 40 --lease "$FERRY_LAB_LEASES")
grep -q '<lease>' "$g" || t_fail "the guest's XML has no <lease>"
since=$(now_ms)
t_expect_rc "start g-lease (with a lease) on node1" 0 agent node1 start OCF_RESKEY_config="$g"
t_ok "g-lease runs" ticks_wait g-lease 25 60000 "$since"

# --- 1. the usual moves hold and hand over the lease -------------------------
for mode in live pause; do
    for dir in "node1 node2" "node2 node1"; do
        read -r src dst <<<"$dir"
        t_expect_rc "$mode: migrate_to $src -> $dst" 0 migrate_to "$src" "$dst" "$g" OCF_RESKEY_migrate="$mode"
        t_expect_rc "$mode: migrate_from on $dst" 0 migrate_from "$src" "$dst" "$g" OCF_RESKEY_migrate="$mode"
        t_expect_rc "$mode: stop on the source $src" 0 agent "$src" stop OCF_RESKEY_config="$g"
        t_expect_rc "$mode: monitor on $dst" 0 agent "$dst" monitor OCF_RESKEY_config="$g" OCF_RESKEY_CRM_meta_interval=10000
    done
done
rep=$(ticks_report g-lease "$since")
if grep -qx 'resets=0' <<<"$rep" && grep -qx 'bad=0' <<<"$rep"; then
    t_pass "four moves with a lease: no reboot, no bad page"
else
    t_fail "four moves with a lease: $(tr '\n' ' ' <<<"$rep")"
fi

# --- 2. no second copy ---------------------------------------------------------
t_expect_rc "g-lease runs on node1" 0 agent node1 monitor OCF_RESKEY_config="$g"
if out=$(on node2 virsh -q create "$g" 2>&1); then
    t_fail "a second copy started on node2 while node1 runs the guest"
    on node2 virsh -q destroy g-lease >/dev/null 2>&1 || true
else
    t_pass "a second copy cannot start on node2: $(tr '\n' ' ' <<<"$out" | cut -c1-160)"
fi

# --- 3. the source's resume after the target resumed (the Confirm window) ------
t_expect_rc "g-lease to node2" 0 migrate_to node1 node2 "$g"
t_expect_rc "migrate_from on node2" 0 migrate_from node1 node2 "$g"
t_expect_rc "stop on node1" 0 agent node1 stop OCF_RESKEY_config="$g"
t_ok "node1 has no copy" test -z "$(state_on node1 g-lease)"
t_ok "a paused copy on node1 (as the source's after the switch-over)" on node1 virsh -q create --paused "$g"
if out=$(on node1 virsh -q resume g-lease 2>&1); then
    t_fail "node1 resumed its copy while node2 runs the guest (two copies: $(state_on node1 g-lease) / $(state_on node2 g-lease))"
else
    t_pass "node1 cannot resume its copy: $(tr '\n' ' ' <<<"$out" | cut -c1-160)"
fi
if two_running g-lease; then t_fail "two copies run"; else t_pass "one copy runs (node1: $(state_on node1 g-lease), node2: $(state_on node2 g-lease))"; fi
t_expect_rc "ferry's stop on node1 removes the paused copy" 0 agent node1 stop OCF_RESKEY_config="$g"
t_ok "node1 has no copy left" test -z "$(state_on node1 g-lease)"
t_expect_rc "node2 still runs the guest" 0 agent node2 monitor OCF_RESKEY_config="$g"
since=$(now_ms)
t_ok "node2's guest keeps beating" ticks_wait g-lease 10 10000 "$since"
t_expect_rc "stop g-lease" 0 agent node2 stop OCF_RESKEY_config="$g"

# --- 4. control: without a lease nothing stops the second resume ---------------
n=$(guest_xml g-nolease --os bm)
t_expect_rc "start g-nolease (no lease) on node2" 0 agent node2 start OCF_RESKEY_config="$n"
t_ok "a paused copy of g-nolease on node1" on node1 virsh -q create --paused "$n"
if on node1 virsh -q resume g-nolease >/dev/null 2>&1 && two_running g-nolease; then
    t_pass "control: without a lease node1's resume succeeds and two copies run (what the lease prevents)"
else
    t_fail "control: without a lease node1's resume failed too ($(state_on node1 g-nolease) / $(state_on node2 g-nolease)): check 3 proves nothing"
fi
on node1 virsh -q destroy g-nolease >/dev/null 2>&1 || true
t_expect_rc "stop g-nolease" 0 agent node2 stop OCF_RESKEY_config="$n" OCF_RESKEY_force_stop=true
