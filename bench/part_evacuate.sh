#!/bin/bash
# bench/part_evacuate.sh — part 5 of bench/run.sh: `crm node standby` of a node
# running 4 VMs, until all 4 run on its peer, with migration-limit 1 and 2.
# A 4-node lab cluster (Pacemaker + corosync, fencing on): ferry's 4 VMs may
# run on node1 and node2 only, VirtualDomain's 4 on node3 and node4 only, so
# the two evacuations never mix and can alternate run by run.
set -euo pipefail
PART=evacuate
. "$(dirname "$0")/lib.sh"
RUNS=${BENCH_RUNS_EVAC:-10}
MEM=256
OUT=$BENCH_WORK/$PART
mkdir -p "$OUT"
RAW=$OUT/raw.txt
raw_begin runs="$RUNS" mem="$MEM" pacemaker="$(dpkg-query -W -f '${Version}' pacemaker 2>/dev/null || echo '?')"
declare -A SET=([ferry]="f1 f2 f3 f4" [vd]="v1 v2 v3 v4")
declare -A PAIR=([ferry]="node1 node2" [vd]="node3 node4")

if [ "$REPORT_ONLY" != 1 ]; then
lab_start 4 --cluster
# ferry's agent as ocf:ferry:vm inside the hosts (a copy of resource.d, bind-mounted)
ocf=$FERRY_LAB_DIR/ocf-resource.d
cp -a /usr/lib/ocf/resource.d "$ocf"
mkdir -p "$ocf/ferry"
ln -s "$AGENT" "$ocf/ferry/vm"
for h in $FERRY_LAB_HOSTS; do on "$h" mount --bind "$ocf" /usr/lib/ocf/resource.d; done

ops="op monitor interval=10s timeout=30s op start timeout=90s interval=0 op stop timeout=90s interval=0 \\
    op migrate_to timeout=120s interval=0 op migrate_from timeout=60s interval=0 meta allow-migrate=true"
crm=$FERRY_LAB_DIR/evac.crm
{
    echo "property symmetric-cluster=false migration-limit=1"
    echo "rsc_defaults resource-stickiness=1000"
    for a in ferry vd; do
        read -r p1 p2 <<<"${PAIR[$a]}"
        for v in ${SET[$a]}; do
            idle_xml "$v" "$MEM" >"$FERRY_LAB_SHARED/$v.xml"
            if [ "$a" = ferry ]; then
                echo "primitive $v ocf:ferry:vm params config=\"$FERRY_LAB_SHARED/$v.xml\" force_stop=true $ops"
            else
                echo "primitive $v ocf:heartbeat:VirtualDomain params config=\"$FERRY_LAB_SHARED/$v.xml\" hypervisor=\"qemu:///system\" migration_transport=ssh force_stop=true $ops"
            fi
            echo "location l-$v-a $v 100: $p1"
            echo "location l-$v-b $v 100: $p2"
        done
    done
} >"$crm"
# everything starts on the first node of its pair: the second is in standby meanwhile
for h in node2 node4; do "$CLUSTER" crm node1 node standby "$h" >/dev/null 2>&1 || die "standby $h failed"; done
"$CLUSTER" crm node1 configure load update "$crm" >/dev/null 2>&1 || die "loading $crm into the CIB failed"

# state SETNAME: "NODE" if all 4 VMs of the set are Started on NODE with nothing pending, else "-"
state() {
    on node1 crm_mon -1 --output-as=xml 2>/dev/null | awk -v want="${SET[$1]}" '
        BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) ok[w[i]] = 1 }
        /<resource / {
            id = ""; if (match($0, /id="[^"]*"/)) id = substr($0, RSTART + 4, RLENGTH - 5)
            cur = (id in ok) ? id : ""
            if (cur != "") {
                good[cur] = ($0 ~ /role="Started"/ && $0 ~ /nodes_running_on="1"/ && $0 !~ /pending=/ && $0 ~ /failed="false"/)
            }
            next
        }
        cur != "" && /<node / { if (match($0, /name="[^"]*"/)) where[cur] = substr($0, RSTART + 6, RLENGTH - 7); cur = "" }
        END {
            node = ""
            for (i = 1; i <= n; i++) {
                v = w[i]
                if (!good[v] || where[v] == "") { print "-"; exit }
                if (node == "") node = where[v]; else if (node != where[v]) { print "-"; exit }
            }
            print node
        }'
}
wait_set() {   # SET NODE SECONDS: all of SET started on NODE
    local end=$(( $(now_ms) + $3 * 1000 ))
    while [ "$(state "$1")" != "$2" ]; do
        (( $(now_ms) < end )) || return 1
        sleep 0.1
    done
}
wait_set ferry node1 180 || die "ferry's VMs did not start on node1: $("$LAB" exec node1 crm_mon -1 -r 2>&1 | tail -n 20)"
wait_set vd node3 180 || die "VirtualDomain's VMs did not start on node3: $("$LAB" exec node1 crm_mon -1 -r 2>&1 | tail -n 20)"
for h in node2 node4; do "$CLUSTER" crm node1 node online "$h" >/dev/null 2>&1 || die "online $h failed"; done
"$CLUSTER" wait-idle 120 >/dev/null || die "cluster not idle"
sleep 2
"$CLUSTER" wait-idle 120 >/dev/null || die "cluster not idle"

evacuate() {   # SET LIMIT RUN
    local a=$1 limit=$2 run=$3 src dst p1 p2 t0 t1 mig=0 v ok=1
    read -r p1 p2 <<<"${PAIR[$a]}"
    src=$(state "$a")
    case $src in "$p1") dst=$p2 ;; "$p2") dst=$p1 ;; *) die "$a: VMs not together on one node before run $run" ;; esac
    t0=$(now_ms)
    "$CLUSTER" crm node1 node standby "$src" >/dev/null 2>&1 || die "standby $src failed"
    wait_set "$a" "$dst" 300 || ok=0
    t1=$(now_ms)
    # how each VM got there: Pacemaker's operation history on the target (migrate_from or start since t0)
    local hist started=0
    hist=$(on node1 cibadmin -Q --xpath "//node_state[@uname='$dst']//lrm_rsc_op" 2>/dev/null | tr '>' '\n')
    for v in ${SET[$a]}; do
        if awk -v v="$v" -v t=$((t0 / 1000 - 1)) -v op=migrate_from 'index($0, "operation_key=\"" v "_" op "_0\"") && match($0, /last-rc-change="[0-9]+"/) {
                if (substr($0, RSTART + 16, RLENGTH - 17) + 0 >= t && $0 ~ /rc-code="0"/) f = 1 } END { exit !f }' <<<"$hist"; then
            mig=$((mig + 1))
        elif awk -v v="$v" -v t=$((t0 / 1000 - 1)) -v op=start 'index($0, "operation_key=\"" v "_" op "_0\"") && match($0, /last-rc-change="[0-9]+"/) {
                if (substr($0, RSTART + 16, RLENGTH - 17) + 0 >= t) f = 1 } END { exit !f }' <<<"$hist"; then
            started=$((started + 1))
        fi
    done
    echo "kind=evac agent=$a limit=$limit run=$run from=$src to=$dst ok=$ok secs=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1000 }') migrated=$mig restarted=$started" >>"$RAW"
    note "limit $limit run $run $a $src -> $dst: $(tail -n 1 "$RAW" | cut -d' ' -f8-)"
    [ "$ok" = 1 ] || die "$a: the VMs did not all arrive on $dst within 300 s: $("$LAB" exec node1 crm_mon -1 -r 2>&1 | tail -n 20)"
    "$CLUSTER" crm node1 node online "$src" >/dev/null 2>&1 || die "online $src failed"
    "$CLUSTER" wait-idle 120 >/dev/null || die "cluster not idle after run $run"
}
for limit in 1 2; do
    on node1 crm_attribute -t crm_config -n migration-limit -v "$limit" >/dev/null
    "$CLUSTER" wait-idle 60 >/dev/null || die "cluster not idle"
    for ((i = 1; i <= RUNS; i++)); do
        evacuate ferry "$limit" "$i"
        evacuate vd "$limit" "$i"
    done
done
fi
RUNS=$(info runs "$RUNS") MEM=$(info mem "$MEM")

# ------------------------------------------------------------------ tables
{
    echo "### 5. Evacuation: \`crm node standby\` of a node with 4 VMs"
    echo
    echo "A 4-node lab cluster (Pacemaker $(info pacemaker "$(dpkg-query -W -f '${Version}' pacemaker 2>/dev/null)"), corosync knet, token 1000 ms,"
    echo "fencing on). ferry's four VMs (\`ocf:ferry:vm\`, defaults: \`migrate=live\`) may run on node1 and"
    echo "node2 only, VirtualDomain's four (\`hypervisor=qemu:///system migration_transport=ssh\`, defaults"
    echo "otherwise, utilization updates on) on node3 and node4 only, so the two never mix. Idle SeaBIOS"
    echo "guests of $MEM MiB (mostly zero pages: the time is the agents' and Pacemaker's, not the copy's);"
    echo "\`force_stop=true\` for both (it matters only for a VM that is stopped, not migrated). \`allow-migrate=true\`,"
    echo "monitor every 10 s, resource-stickiness 1000. Timed: from \`crm node standby\` of the node"
    echo "holding the set until crm_mon shows all four Started on the peer with no action pending"
    echo "(polled every 0.1 s); then the node goes online again (nothing moves back) and the next run"
    echo "evacuates the peer. $RUNS runs per row, ferry and VirtualDomain alternating. How each VM got"
    echo "there comes from Pacemaker's operation history on the target: a successful \`migrate_from\` since"
    echo "the standby (*migrated live*) or a \`start\` (*stopped and started*). Both agents publish the VMs'"
    echo "utilization (cpu, hv_memory) by default: ferry with \`crm_resource\` when a VM starts or arrives"
    echo "(\`migrate_from\`), VirtualDomain in its monitor whenever the CIB does not hold the value yet."
    echo
    echo "| migration-limit | agent | time until all 4 run on the peer, s | migrated live (of 4) | stopped and started (of 4) |"
    echo "|---:|---|---|---|---|"
    for limit in 1 2; do
        for a in ferry vd; do
            printf '| %s | %s | %s | %s | %s |\n' "$limit" "$(cfg_label "$a")" \
                "$(cell "$(col "$RAW" secs kind=evac agent=$a limit=$limit | mmm 1 2)")" \
                "$(cell "$(col "$RAW" migrated kind=evac agent=$a limit=$limit | mmm 1 0)")" \
                "$(cell "$(col "$RAW" restarted kind=evac agent=$a limit=$limit | mmm 1 0)")"
        done
    done
    echo
} >"$OUT/section.md"
e() { med "$RAW" secs kind=evac agent="$1" limit="$2" | awk '{ printf "%.1f", $1 }'; }
{
    echo "- **evacuation** of 4 VMs by \`crm node standby\` (medians): migration-limit 1: ferry $(e ferry 1) s, VirtualDomain $(e vd 1) s"
    echo "  (ferry/VirtualDomain = $(ratio "$(e ferry 1)" "$(e vd 1)")×); migration-limit 2: ferry $(e ferry 2) s, VirtualDomain $(e vd 2) s ($(ratio "$(e ferry 2)" "$(e vd 2)")×)."
} >"$OUT/headline.md"
{
    for limit in 1 2; do
        lossline "evacuation, migration-limit $limit" s "$(col "$RAW" secs kind=evac agent=ferry limit=$limit | mmm 1 2)" \
            "$(col "$RAW" secs kind=evac agent=vd limit=$limit | mmm 1 2)"
    done
} >"$OUT/losses.md"
note "done"
