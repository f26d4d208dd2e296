#!/bin/bash
# bench/part_migrate.sh — part 3 of bench/run.sh: an idle 256 MiB guest moved
# between two lab hosts by ferry (migrate=live, migrate=pause) and by
# VirtualDomain (live), BENCH_RUNS_MIG times each, alternating, each move in the
# order Pacemaker runs it (migrate_to on the source, migrate_from on the
# target, stop on the source).  Next to the link bandwidth B (tcpbench) and
# the bytes V libvirt moved, so the physical floors are on the same page.
set -euo pipefail
PART=migrate
. "$(dirname "$0")/lib.sh"
RUNS=${BENCH_RUNS_MIG:-10}
MEM=256
OUT=$BENCH_WORK/$PART
mkdir -p "$OUT"
RAW=$OUT/raw.txt
CFGS=(ferry-live ferry-pause vd)
raw_begin runs="$RUNS" mem="$MEM"

if [ "$REPORT_ONLY" != 1 ]; then
lab_start 2 --ticks

note "link bandwidth (tcpbench, 1 GiB, management network, both directions)"
for ((i = 1; i <= 4; i++)); do
    if ((i % 2)); then a=node1 b=node2; else a=node2 b=node1; fi
    on "$b" "$BIN/tcpbench" listen 5201 &
    l=$!
    sleep 0.3
    mibs=$(on "$a" "$BIN/tcpbench" send "$b" 5201 1024) || die "tcpbench $a -> $b failed"
    wait "$l" || true
    echo "kind=link run=$i from=$a to=$b mib_s=$mibs" >>"$RAW"
done

XML=$FERRY_LAB_SHARED/mig.xml
bm_xml mig "$MEM" 0 0 >"$XML"   # dirty 0: the workload writes nothing, only the heartbeat runs
t0=$(now_ms)
run_agent node1 ferry start p_mig 60000 OCF_RESKEY_config="$XML" || die "ferry start failed"
ticks_wait mig 50 60000 "$t0" || die "the guest sends no heartbeat"

host=node1
for ((i = 0; i <= RUNS; i++)); do   # run 0: warm-up, not in the tables
    for c in "${CFGS[@]}"; do
        other=$([ "$host" = node1 ] && echo node2 || echo node1)
        where=$(migrate_once "$RAW" "$i" "$c" mig "$XML" "$host" "$other" 120000)
        note "run $i $c $host -> $other: $(tail -n 1 "$RAW" | tr ' ' '\n' | grep -E '^(rc|to_wall_us|gap_ms|lv_downtime_ms)=' | tr '\n' ' ')"
        case $where in node1|node2) host=$where ;; *) die "after run $i ($c) the guest runs on '$where'" ;; esac
    done
done
run_agent "$host" ferry stop p_mig 60000 OCF_RESKEY_config="$XML" OCF_RESKEY_force_stop=true || true
sed -i '/^kind=mig run=0 /d' "$RAW"
fi
RUNS=$(info runs "$RUNS") MEM=$(info mem "$MEM")

# ------------------------------------------------------------------ tables
B=$(col "$RAW" mib_s kind=link | mmm 1 0)
Bmed=$(cut -d' ' -f2 <<<"$B")
V=$(col "$RAW" lv_data_bytes kind=mig | mmm 1048576 2)
Vmed=$(cut -d' ' -f2 <<<"$V")
sum() {   # CFG KEY1 KEY2 SCALE: per run KEY1+KEY2
    { grep "kind=mig .*cfg=$1 " "$RAW" || true; } | awk -v a="$2" -v b="$3" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        if (v["rc"] == 0 && (a in v) && (b in v)) print v[a] + v[b] }' | mmm "$4" 0
}
{
    echo "### 3. Migration of an idle guest"
    echo
    echo "The bare-metal test guest (tests/guests, KVM) with $MEM MiB and no dirtying workload; only its"
    echo "20 ms UDP heartbeat runs. Moved between two lab hosts $RUNS times per row (the rows alternate, the"
    echo "direction alternates; one unmeasured warm-up round first), each move as Pacemaker runs it: \`migrate_to\` on the source, \`migrate_from\`"
    echo "on the target, \`stop\` on the source. ferry with its defaults (\`migrate=live\`, or \`migrate=pause\`);"
    echo "VirtualDomain with \`hypervisor=qemu:///system migration_transport=ssh\` and otherwise its defaults"
    echo "(no cluster here: both agents' \`crm_resource\` calls for utilization fail at once). Both reach"
    echo "the target's libvirt over qemu+ssh and let libvirt choose the stream's address (the target's"
    echo "management address), no bandwidth limit."
    echo
    echo "| agent | libvirt downtime ms | pause outage ms (ferry's measure) | guest-visible outage ms | migrate_to ms | migrate_to + migrate_from ms | V moved MiB | CPU of migrate_to ms | failed |"
    echo "|---|---|---|---|---|---|---|---|---:|"
    for c in "${CFGS[@]}"; do
        pause=$(col "$RAW" f_pause_ms kind=mig cfg="$c" rc=0 | awk '$1 >= 0' | mmm 1 0)
        [ "$c" = ferry-pause ] || pause="- - - 0"
        failed=$(col "$RAW" rc kind=mig cfg="$c" | grep -vcx 0 || true)
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(cfg_label "$c")" \
            "$(cell "$(col "$RAW" lv_downtime_ms kind=mig cfg="$c" rc=0 | mmm 1 0)")" \
            "$(cell "$pause")" \
            "$(cell "$(col "$RAW" gap_ms kind=mig cfg="$c" | mmm 1 0)")" \
            "$(cell "$(col "$RAW" to_wall_us kind=mig cfg="$c" rc=0 | mmm 1000 0)")" \
            "$(cell "$(sum "$c" to_wall_us from_wall_us 1000)")" \
            "$(cell "$(col "$RAW" lv_data_bytes kind=mig cfg="$c" rc=0 | mmm 1048576 2)")" \
            "$(cell "$(sum "$c" to_user_us to_sys_us 1000)")" "$failed"
    done
    echo
    echo "Physical floors on the same link:"
    echo
    echo "- link bandwidth B = $(cell "$B") MiB/s (\`bench/tcpbench.c\`: one TCP stream, 1 GiB, between the"
    echo "  two hosts over the network the migration uses, 4 runs alternating direction);"
    echo "- bytes moved V = $(cell "$V") MiB (libvirt's \"Data processed\" on the target): QEMU sends the"
    echo "  guest's untouched (zero) pages as markers, so V is far below the $MEM MiB of RAM;"
    echo "- so **V / B = $(awk -v v="$Vmed" -v b="$Bmed" 'BEGIN { printf "%.1f", 1000 * v / b }') ms** is the floor of the total time and of the pause outage, and"
    echo "  sending all $MEM MiB would take $(awk -v b="$Bmed" -v m="$MEM" 'BEGIN { printf "%.0f", 1000 * m / b }') ms. Everything above that is fixed cost: ssh to the target,"
    echo "  libvirt's and QEMU's set-up on both sides, the agents' own checks. ferry's migrate_to opens two"
    echo "  qemu+ssh connections to the target (its own, for the pre-flight checks and statistics, and"
    echo "  libvirtd's, because it migrates peer-to-peer), \`virsh migrate\` under VirtualDomain one."
    echo "- *libvirt downtime*: \"Total downtime\" of the completed job on the target (for \`migrate=pause\` it"
    echo "  covers only QEMU's final switch, not the time ferry kept the guest paused: see the next column)."
    echo "  *pause outage*: ferry's own measure, from suspending the guest to it running on the target."
    echo "  *guest-visible outage*: the longest silence in the guest's 20 ms heartbeat during the move"
    echo "  (includes up to one tick period and the collector's scheduling)."
    echo
} >"$OUT/section.md"
m() { col "$RAW" "$2" kind=mig cfg="$1" rc=0 | mmm "${3:-1}" 0 | cut -d' ' -f2; }
r_to=$(ratio "$(m ferry-live to_wall_us)" "$(m vd to_wall_us)")
d_gap=$(awk -v f="$(m ferry-live gap_ms)" -v v="$(m vd gap_ms)" 'BEGIN { if (f == "" || v == "") print "-"; else print f - v }')
{
    echo "- **live migration** of an idle $MEM MiB guest (medians): guest-visible outage ferry $(m ferry-live gap_ms) ms, VirtualDomain"
    echo "  $(m vd gap_ms) ms (ferry/VirtualDomain = $(ratio "$(m ferry-live gap_ms)" "$(m vd gap_ms)")×; libvirt downtime $(m ferry-live lv_downtime_ms) vs $(m vd lv_downtime_ms) ms);"
    echo "  migrate_to ferry $(m ferry-live to_wall_us 1000) ms, VirtualDomain $(m vd to_wall_us 1000) ms ($(ratio "$(m ferry-live to_wall_us)" "$(m vd to_wall_us)")×);"
    echo "  ferry \`migrate=pause\`: outage $(m ferry-pause f_pause_ms) ms. Link B = $Bmed MiB/s, bytes moved V = $Vmed MiB (V/B = $(awk -v v="$Vmed" -v b="$Bmed" 'BEGIN { printf "%.1f", 1000 * v / b }') ms)."
    echo "  Goals (issue 12): migrate_to ≤ 0.75× VirtualDomain's: ${r_to}× ($(goal "$r_to" le 0.75)); guest-visible outage ≤"
    echo "  VirtualDomain's + 5 ms: ${d_gap} ms more ($(goal "$d_gap" le 5))."
} >"$OUT/headline.md"
{
    s() { col "$RAW" "$2" kind=mig cfg="$1" rc=0 | mmm "${3:-1}" 0; }
    lossline "idle live migration, guest-visible outage" ms "$(s ferry-live gap_ms)" "$(s vd gap_ms)"
    lossline "idle live migration, libvirt downtime" ms "$(s ferry-live lv_downtime_ms)" "$(s vd lv_downtime_ms)"
    lossline "idle live migration, migrate_to" ms "$(s ferry-live to_wall_us 1000)" "$(s vd to_wall_us 1000)"
    lossline "idle live migration, migrate_to + migrate_from" ms "$(sum ferry-live to_wall_us from_wall_us 1000)" "$(sum vd to_wall_us from_wall_us 1000)"
    lossline "idle live migration, CPU of migrate_to" ms "$(sum ferry-live to_user_us to_sys_us 1000)" "$(sum vd to_user_us to_sys_us 1000)"
    goalline "idle live migrate_to is ${r_to}× VirtualDomain's (goal ≤ 0.75×)" "$r_to" le 0.75
    goalline "idle live migration's guest-visible outage is ${d_gap} ms above VirtualDomain's (goal ≤ 5 ms)" "$d_gap" le 5
} >"$OUT/losses.md"
note "done"
