# lib.sh — helpers of the chaos campaign, sourced by run.sh (and by tests/agent/test_chaos.sh)

# the lab's pid files ("PID STARTTIME"): pidfile_pid FILE names the daemon only while it runs
. "$top_srcdir/tests/lab/pids.sh"

# chaos_fence_log_size FILE: its size in bytes now (0 if it does not exist yet)
chaos_fence_log_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# chaos_fence_log_fenced_since FILE BYTES: true if the fence agent logged a reboot or
# off of the node after the first BYTES of its fence log (fence_ferrylab writes one
# log per plug, which keeps the run's earlier fencings of that node)
chaos_fence_log_fenced_since() {
    tail -c +"$(( $2 + 1 ))" "$1" 2>/dev/null | grep -q 'action=\(reboot\|off\) '
}

# chaos_stop_jobs PID...: SIGTERM to those of the PIDs that are still running jobs of this
# shell (its background operations). A job that has ended has been reaped: its pid may
# belong to another process by now, never signalled (the end of a run once stopped the
# other lab's libvirtd and corosync so)
chaos_stop_jobs() {
    local p j
    for p in "$@"; do
        for j in $(jobs -pr); do [ "$j" = "$p" ] && { kill "$p" 2>/dev/null; break; }; done
    done
}

