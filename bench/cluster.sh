#!/bin/bash
# bench/cluster.sh — what an operator waits for under Pacemaker: a move
# (crm_resource --move of a running VM, live), a standby evacuation of a node
# with two VMs (migration-limit=1), and a failover after a node is powered off
# (fencing on), each RUNS times on a 3-node lab cluster, min / median / max.
# A measurement that prints figures, not a test.
#
#   bench/cluster.sh [RUNS]          (default 5; root; ./bootstrap.sh first)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
RUNS=${1:-5}
AGENT=$top/agents/vm
LAB=$top/tests/lab/lab.sh
CLUSTER=$top/tests/lab/cluster.sh
OUT=$top/tests/guests/out
export FERRY_LAB_DIR=/var/tmp/ferry-bench-cluster

[ "$(id -u)" = 0 ] || { echo "bench/cluster.sh: needs root (the lab)" >&2; exit 1; }
[ -x "$AGENT" ] || { echo "bench/cluster.sh: build first (./bootstrap.sh)" >&2; exit 1; }
"$top/tests/guests/build.sh" "$OUT"
if [ -e "$FERRY_LAB_DIR" ]; then "$CLUSTER" down >/dev/null 2>&1 || true; "$LAB" down >/dev/null 2>&1 || true; fi
trap '"$CLUSTER" down >/dev/null 2>&1 || true; "$LAB" down >/dev/null 2>&1 || true' EXIT
"$LAB" up 3 --ticks "$OUT/ferry-ticks" >/dev/null
eval "$("$LAB" env)"
mkdir -p "$FERRY_LAB_SHARED/artifacts"
cp "$OUT/ferry-bm.elf" "$FERRY_LAB_SHARED/artifacts/"
ocf=$FERRY_LAB_DIR/ocf-resource.d
cp -a /usr/lib/ocf/resource.d "$ocf"
mkdir -p "$ocf/ferry"
ln -s "$AGENT" "$ocf/ferry/vm"
for h in $FERRY_LAB_HOSTS; do "$LAB" exec "$h" mount --bind "$ocf" /usr/lib/ocf/resource.d; done
"$CLUSTER" up >/dev/null

for v in a b; do
    "$top/tests/guests/mkdomain.sh" --name vm-$v --os bm --dirty 16 --rate 40 \
        --artifacts "$FERRY_LAB_SHARED/artifacts" --collector "$FERRY_LAB_COLLECTOR" >"$FERRY_LAB_SHARED/vm-$v.xml"
done
cat >"$FERRY_LAB_DIR/vms.crm" <<CRM
property migration-limit=1
rsc_defaults resource-stickiness=100
primitive vm-a ocf:ferry:vm params config="$FERRY_LAB_SHARED/vm-a.xml" migrate=live \\
    op monitor interval=10s timeout=30s op stop timeout=60s interval=0 \\
    op migrate_to timeout=120s interval=0 op migrate_from timeout=60s interval=0 meta allow-migrate=true
primitive vm-b ocf:ferry:vm params config="$FERRY_LAB_SHARED/vm-b.xml" migrate=pause \\
    op monitor interval=10s timeout=30s op stop timeout=60s interval=0 \\
    op migrate_to timeout=120s interval=0 op migrate_from timeout=60s interval=0 meta allow-migrate=true
colocation vms-together inf: vm-b vm-a
CRM
"$CLUSTER" crm node1 configure load update "$FERRY_LAB_DIR/vms.crm" >/dev/null 2>&1
"$CLUSTER" wait-started vm-a '' 120 >/dev/null
"$CLUSTER" wait-started vm-b '' 120 >/dev/null
"$CLUSTER" wait-idle 60 >/dev/null

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f\n", b - a }'; }
node_of() { "$CLUSTER" state "$1" | cut -d' ' -f2; }
other() { for h in $FERRY_LAB_HOSTS; do [ "$h" != "$1" ] && [ "$h" != "${2:-}" ] && { echo "$h"; return; }; done; }
res=$FERRY_LAB_DIR/results
: >"$res"

for ((i = 0; i < RUNS; i++)); do
    # move: vm-a alone (vm-b follows it: colocated), live
    src=$(node_of vm-a) dst=$(other "$src")
    t0=$(now)
    "$LAB" exec node1 crm_resource --move -r vm-a -N "$dst" >/dev/null 2>&1
    "$CLUSTER" wait-started vm-a "$dst" 120 >/dev/null
    "$CLUSTER" wait-started vm-b "$dst" 120 >/dev/null
    echo "move $(since "$t0")" >>"$res"
    "$LAB" exec node1 crm_resource --clear -r vm-a >/dev/null 2>&1
    "$CLUSTER" wait-idle 60 >/dev/null

    # evacuation: standby the node with both VMs
    src=$(node_of vm-a)
    t0=$(now)
    "$CLUSTER" crm node1 node standby "$src" >/dev/null 2>&1
    "$CLUSTER" wait-started vm-a "!$src" 180 >/dev/null
    "$CLUSTER" wait-started vm-b "!$src" 180 >/dev/null
    echo "evacuation $(since "$t0")" >>"$res"
    "$CLUSTER" crm node1 node online "$src" >/dev/null 2>&1
    "$CLUSTER" wait-idle 60 >/dev/null

    # failover: power the node with both VMs off; fencing, then restart elsewhere
    src=$(node_of vm-a)
    t0=$(now)
    "$CLUSTER" poweroff "$src" >/dev/null
    "$CLUSTER" wait-started vm-a "!$src" 180 >/dev/null
    "$CLUSTER" wait-started vm-b "!$src" 180 >/dev/null
    echo "failover $(since "$t0")" >>"$res"
    "$CLUSTER" wait-online --timeout 120 >/dev/null
    "$CLUSTER" wait-idle 60 >/dev/null
done

printf 'Pacemaker 2.1.5 + corosync 3.1.7 (knet, token 1000 ms), 3 lab nodes, fencing on, two ocf:ferry:vm\n'
printf '(vm-a migrate=live, vm-b migrate=pause, colocated, migration-limit=1), %d runs each\n\n' "$RUNS"
printf '| what | min s | median s | max s | what is timed |\n|---|---|---|---|---|\n'
for k in move evacuation failover; do
    awk -v k=$k '$1 == k { print $2 }' "$res" | sort -n | awk -v k=$k '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        d["move"] = "crm_resource --move until both VMs run on the target, nothing pending"
        d["evacuation"] = "crm node standby until both VMs run elsewhere"
        d["failover"] = "node powered off until both VMs run on a survivor (fencing included)"
        printf "| %s | %.2f | %.2f | %.2f | %s |\n", k, v[1], m, v[NR], d[k] }'
done
