#!/bin/bash
# clusterlib.sh — for the tests in which Pacemaker drives the agent: a lab of N
# hosts that are also a corosync + pacemaker cluster (tests/lab/cluster.sh,
# fencing on), ocf:ferry:vm installed inside the hosts only, and a watcher that
# samples every node's libvirt throughout and records any guest running on two
# nodes at once, or left paused. Source it after lablib.sh, then:
#   cluster_setup N     lab + cluster up, watcher started (t_cannot_run if impossible)
#   watcher_verdict     stops the watcher; one t_pass or t_fail
# and the helpers below (state, wait_started, node_of, op_on, elapsed, migrated,
# heartbeat_continued, fenced_total...).

CLUSTER=$top_srcdir/tests/lab/cluster.sh
WATCHER=

crm_do() { "$CLUSTER" crm node1 "$@"; }
state() { "$CLUSTER" state "$1" 2>/dev/null; }
wait_started() { "$CLUSTER" wait-started "$@"; }
node_of() { state "$1" | cut -d' ' -f2; }
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.2f", b - a }'; }
# op_on RSC NODE OPERATION: the CIB records OPERATION of RSC on NODE with rc 0
op_on() {
    on node1 cibadmin -Q --xpath "//node_state[@uname='$2']//lrm_resource[@id='$1']/lrm_rsc_op[@operation='$3' and @rc-code='0']" >/dev/null 2>&1
}

# vm_primitive NAME CONFIG [PARAM=value...]: the crm configuration of one VM, as
# an operator writes it (5 s monitors, a 30 s stop for guests that ignore ACPI)
vm_primitive() {
    local name=$1 config=$2
    shift 2
    cat <<CRM
primitive $name ocf:ferry:vm \\
    params config="$config" name=$name $* \\
    op start timeout=90s interval=0 \\
    op stop timeout=30s interval=0 \\
    op monitor interval=5s timeout=30s \\
    op migrate_to timeout=120s interval=0 \\
    op migrate_from timeout=60s interval=0 \\
    meta allow-migrate=true
CRM
}

# heartbeat_continued RSC SINCE_MS: the guest's heartbeat went on across a move
# (no reset, no bad page, at least one switch-over seen)
heartbeat_continued() {
    local r=$1 since=$2 rep
    ticks_wait "$r" 25 10000 "$(now_ms)" || true
    rep=$(ticks_report "$r" "$since")
    if grep -qx 'resets=0' <<<"$rep" && grep -qx 'bad=0' <<<"$rep" && grep -q '^switch_1=' <<<"$rep"; then
        t_pass "$r: its heartbeat continued across the move (max gap $(sed -n 's/^max_gap_ms=//p' <<<"$rep") ms)"
    else
        t_fail "$r: heartbeat: $(tr '\n' ' ' <<<"$rep")"
    fi
}

# migrated RSC SRC DST MODE SINCE_MS: Pacemaker's migration happened, in the
# VM's own mode (the CIB as node1 sees it; node1 must be in the cluster)
migrated() {
    local r=$1 src=$2 dst=$3 mode=$4 since=$5
    t_ok "$r: the CIB has migrate_from on $dst" op_on "$r" "$dst" migrate_from
    t_ok "$r: the CIB has stop on $src" op_on "$r" "$src" stop
    t_ok "$r: the agent on $src migrated it with migrate=$mode" \
        sh -c "'$LAB' exec $src cat /run/resource-agents/ferry-migrations.log | grep 'domain=$r from=$src to=$dst mode=$mode' | grep -q 'outcome=completed'"
    heartbeat_continued "$r" "$since"
}

# fenced_total: fencing operations in the history; a node that was itself
# fenced may not have the whole history yet, so the largest count any node reports
fenced_total() {
    local h n max=0
    for h in $FERRY_LAB_HOSTS; do
        n=$(on "$h" stonith_admin --history '*' 2>/dev/null | grep -c 'reboot\|off' || true)
        [ "${n:-0}" -gt "$max" ] && max=$n
    done
    echo "$max"
}

cluster_setup() {
    local out h
    command -v crm >/dev/null || t_cannot_run "crmsh is missing (./bootstrap.sh --deps installs it)"
    command -v pacemakerd >/dev/null || [ -x /usr/sbin/pacemakerd ] || t_cannot_run "pacemaker is missing"
    lab_setup "$1"
    # ocf:ferry:vm inside the hosts only: a copy of the OCF agent tree with ours
    # added, bind-mounted over /usr/lib/ocf/resource.d in each host's mount namespace
    ocf=$FERRY_LAB_DIR/ocf-resource.d
    cp -a /usr/lib/ocf/resource.d "$ocf"
    mkdir -p "$ocf/ferry"
    ln -s "$AGENT" "$ocf/ferry/vm"
    for h in $FERRY_LAB_HOSTS; do on "$h" mount --bind "$ocf" /usr/lib/ocf/resource.d; done
    trap 'cluster_down; lab_exit' EXIT
    out=$("$CLUSTER" up 2>&1) || t_cannot_run "cluster up failed: $(tail -n 5 <<<"$out")"
    t_pass "$(grep "^cluster up:" <<<"$out" | head -n 1)"
    WATCH=$FERRY_LAB_DIR/watch
    touch "$WATCH.on"
    watcher &
    WATCHER=$!
}

cluster_down() {
    stop_watcher
    "$CLUSTER" down >/dev/null 2>&1 || true
}

# --- the watcher: never two running copies, never left paused ---------------
watcher() {
    local -A paused_since=() twice=()
    local h name st n t
    while [ -e "$WATCH.on" ]; do
        t=$(date +%s)
        local -A running=() paused=()
        for h in $FERRY_LAB_HOSTS; do
            while read -r _ name st _; do
                [ -n "$name" ] || continue
                case $st in
                    running) running[$name]="${running[$name]:-}$h " ;;
                    paused) paused[$name]="${paused[$name]:-}$h " ;;
                esac
            done < <(timeout 5 "$LAB" exec "$h" virsh -q list 2>/dev/null)
        done
        # The hosts are read one after the other, so a live switch-over between
        # two reads can show a guest "running" on both (source read before,
        # target after). A real second copy is still there at the next sample.
        for name in "${!twice[@]}"; do
            [ -n "${running[$name]:-}" ] || unset "twice[$name]"
        done
        for name in "${!running[@]}"; do
            n=$(wc -w <<<"${running[$name]}")
            if [ "$n" -le 1 ]; then
                unset "twice[$name]"
            elif [ -n "${twice[$name]:-}" ]; then
                echo "$(date +%T) $name RUNNING ON ${running[$name]}" >>"$WATCH.violations"
            else
                twice[$name]=1
                echo "$(date +%T) $name seen on ${running[$name]}once (a switch-over between reads?)" >>"$WATCH.log"
            fi
        done
        for name in "${!paused[@]}"; do
            if [ -z "${running[$name]:-}" ]; then
                paused_since[$name]=${paused_since[$name]:-$t}
                [ $(( t - paused_since[$name] )) -le 30 ] ||
                    echo "$(date +%T) $name PAUSED for $(( t - paused_since[$name] ))s on ${paused[$name]}" >>"$WATCH.violations"
            fi
        done
        for name in "${!paused_since[@]}"; do
            [ -n "${paused[$name]:-}" ] && [ -z "${running[$name]:-}" ] || unset "paused_since[$name]"
        done
        echo "$(date +%T) running: $(for k in "${!running[@]}"; do printf '%s@%s ' "$k" "${running[$k]}"; done)" >>"$WATCH.log"
        sleep 0.5
    done
}

stop_watcher() {
    [ -n "${WATCHER:-}" ] || return 0
    rm -f "$WATCH.on"
    wait "$WATCHER" 2>/dev/null || true
    WATCHER=
}

watcher_verdict() {
    stop_watcher
    grep 'once (a switch-over' "$WATCH.log" | sed 's/^/     watcher: /' || true
    if [ -s "$WATCH.violations" ]; then
        t_fail "the watcher saw: $(head -n 5 "$WATCH.violations" | tr '\n' ';')"
    else
        t_pass "the watcher saw no guest running twice and none left paused ($(wc -l <"$WATCH.log") samples)"
    fi
}
