#!/bin/bash
# demo.sh — ferry's main job, end to end, on one machine: installs and builds
# what is missing, brings up a lab of KVM hosts (namespaces with their own
# libvirtd and sshd), runs real guests through the agent as Pacemaker would,
# prints what happened, and tears the lab down.
set -euo pipefail
cd "$(dirname "$0")"
top=$(pwd)

[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (the lab uses namespaces and its own libvirtd)" >&2; exit 1; }
./bootstrap.sh
export FERRY_LAB_DIR=/var/tmp/ferry-demo
LAB=$top/tests/lab/lab.sh
OUT=$top/tests/guests/out
AGENT=$top/agents/vm
tests/guests/build.sh "$OUT"
[ -e "$FERRY_LAB_DIR" ] && "$LAB" down >/dev/null 2>&1 || true
trap '"$LAB" down | tail -n 1' EXIT
echo "demo: bringing up 2 lab hosts"
"$LAB" up 2 --ticks "$OUT/ferry-ticks" | sed 's/^/  /'
eval "$("$LAB" env)"
mkdir -p "$FERRY_LAB_SHARED/artifacts"
cp "$OUT"/ferry-bm.elf "$OUT"/vmlinuz "$OUT"/initrd.img "$FERRY_LAB_SHARED/artifacts/"
TICKS=$FERRY_LAB_DIR/ticks.log

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# agent HOST ACTION RSC CONFIG [VAR=value...] -> prints "rc ms", logs to stderr
agent() {
    local host=$1 action=$2 rsc=$3 config=$4 t0 rc=0
    shift 4
    t0=$(now_ms)
    "$LAB" exec "$host" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin OCF_ROOT=/usr/lib/ocf \
        OCF_RA_VERSION_MAJOR=1 OCF_RA_VERSION_MINOR=1 OCF_RESOURCE_INSTANCE="$rsc" \
        OCF_RESKEY_CRM_meta_timeout=60000 OCF_RESKEY_config="$config" HA_LOGFACILITY=none \
        "$@" "$AGENT" "$action" 2>>"$FERRY_LAB_DIR/agent.log" || rc=$?
    echo "$rc $(( $(now_ms) - t0 ))"
}
row() { printf '| %-6s | %-5s | %-28s | %3s | %7s | %s\n' "$@"; }

for g in "vm-bm bm kvm" "vm-linux linux qemu"; do
    set -- $g
    tests/guests/mkdomain.sh --name "$1" --os "$2" --type auto --artifacts "$FERRY_LAB_SHARED/artifacts" \
        --collector "$FERRY_LAB_COLLECTOR" >"$FERRY_LAB_SHARED/$1.xml"
done

echo
row host guest action rc ms "what the guest saw"
row ------ ----- ---------------------------- --- ------- ------------------
for g in vm-bm vm-linux; do
    xml=$FERRY_LAB_SHARED/$g.xml
    read -r rc ms < <(agent node1 monitor "p_$g" "$xml"); row node1 "$g" "probe" "$rc" "$ms" "7 = not running"
    since=$(now_ms)
    read -r rc ms < <(agent node1 start "p_$g" "$xml"); row node1 "$g" "start" "$rc" "$ms" ""
    "$OUT/ferry-ticks" wait "$TICKS" "$g" --count 100 --timeout-ms 30000 --since "$since" >/dev/null || true
    rep=$("$OUT/ferry-ticks" report "$TICKS" "$g" --since "$since" || true)
    read -r rc ms < <(agent node1 monitor "p_$g" "$xml" OCF_RESKEY_CRM_meta_interval=10000)
    row node1 "$g" "monitor" "$rc" "$ms" "$(sed -n 's/^ticks=/heartbeats: /p' <<<"$rep"), $(grep -E '^bad=' <<<"$rep")"
    read -r rc ms < <(agent node1 start "p_$g" "$xml"); row node1 "$g" "start again (idempotent)" "$rc" "$ms" ""
    read -r rc ms < <(agent node1 stop "p_$g" "$xml" OCF_RESKEY_shutdown_timeout=5)
    how=$(grep -o "domain '$g' [a-z ]* in [0-9]* ms" "$FERRY_LAB_DIR/agent.log" | tail -n 1)
    row node1 "$g" "stop" "$rc" "$ms" "$how"
    read -r rc ms < <(agent node1 monitor "p_$g" "$xml" OCF_RESKEY_CRM_meta_interval=10000)
    row node1 "$g" "monitor" "$rc" "$ms" "7 = not running"
done
echo
echo "demo: the agent's log is in $FERRY_LAB_DIR/agent.log until the lab goes down:"
tail -n 8 "$FERRY_LAB_DIR/agent.log" | sed 's/^/  /'
