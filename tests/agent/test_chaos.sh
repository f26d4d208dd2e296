#!/bin/bash
# test_chaos.sh — a short seeded smoke of the chaos campaign (tests/chaos/run.sh)
# so that it keeps working: first the checker on made-up samples (it must see
# two running copies that persist, and must not count a read across a live
# switch-over), then one run of the campaign against the 3-node Pacemaker lab
# with ferry: seed 7, 3 VMs, three fault kinds in turn (QEMU killed, the
# agent killed during a migration, libvirtd SIGKILLed). Fails on any
# violation, on a sampling rate under 4/s, or if the lab is not left clean.
# About 4 minutes on an idle machine.
. "$(dirname "$0")/testlib.sh"
CHAOS=$top_srcdir/tests/chaos
tmp=$(mktemp -d /var/tmp/ferry-test-chaos.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# --- the checker on made-up samples ---------------------------------------------
# sample SECONDS STATE1 STATE2: guest g on node1 and node2 ("-": absent)
sample() {
    local v1="{}" v2="{}" q1="{}" q2="{}"
    [ "$2" = - ] || { v1="{\"g\":\"$2\"}"; q1='{"g":11}'; }
    [ "$3" = - ] || { v2="{\"g\":\"$3\"}"; q2='{"g":22}'; }
    printf '{"t":%d,"d":5,"v":{"node1":%s,"node2":%s},"q":{"node1":%s,"node2":%s},"m":[]}\n' \
        $(( 1000000 + $1 * 250 )) "$v1" "$v2" "$q1" "$q2"
}
checker_case() { # DESC WANT(0|1) SAMPLES...
    local desc=$1 want=$2 d n
    shift 2
    d=$tmp/$RANDOM
    mkdir -p "$d"
    : >"$d/violations.tsv"
    printf '%s\n' "$@" >"$d/samples.jsonl"
    python3 "$CHAOS/checker.py" "$d" "" 0 >/dev/null 2>&1
    n=$(grep -c $'\t1\t' "$d/violations.tsv")
    if [ "$n" = "$want" ]; then t_pass "checker: $desc ($n violation(s) of invariant 1)"; else t_fail "checker: $desc: $n violation(s) of invariant 1, expected $want"; fi
}
checker_case "a live switch-over read between the two hosts is no second copy" 0 \
    "$(sample 0 running paused)" "$(sample 1 running running)" "$(sample 2 - running)" "$(sample 3 - running)"
checker_case "two running copies in two consecutive samples are" 1 \
    "$(sample 0 running -)" "$(sample 1 running running)" "$(sample 2 running running)" "$(sample 3 running -)"

# --- the cluster-link cut waits for a fencing of its own ----------------------
# The node's fence log keeps earlier fencings of the run: an earlier "reboot"
# line must not end the cut at once (before this, a node fenced once had its
# later cuts healed after 3 s, too short to be fenced).
. "$CHAOS/lib.sh" 2>/dev/null || t_fail "tests/chaos/lib.sh cannot be sourced"
flog=$tmp/fence.log
printf '%s\n' "2026-12-01 04:50:32.35 node2 fence_ferrylab[1] action=reboot plug=node1" \
    "node1: powered off in 2.27s" "2026-12-01 04:50:34.85 node2 fence_ferrylab[1] off: rc=0" \
    "2026-12-01 04:51:00.00 node1 fence_ferrylab[2] action=monitor plug=" >"$flog"
since=$(chaos_fence_log_size "$flog")
if chaos_fence_log_fenced_since "$flog" "$since"; then t_fail "an earlier fencing in the fence log counts as this cut's"
else t_pass "an earlier fencing in the fence log is not this cut's"; fi
echo "2026-12-01 05:20:30.00 node3 fence_ferrylab[3] action=monitor plug=" >>"$flog"
chaos_fence_log_fenced_since "$flog" "$since" && t_fail "a monitor counts as a fencing" || t_pass "a monitor is no fencing"
echo "2026-12-01 05:20:40.00 node3 fence_ferrylab[4] action=reboot plug=node1" >>"$flog"
chaos_fence_log_fenced_since "$flog" "$since" && t_pass "a fencing after the cut is seen" || t_fail "a fencing after the cut is not seen"
chaos_fence_log_fenced_since "$tmp/none" 0 && t_fail "a missing fence log counts as fenced" || t_pass "a missing fence log is no fencing"

# --- a pid the run recorded is signalled only while it is still that process ---
# At its end a run stopped its background operations by the pids it had recorded, long
# after most had exited: a recycled pid got SIGTERM (in the campaign, the other lab's
# libvirtd and corosync). Only a job of the run's shell that still runs may be signalled,
# and a daemon's pid file counts only if the process has the start time it recorded.
sleep 0.1 & ended=$!
wait "$ended"
# another process (not a job of this shell: its parent, a subshell, is gone)
bystander=$( (setsid sleep 30 </dev/null >/dev/null 2>&1 & echo $!) )
chaos_stop_jobs "$ended" "$bystander"
sleep 0.2
case $(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$bystander/stat" 2>/dev/null) in
S|R|D) t_pass "a recorded pid that is not a running job of the run is left alone" ;;
*) t_fail "a recorded pid that is not a running job of the run was signalled" ;;
esac
kill "$bystander" 2>/dev/null
sleep 30 & job=$!
chaos_stop_jobs "$job"
wait "$job" 2>/dev/null; rc=$?
[ "$rc" -gt 128 ] && t_pass "a running job of the run is stopped (status $rc)" || t_fail "a running job of the run was not stopped (status $rc)"
sleep 30 & live=$!
echo "$live 1" >"$tmp/stale.pid"
[ -z "$(pidfile_pid "$tmp/stale.pid")" ] && t_pass "a pid file whose start time is not the process's names no daemon" ||
    t_fail "a pid file whose start time is not the process's still names pid $live"
echo "$live $(awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[20] }' "/proc/$live/stat")" >"$tmp/live.pid"
[ "$(pidfile_pid "$tmp/live.pid")" = "$live" ] && t_pass "a pid file of the live process names it" ||
    t_fail "a pid file of the live process does not name it"
kill "$live" 2>/dev/null; wait "$live" 2>/dev/null

# --- one seeded run --------------------------------------------------------------
out=$tmp/run
"$CHAOS/run.sh" --agent ferry --seed 7 --duration 70s --vms 3 --cycle \
    --faults qemu-kill,agent-kill,libvirtd-kill --settle 180 --out "$out" >"$tmp/log" 2>&1
rc=$?
sed 's/^/     /' "$tmp/log"
[ "$rc" = 99 ] && t_cannot_run "$(grep 'CANNOT RUN' "$tmp/log" | head -n 1)"
last=$(grep '^chaos: agent=' "$tmp/log" | tail -n 1)
case "$last" in
*" violations=0") t_pass "run: $last" ;;
*) t_fail "run (rc $rc): ${last:-no summary line}" ;;
esac
[ "$rc" = 0 ] && t_pass "run.sh exits 0" || t_fail "run.sh exits $rc"
head -n 1 "$tmp/log" | grep -q '^chaos: seed=7 ' && t_pass "the seed is printed first" || t_fail "the first line is not the seed"
nf=$(cut -f4 "$out/faults.tsv" | sort -u | wc -l)
[ "$nf" -ge 2 ] && t_pass "$nf fault kinds injected ($(cut -f4 "$out/faults.tsv" | sort | uniq -c | tr -s ' \n' ' '))" ||
    t_fail "only $nf fault kind(s) injected"
# a fault that found nothing to hit (no agent process, no QEMU) is no injection: faults.tsv says which
hits=$(awk -F'\t' '$13 == "1" { n++ } END { print n + 0 }' "$out/faults.tsv")
awk -F'\t' '$4 == "qemu-kill" && $13 != "1" { bad = 1 } $4 == "qemu-kill" { q = 1 } END { exit bad || !q }' "$out/faults.tsv" &&
    t_pass "every QEMU kill found its QEMU; $hits of $(wc -l <"$out/faults.tsv") faults hit" ||
    t_fail "a QEMU kill found no QEMU (or none was injected): $(cut -f4,13 "$out/faults.tsv" | tr '\t\n' ': ')"
rate=$(sed -n 's/^rate_per_s=//p' "$out/checker.txt")
awk -v r="${rate:-0}" 'BEGIN { exit !(r >= 4) }' && t_pass "the checker sampled every node $rate times a second" ||
    t_fail "sampling rate ${rate:-?}/s, under 4/s"
grep -q 'lab: .*up' "$tmp/log" && ! grep -q 'not left clean' "$tmp/log" && t_pass "the lab was torn down clean" ||
    t_fail "the lab was not torn down clean"
t_done
