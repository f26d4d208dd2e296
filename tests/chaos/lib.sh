# lib.sh — helpers of the chaos campaign, sourced by run.sh (and by tests/agent/test_chaos.sh)

# chaos_fence_log_size FILE: its size in bytes now (0 if it does not exist yet)
chaos_fence_log_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# chaos_fence_log_fenced_since FILE BYTES: true if the fence agent logged a reboot or
# off of the node after the first BYTES of its fence log (fence_ferrylab writes one
# log per plug, which keeps the run's earlier fencings of that node)
chaos_fence_log_fenced_since() {
    tail -c +"$(( $2 + 1 ))" "$1" 2>/dev/null | grep -q 'action=\(reboot\|off\) '
}
