#!/bin/bash
# test_migrate_kill.sh — migration_connection=shared: the agent drives a
# managed (not peer-to-peer) migration over its own connection to the target,
# so no libvirtd carries the job on for it. Is that as safe as peer-to-peer
# when Pacemaker SIGKILLs migrate_to (the whole process group) mid-migration?
# First one full move in shared mode (and its phase line at debug level).
# Then migrate_to SIGKILLed while the target is being prepared and while the
# memory is being copied (live and pause mode, the copy capped at 1 MiB/s so
# the kill lands mid-copy). Before any agent runs again: within 30 s exactly
# one copy runs, unpaused (on the source, or on the target if libvirt
# finished), and no migration job is left. Then the next actions as Pacemaker
# runs them: a probe on both nodes says where it runs (0 there, 7 on the
# other), stop there, probes 7 on both, start on the source. The guest's
# memory verifier never sees a bad page.
. "$(dirname "$0")/lablib.sh"

lab_setup 2
TIMEOUT_MS=120000
set -m    # each background job its own process group, as Pacemaker's children are

state_on() { on "$1" virsh -q domstate "$2" 2>/dev/null | head -n 1; }
job_on() { on "$1" virsh -q domjobinfo "$2" 2>/dev/null | sed -n 's/^Job type: *//p' | tr -d ' '; }
copied_on() { on "$1" virsh -q domjobinfo "$2" 2>/dev/null | awk '/^Data processed:/ { print ($3 > 0) ? "yes" : "no" }'; }
other() { [ "$1" = node1 ] && echo node2 || echo node1; }

# a fixed UUID, as a real configuration has: every start gives the same domain
g=$(guest_xml g-share --os bm --dirty 16 --rate 40 --uuid 5e1f0c2a-7d3b-4c59-9a41-0f6b2d8e3c71)
SHARED=OCF_RESKEY_migration_connection=shared
since0=$(now_ms)
t_expect_rc "start g-share on node1" 0 agent node1 start OCF_RESKEY_config="$g"
t_ok "g-share runs" ticks_wait g-share 25 60000 "$since0"

# --- one move in shared mode, with the phase breakdown ----------------------
t0=$(now_ms)
HA_DEBUG=1 t_expect_rc "shared: migrate_to node1 -> node2" 0 migrate_to node1 node2 "$g" "$SHARED"
t_log "     shared: migrate_to took $(( $(now_ms) - t0 )) ms (under load)"
phases=$(grep -o 'migrate_to phases: .*' <<<"$T_ERR" | tail -n 1)
t_log "     $phases"
case "$phases" in
*"migrate="[0-9]*"(prepare="*"copy="*"downtime="[0-9]*"finish="*"total="[0-9]*) t_pass "shared: the phase line has the migrate call's split" ;;
*) t_fail "shared: no phase line with libvirt's figures in the debug log: '${phases:-none}'" ;;
esac
t_expect_rc "shared: migrate_from on node2" 0 migrate_from node1 node2 "$g" "$SHARED"
t_expect_rc "shared: stop on the source node1" 0 agent node1 stop OCF_RESKEY_config="$g" OCF_RESKEY_force_stop=true
s1=$(state_on node1 g-share) s2=$(state_on node2 g-share)
if [ "$s2" = running ] && { [ -z "$s1" ] || [ "$s1" = "shut off" ]; }; then
    t_pass "shared: the guest runs on node2 only"
else
    t_fail "shared: node1 '${s1:-absent}', node2 '${s2:-absent}'"
fi
host=node2

# killed WHEN MODE: migrate_to $host -> the other SIGKILLed (its process group)
# at WHEN: "prepare" (0.3 s in: ssh, pre-flight or the target's QEMU starting)
# or "copy" (2 s after libvirt first reports data copied).
killed() {
    local when=$1 mode=$2 src=$host dst pg desc i s d j where="" t_end
    dst=$(other "$src")
    desc="shared, $mode, killed during $when ($src -> $dst)"
    # the guest runs and dirties its memory (a restarted guest needs a while under load)
    ticks_wait g-share 25 60000 "$(now_ms)" || t_fail "$desc: no heartbeat from the guest before the move"
    migrate_to "$src" "$dst" "$g" "$SHARED" OCF_RESKEY_migrate="$mode" \
        OCF_RESKEY_migration_speed=1 OCF_RESKEY_migration_stall_timeout=60 >/dev/null 2>&1 &
    pg=$!
    if [ "$when" = prepare ]; then
        sleep 0.3
    else
        for ((i = 0; i < 300; i++)); do
            [ "$(copied_on "$src" g-share)" = yes ] && break
            kill -0 "$pg" 2>/dev/null || break
            sleep 0.1
        done
        if [ "$(copied_on "$src" g-share)" = yes ]; then
            sleep 2
        else
            t_fail "$desc: libvirt never reported data copied (migrate_to gone: $(kill -0 "$pg" 2>/dev/null && echo no || echo yes))"
        fi
    fi
    j=$(job_on "$src" g-share)
    if ! kill -0 "$pg" 2>/dev/null; then
        t_fail "$desc: migrate_to ended before the kill (the copy was too fast)"
    elif [ "$when" = copy ] && [ "$j" != Unbounded ]; then
        t_fail "$desc: no migration job running on $src at the kill ('${j:-none}'): not mid-copy"
    else
        t_log "     $desc: SIGKILL with the job '${j:-none}' on $src"
    fi
    kill -KILL -- "-$pg" 2>/dev/null
    wait "$pg" 2>/dev/null
    # libvirt alone, before any agent runs: the job ends, one copy runs unpaused
    t_end=$(( $(now_ms) + 30000 ))
    while :; do
        j=$(job_on "$src" g-share) s=$(state_on "$src" g-share) d=$(state_on "$dst" g-share)
        if [ "$j" = None ] || [ -z "$j" ]; then
            if [ "$s" = running ] && { [ -z "$d" ] || [ "$d" = "shut off" ]; }; then where=$src; break; fi
            if [ "$d" = running ] && { [ -z "$s" ] || [ "$s" = "shut off" ]; }; then where=$dst; break; fi
        fi
        [ "$(now_ms)" -lt "$t_end" ] || break
        sleep 0.2
    done
    if [ -n "$where" ]; then
        t_pass "$desc: libvirt alone settled it: one copy, running unpaused, on $where$([ "$where" = "$dst" ] && echo ' (libvirt finished the move)'), no job left"
    else
        t_fail "$desc: 30 s after the kill: job on $src '${j:-?}', $src '${s:-absent}', $dst '${d:-absent}'"
        where=$src
    fi
    # the next actions, as Pacemaker runs them after a lost migrate_to
    t_expect_rc "$desc: probe on $where (runs there)" 0 agent "$where" monitor OCF_RESKEY_config="$g"
    t_expect_rc "$desc: probe on $(other "$where") (not there)" 7 agent "$(other "$where")" monitor OCF_RESKEY_config="$g"
    t_expect_rc "$desc: monitor on $where" 0 agent "$where" monitor OCF_RESKEY_config="$g" OCF_RESKEY_CRM_meta_interval=10000
    t_expect_rc "$desc: stop on $where" 0 agent "$where" stop OCF_RESKEY_config="$g" OCF_RESKEY_force_stop=true
    t_expect_rc "$desc: probe on $src after the stop" 7 agent "$src" monitor OCF_RESKEY_config="$g"
    t_expect_rc "$desc: probe on $dst after the stop" 7 agent "$dst" monitor OCF_RESKEY_config="$g"
    t_expect_rc "$desc: start on $src" 0 agent "$src" start OCF_RESKEY_config="$g"
    s=$(state_on "$src" g-share) d=$(state_on "$dst" g-share)
    if [ "$s" = running ] && { [ -z "$d" ] || [ "$d" = "shut off" ]; }; then
        t_pass "$desc: after the recovery one copy runs, on $src"
    else
        t_fail "$desc: after the recovery $src '${s:-absent}', $dst '${d:-absent}'"
    fi
}

killed copy live
killed copy pause
killed prepare live

rep=$(ticks_report g-share "$since0")
t_log "     heartbeat: $(tr '\n' ' ' <<<"$rep")"
if grep -qx 'bad=0' <<<"$rep"; then t_pass "the guest's memory verifier saw no bad page"; else t_fail "bad pages: $rep"; fi
t_expect_rc "stop g-share" 0 agent "$host" stop OCF_RESKEY_config="$g" OCF_RESKEY_force_stop=true
exit 0
