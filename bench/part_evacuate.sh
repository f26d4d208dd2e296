#!/bin/bash
# bench/part_evacuate.sh — part 5 of bench/run.sh: `crm node standby` of a node
# running N VMs, until all N run on its peer, for N in BENCH_EVAC_COUNTS
# (1 2 4 8 16) and migration-limit in BENCH_EVAC_LIMITS (1 2 4).
# A 4-node lab cluster (Pacemaker + corosync, fencing on): ferry's VMs may
# run on node1 and node2 only, VirtualDomain's on node3 and node4 only, so
# the two evacuations never mix and can alternate run by run. All 16 (the
# largest count) of each are configured; those beyond the current count are
# stopped (target-role), and more are started as the count grows.
# Writes evacuation.png: evacuation time against N, a line per agent and limit.
set -euo pipefail
PART=evacuate
. "$(dirname "$0")/lib.sh"
RUNS=${BENCH_RUNS_EVAC:-5}   # 15 cells x 2 agents: 5 runs each take ~31 min
MEM=${BENCH_EVAC_MEM:-256}
read -r -a COUNTS <<<"${BENCH_EVAC_COUNTS:-1 2 4 8 16}"
read -r -a LIMITS <<<"${BENCH_EVAC_LIMITS:-1 2 4}"
MAXN=0
for n in "${COUNTS[@]}"; do (( n > MAXN )) && MAXN=$n; done
OUT=$BENCH_WORK/$PART
mkdir -p "$OUT"
RAW=$OUT/raw.txt
raw_begin runs="$RUNS" mem="$MEM" counts="$(IFS=,; echo "${COUNTS[*]}")" limits="$(IFS=,; echo "${LIMITS[*]}")" \
    pacemaker="$(dpkg-query -W -f '${Version}' pacemaker 2>/dev/null || echo '?')"
declare -A PREFIX=([ferry]=f [vd]=v)
declare -A SET=([ferry]="" [vd]="")     # the VMs in play: the first N of each agent's
declare -A PAIR=([ferry]="node1 node2" [vd]="node3 node4")
names() { local i; for ((i = 1; i <= $2; i++)); do printf '%s%d ' "${PREFIX[$1]}" "$i"; done; }

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
        for v in $(names "$a" "$MAXN"); do
            idle_xml "$v" "$MEM" >"$FERRY_LAB_SHARED/$v.xml"
            if [ "$a" = ferry ]; then
                echo "primitive $v ocf:ferry:vm params config=\"$FERRY_LAB_SHARED/$v.xml\" force_stop=true $ops target-role=Stopped"
            else
                echo "primitive $v ocf:heartbeat:VirtualDomain params config=\"$FERRY_LAB_SHARED/$v.xml\" hypervisor=\"qemu:///system\" migration_transport=ssh force_stop=true $ops target-role=Stopped"
            fi
            echo "location l-$v-a $v 100: $p1"
            echo "location l-$v-b $v 100: $p2"
        done
    done
} >"$crm"
"$CLUSTER" crm node1 configure load update "$crm" >/dev/null 2>&1 || die "loading $crm into the CIB failed"

# state SETNAME: "NODE" if all VMs in play of the set are Started on NODE with nothing pending, else "-"
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
# grow AGENT N: the first N VMs of AGENT run, together on one node of its pair (the other in
# standby while the new ones start, so that they join the others)
grow() {
    local a=$1 n=$2 p1 p2 at v other old=${SET[$1]}
    read -r p1 p2 <<<"${PAIR[$a]}"
    at=$p1
    [ -z "$old" ] || at=$(state "$a")
    case $at in "$p1") other=$p2 ;; "$p2") other=$p1 ;; *) die "$a: VMs not together before growing to $n" ;; esac
    "$CLUSTER" crm node1 node standby "$other" >/dev/null 2>&1 || die "standby $other failed"
    for v in $(names "$a" "$n"); do
        [[ " $old " == *" $v "* ]] && continue
        on node1 crm_resource --resource "$v" --meta --set-parameter target-role --parameter-value Started >/dev/null 2>&1 ||
            die "cannot start $v"
    done
    SET[$a]=$(names "$a" "$n")
    wait_set "$a" "$at" $((120 + 20 * n)) || die "$a: $n VMs did not start on $at: $("$LAB" exec node1 crm_mon -1 -r 2>&1 | tail -n 20)"
    "$CLUSTER" crm node1 node online "$other" >/dev/null 2>&1 || die "online $other failed"
}
evacuate() {   # SET LIMIT RUN
    local a=$1 limit=$2 run=$3 src dst p1 p2 t0 t1 mig=0 v ok=1 n
    n=$(wc -w <<<"${SET[$a]}")
    read -r p1 p2 <<<"${PAIR[$a]}"
    src=$(state "$a")
    case $src in "$p1") dst=$p2 ;; "$p2") dst=$p1 ;; *) die "$a: VMs not together on one node before run $run" ;; esac
    t0=$(now_ms)
    "$CLUSTER" crm node1 node standby "$src" >/dev/null 2>&1 || die "standby $src failed"
    wait_set "$a" "$dst" $((120 + 30 * n)) || ok=0
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
    echo "kind=evac agent=$a count=$n limit=$limit run=$run from=$src to=$dst ok=$ok secs=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1000 }') migrated=$mig restarted=$started" >>"$RAW"
    note "limit $limit run $run $a $src -> $dst: $(tail -n 1 "$RAW" | cut -d' ' -f8-)"
    [ "$ok" = 1 ] || die "$a: the $n VMs did not all arrive on $dst within $((120 + 30 * n)) s: $("$LAB" exec node1 crm_mon -1 -r 2>&1 | tail -n 20)"
    "$CLUSTER" crm node1 node online "$src" >/dev/null 2>&1 || die "online $src failed"
    "$CLUSTER" wait-idle 120 >/dev/null || die "cluster not idle after run $run"
}
for n in "${COUNTS[@]}"; do
    grow ferry "$n"
    grow vd "$n"
    "$CLUSTER" wait-idle 120 >/dev/null || die "cluster not idle"
    sleep 2
    "$CLUSTER" wait-idle 120 >/dev/null || die "cluster not idle"
    for limit in "${LIMITS[@]}"; do
        on node1 crm_attribute -t crm_config -n migration-limit -v "$limit" >/dev/null
        "$CLUSTER" wait-idle 60 >/dev/null || die "cluster not idle"
        for ((i = 1; i <= RUNS; i++)); do
            evacuate ferry "$limit" "$i"
            evacuate vd "$limit" "$i"
        done
    done
done
fi
RUNS=$(info runs "$RUNS") MEM=$(info mem "$MEM")
IFS=, read -r -a COUNTS <<<"$(info counts "$(IFS=,; echo "${COUNTS[*]}")")"
IFS=, read -r -a LIMITS <<<"$(info limits "$(IFS=,; echo "${LIMITS[*]}")")"
# raw lines of the 4-VM bench before counts were varied carry no count: they are 4
sed -i '/^kind=evac /{/ count=/!s/^kind=evac /kind=evac count=4 /}' "$RAW"

# ------------------------------------------------------------------ tables
secs() { col "$RAW" secs kind=evac agent="$1" count="$2" limit="$3" | mmm 1 2; }
{
    echo "### 5. Evacuation: \`crm node standby\` of a node with ${COUNTS[*]} VMs"
    echo
    echo "A 4-node lab cluster (Pacemaker $(info pacemaker "$(dpkg-query -W -f '${Version}' pacemaker 2>/dev/null)"), corosync knet, token 1000 ms,"
    echo "fencing on). ferry's VMs (\`ocf:ferry:vm\`, defaults: \`migrate=live\`) may run on node1 and"
    echo "node2 only, VirtualDomain's (\`hypervisor=qemu:///system migration_transport=ssh\`, defaults"
    echo "otherwise, utilization updates on) on node3 and node4 only, so the two never mix. Idle SeaBIOS"
    echo "guests of $MEM MiB (mostly zero pages: the time is the agents' and Pacemaker's, not the copy's);"
    echo "\`force_stop=true\` for both (it matters only for a VM that is stopped, not migrated). \`allow-migrate=true\`,"
    echo "monitor every 10 s, resource-stickiness 1000. For each count N (${COUNTS[*]}) the first N VMs of each"
    echo "agent run (the others are configured with target-role Stopped), and for each migration-limit"
    echo "(${LIMITS[*]}) $RUNS evacuations per agent are timed, ferry and VirtualDomain alternating: from \`crm node standby\`"
    echo "of the node holding the set until crm_mon shows all N Started on the peer with no action pending"
    echo "(polled every 0.1 s); then the node goes online again (nothing moves back) and the next run"
    echo "evacuates the peer. How each VM got there comes from Pacemaker's operation history on the target:"
    echo "a successful \`migrate_from\` since the standby (*migrated live*) or a \`start\` (*stopped and started*)."
    echo "Both agents publish the VMs' utilization (cpu, hv_memory) by default: ferry with \`crm_resource\`"
    echo "when a VM starts or arrives (\`migrate_from\`), VirtualDomain in its monitor whenever the CIB does not"
    echo "hold the value yet."
    echo
    echo "![evacuation time against the number of VMs](evacuation.png)"
    echo
    echo "| VMs | migration-limit | agent | time until all run on the peer, s | ferry / VirtualDomain (medians) | migrated live | stopped and started |"
    echo "|---:|---:|---|---|---|---|---|"
    for n in "${COUNTS[@]}"; do
        for limit in "${LIMITS[@]}"; do
            for a in ferry vd; do
                r=""
                [ "$a" = ferry ] && r="$(ratio "$(secs ferry "$n" "$limit" | cut -d' ' -f2)" "$(secs vd "$n" "$limit" | cut -d' ' -f2)")×"
                printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$limit" "$(cfg_label "$a")" \
                    "$(cell "$(secs "$a" "$n" "$limit")")" "$r" \
                    "$(cell "$(col "$RAW" migrated kind=evac agent=$a count="$n" limit="$limit" | mmm 1 0)")" \
                    "$(cell "$(col "$RAW" restarted kind=evac agent=$a count="$n" limit="$limit" | mmm 1 0)")"
            done
        done
    done
    echo
} >"$OUT/section.md"

# the plot: evacuation time against N, one line per agent and limit (median, min-max bars)
plots=()
for a in ferry vd; do
    for limit in "${LIMITS[@]}"; do
        dat=$OUT/plot-$a-$limit.dat
        for n in "${COUNTS[@]}"; do
            read -r lo md hi k <<<"$(secs "$a" "$n" "$limit")"
            [ "$k" = 0 ] || echo "$n $md $lo $hi"
        done >"$dat"
        [ -s "$dat" ] && plots+=("'$dat' using 1:2:3:4 with yerrorlines $([ "$a" = ferry ] && echo 'lt 1' || echo 'lt 2') dt $limit title '$(cfg_label "$a"), migration-limit $limit'")
    done
done
if [ ${#plots[@]} -gt 0 ]; then
    gnuplot <<GP
set terminal pngcairo size 900,560 font ",10" noenhanced
set output '$OUT/evacuation.png'
set title "Evacuation by crm node standby: time until all VMs run on the peer"
set xlabel "VMs on the node"
set ylabel "s (median, min-max)"
set logscale x 2
set xtics ($(for n in "${COUNTS[@]}"; do printf '"%s" %s,' "$n" "$n"; done | sed 's/,$//'))
set xrange [0.8:$(( ${COUNTS[-1]} * 5 / 4 + 1 ))]
set yrange [0:*]
set key outside right
set grid
set pointsize 1.2
plot $(IFS=,; echo "${plots[*]}")
GP
fi
rm -f "$OUT"/plot-*.dat

e() { med "$RAW" secs kind=evac agent="$1" count="$2" limit="$3" | awk '{ if ($1 != "") printf "%.1f", $1 }'; }
{
    printf -- '- **evacuation** by `crm node standby` (medians, ferry / VirtualDomain s):'
    for n in "${COUNTS[@]}"; do
        printf ' %s VMs:' "$n"
        for limit in "${LIMITS[@]}"; do
            printf ' limit %s %s/%s (%s×)' "$limit" "$(e ferry "$n" "$limit")" "$(e vd "$n" "$limit")" \
                "$(ratio "$(med "$RAW" secs kind=evac agent=ferry count="$n" limit="$limit")" \
                         "$(med "$RAW" secs kind=evac agent=vd count="$n" limit="$limit")")"
        done
        printf ';'
    done | sed 's/;$/./'
    echo
    worst=$(for n in "${COUNTS[@]}"; do for limit in "${LIMITS[@]}"; do
        ratio "$(med "$RAW" secs kind=evac agent=ferry count="$n" limit="$limit")" "$(med "$RAW" secs kind=evac agent=vd count="$n" limit="$limit")"
    done; done | grep -v '^-$' | sort -g | tail -n 1)
    echo "  Goal (issue 12) ≤ 0.85× VirtualDomain's at every count and limit: the largest ratio is ${worst:--}× ($(goal "${worst:--}" le 0.85))."
} >"$OUT/headline.md"
{
    for n in "${COUNTS[@]}"; do
        for limit in "${LIMITS[@]}"; do
            lossline "evacuation of $n VMs, migration-limit $limit" s "$(secs ferry "$n" "$limit")" "$(secs vd "$n" "$limit")"
            r=$(ratio "$(med "$RAW" secs kind=evac agent=ferry count="$n" limit="$limit")" "$(med "$RAW" secs kind=evac agent=vd count="$n" limit="$limit")")
            goalline "evacuation of $n VMs at migration-limit $limit is ${r}× VirtualDomain's (goal ≤ 0.85×)" "$r" le 0.85
        done
    done
} >"$OUT/losses.md"
note "done"
