#!/bin/bash
# bench/part_floor.sh — part 6 of bench/run.sh: where one migrate_to's time
# goes, next to the floor. An idle 256 MiB guest moved between two lab hosts,
# BENCH_RUNS_FLOOR times per row, the rows alternating run by run (and the
# direction with them):
#   ferry-p2p      ferry's migrate_to, migration_connection=p2p (the default), with its
#                  phase line (HA_debug=1: "migrate_to phases: ..."), then migrate_from and stop
#   ferry-shared   the same with migration_connection=shared (managed, over ferry's one
#                  connection to the target)
#   floor-managed  bench/floor_migrate.c: the connection to the target opened first, untimed;
#                  only virDomainMigrate3 over it is timed
#   floor-p2p      the same with virDomainMigrateToURI3 peer-to-peer (libvirtd's own ssh
#                  connection to the target inside the timed call)
#   virsh          `virsh migrate --live NAME qemu+ssh://TARGET/system` (as VirtualDomain runs
#                  it: managed, virsh's one connection), process start to exit
#   virsh-cm       the same with an ssh ControlMaster to the target already open: the URI's
#                  ?command= names a wrapper (in the lab dir) that runs
#                  ssh -o ControlMaster=no -o ControlPath=LABDIR/cm/%C, so libvirt's ssh
#                  transport rides on the open master and logs in no more
# Each run is one line of raw.txt: the agent's figures (to_*, runstat), ferry's phases
# (ph_*: the phase line, parentheses removed), the floor's (fl_*), libvirt's completed job on
# the target (lv_*), the guest's longest heartbeat gap (gap_ms).
set -euo pipefail
PART=floor
. "$(dirname "$0")/lib.sh"
RUNS=${BENCH_RUNS_FLOOR:-10}
MEM=256
OUT=$BENCH_WORK/$PART
mkdir -p "$OUT"
RAW=$OUT/raw.txt
CFGS=(ferry-p2p ferry-shared floor-managed floor-p2p virsh virsh-cm)
raw_begin runs="$RUNS" mem="$MEM"

# the ssh ControlMaster of virsh-cm: its ControlPath directory and the wrapper
CM=""
cm_ssh() { echo "$CM/ssh"; }
cm_open() {   # HOST PEER: a master from HOST to PEER, in the background until cm_close_all
    # (its output to /dev/null: it must not hold a caller's command substitution open)
    on "$1" ssh -o ControlMaster=yes -o "ControlPath=$CM/%C" -o ControlPersist=yes -f -N "$2" \
        </dev/null >/dev/null 2>&1 ||
        die "cannot open an ssh ControlMaster from $1 to $2"
}
cm_check() { on "$1" ssh -o "ControlPath=$CM/%C" -O check "$2" >/dev/null 2>&1; }
cm_close_all() {
    local h p
    [ -n "$CM" ] || return 0
    for h in node1 node2; do
        p=$([ "$h" = node1 ] && echo node2 || echo node1)
        cm_check "$h" "$p" && on "$h" ssh -o "ControlPath=$CM/%C" -O exit "$p" >/dev/null 2>&1 || true
    done
}

# floor_once RUN CFG SRC DST: one move by floor_migrate or virsh, one line in RAW; prints
# where the guest runs afterwards
floor_once() {
    local run=$1 cfg=$2 src=$3 dst=$4 since out rc=0 job gap rep uri="qemu+ssh://$4/system?no_tty=1"
    since=$(now_ms)
    case $cfg in
    floor-managed|floor-p2p)
        out=$(on "$src" "$BIN/floor_migrate" qemu:///system "$uri" mig "${cfg#floor-}" 2>&1) || rc=$?
        out=$(sed 's/\([a-z_]*\)=/fl_\1=/g; s/fl_lv_/lv_/g' <<<"$out" | tail -n 1)
        ;;
    virsh|virsh-cm)
        [ "$cfg" = virsh-cm ] && { uri="$uri&command=$(cm_ssh)"; cm_check "$src" "$dst" || cm_open "$src" "$dst"; }
        # shellcheck disable=SC2016
        out=$(on "$src" bash -c 't0=$EPOCHREALTIME; virsh -q -c qemu:///system migrate --live mig "$1" >/dev/null 2>&1; rc=$?
            t1=$EPOCHREALTIME; echo "rc=$rc fl_migrate_ms=$(( (${t1/./} - ${t0/./}) / 1000 ))"' _ "$uri" 2>&1) || rc=$?
        [[ $out == rc=0\ * ]] || rc=1
        out=${out#rc=* }
        ;;
    esac
    [ "$rc" = 0 ] && job=$(jobinfo "$dst" mig) || job=""
    ticks_wait mig 10 20000 "$(now_ms)" || true
    rep=$(ticks_report mig "$since" || true)
    gap=$(field max_gap_ms <<<"$(tr '\n' ' ' <<<"$rep")")
    printf 'kind=mig run=%s cfg=%s from=%s to=%s rc=%s where=%s %s gap_ms=%s %s\n' "$run" "$cfg" "$src" "$dst" \
        "$rc" "$(where_is mig)" "$(tr -s ' \n' '  ' <<<"$out")" "${gap:--}" "$job" | tr -s ' ' >>"$RAW"
    where_is mig
}

if [ "$REPORT_ONLY" != 1 ]; then
lab_start 2 --ticks
CM=$FERRY_LAB_DIR/cm
mkdir -p "$CM"
chmod 700 "$CM"
printf '#!/bin/sh\n# ssh for libvirt'\''s transport: over the ControlMaster bench/part_floor.sh opened\nexec ssh -o ControlMaster=no -o ControlPath=%s/%%C "$@"\n' "$CM" >"$CM/ssh"
chmod 755 "$CM/ssh"
trap 'rc=$?; cm_close_all; (exit "$rc"); lab_stop' EXIT
cm_open node1 node2
cm_open node2 node1

XML=$FERRY_LAB_SHARED/mig.xml
bm_xml mig "$MEM" 0 0 >"$XML"   # dirty 0: the workload writes nothing, only the heartbeat runs
t0=$(now_ms)
run_agent node1 ferry start p_mig 60000 OCF_RESKEY_config="$XML" || die "ferry start failed"
ticks_wait mig 50 60000 "$t0" || die "the guest sends no heartbeat"

host=node1
for ((i = 0; i <= RUNS; i++)); do   # run 0: warm-up, not in the tables
    for c in "${CFGS[@]}"; do
        other=$([ "$host" = node1 ] && echo node2 || echo node1)
        case $c in
        ferry-p2p|ferry-shared)
            where=$(migrate_once "$RAW" "$i" "$c" mig "$XML" "$host" "$other" 120000 HA_debug=1)
            ph=$(sed -n 's/.*migrate_to phases: //p' "$BENCH_WORK/$PART/migrate_to.err" | tail -n 1 | tr -d '()' |
                 sed 's/\([a-z_]*\)=/ph_\1=/g')
            sed -i "\$ s/\$/ ${ph:-ph_total=-}/" "$RAW"
            ;;
        *) where=$(floor_once "$i" "$c" "$host" "$other") ;;
        esac
        note "run $i $c $host -> $other: $(tail -n 1 "$RAW" | tr ' ' '\n' | grep -E '^(rc|to_wall_us|fl_migrate_ms|ph_connect|ph_migrate|ph_total|lv_elapsed_ms|lv_downtime_ms)=' | tr '\n' ' ')"
        case $where in node1|node2) host=$where ;; *) die "after run $i ($c) the guest runs on '$where'" ;; esac
    done
done
run_agent "$host" ferry stop p_mig 60000 OCF_RESKEY_config="$XML" OCF_RESKEY_force_stop=true || true
sed -i '/^kind=mig run=0 /d' "$RAW"
fi
RUNS=$(info runs "$RUNS") MEM=$(info mem "$MEM")

# ------------------------------------------------------------------ tables
c3() { cell "$(col "$RAW" "$2" kind=mig cfg="$1" rc=0 | awk '$1 >= 0' | mmm "${3:-1}" 0)"; }
m() { col "$RAW" "$2" kind=mig cfg="$1" rc=0 | mmm "${3:-1}" 0 | cut -d' ' -f2; }
total_key() { case $1 in ferry-*) echo to_wall_us 1000 ;; *) echo fl_migrate_ms 1 ;; esac; }
{
    echo "### 6. One migrate_to, phase by phase, and the floor"
    echo
    echo "The idle $MEM MiB bare-metal guest of part 3, moved $RUNS times per row between two lab hosts"
    echo "(rows alternating run by run, the direction alternating; one unmeasured warm-up round)."
    echo "ferry's migrate_to (\`HA_debug=1\`) logs where its time goes (\`migrate_to phases:\`, the agent's"
    echo "CLOCK_MONOTONIC marks and libvirt's completed-job figures); the floor is the same migration with"
    echo "nothing around it: \`bench/floor_migrate.c\` (the connection to the target already open; only the"
    echo "migrate call is timed), and \`virsh migrate --live\` (VirtualDomain's call, a process and a"
    echo "connection of its own) with and without an ssh ControlMaster already open to the target."
    echo
    echo "| row | migrate_to / migrate call ms | libvirt job ms | libvirt downtime ms | guest-visible outage ms | failed |"
    echo "|---|---|---|---|---|---:|"
    for c in "${CFGS[@]}"; do
        read -r k s <<<"$(total_key "$c")"
        printf '| %s | %s | %s | %s | %s | %s |\n' "$c" "$(c3 "$c" "$k" "$s")" "$(c3 "$c" lv_elapsed_ms)" \
            "$(c3 "$c" lv_downtime_ms)" "$(c3 "$c" gap_ms)" "$(col "$RAW" rc kind=mig cfg="$c" | grep -vcx 0 || true)"
    done
    echo
    echo "ferry's phases (ms, min / **median** / max):"
    echo
    echo "| phase | ferry-p2p | ferry-shared |"
    echo "|---|---|---|"
    for k in resolve connect probe open preflight states sync xml checks before tune watch migrate prepare setup copy downtime finish after total; do
        printf '| %s | %s | %s |\n' "$k" "$(c3 ferry-p2p "ph_$k")" "$(c3 ferry-shared "ph_$k")"
    done
    echo
    echo "- *connect*: the TCP probe of the target's ssh port and ferry's qemu+ssh connection; *preflight*: the"
    echo "  domain's state on the target, the definition check, the running XML, the target's memory and CPU;"
    echo "  *before*: the flight record, the watcher's connection (local) and thread; *migrate*: the call;"
    echo "  within it *prepare* = from the call until the watcher (polling every 20 ms) first sees QEMU copy"
    echo "  (libvirt's begin, the target's QEMU started; for p2p also libvirtd's own ssh connection),"
    echo "  *setup* = QEMU's stream set-up (libvirt's figure, inside prepare or copy), *copy* = libvirt's job"
    echo "  time less prepare and downtime, *downtime* = the switch-over, *finish* = the call outside libvirt's"
    echo "  job clock (confirm on the source, the answer); *after*: libvirt's figures read, the source checked."
    echo "- floor-managed / floor-p2p: fl_connect_ms (the untimed connection) median $(m floor-managed fl_connect_ms) /"
    echo "  $(m floor-p2p fl_connect_ms) ms."
    echo
} >"$OUT/section.md"
r_p2p=$(ratio "$(m ferry-p2p to_wall_us 1000)" "$(m floor-managed fl_migrate_ms)")
r_shared=$(ratio "$(m ferry-shared to_wall_us 1000)" "$(m floor-managed fl_migrate_ms)")
r_p2p_cm=$(ratio "$(m ferry-p2p to_wall_us 1000)" "$(m virsh-cm fl_migrate_ms)")
r_shared_cm=$(ratio "$(m ferry-shared to_wall_us 1000)" "$(m virsh-cm fl_migrate_ms)")
{
    echo "- **migrate_to vs the floor** (medians): ferry p2p $(m ferry-p2p to_wall_us 1000) ms, ferry shared $(m ferry-shared to_wall_us 1000) ms;"
    echo "  floor (one open connection, the call only) managed $(m floor-managed fl_migrate_ms) ms, p2p $(m floor-p2p fl_migrate_ms) ms;"
    echo "  virsh migrate $(m virsh fl_migrate_ms) ms, with an ssh ControlMaster $(m virsh-cm fl_migrate_ms) ms"
    echo "  (ferry shared / floor managed = $(ratio "$(m ferry-shared to_wall_us 1000)" "$(m floor-managed fl_migrate_ms)")×;"
    echo "  ferry p2p / floor p2p = $(ratio "$(m ferry-p2p to_wall_us 1000)" "$(m floor-p2p fl_migrate_ms)")×)."
    echo "  Goal (issue 12) ≤ 1.15× the floor: against the C client over an open connection (floor-managed) ferry p2p"
    echo "  ${r_p2p}× ($(goal "$r_p2p" le 1.15)), shared ${r_shared}× ($(goal "$r_shared" le 1.15)); against virsh with an ssh ControlMaster"
    echo "  p2p ${r_p2p_cm}× ($(goal "$r_p2p_cm" le 1.15)), shared ${r_shared_cm}× ($(goal "$r_shared_cm" le 1.15))."
} >"$OUT/headline.md"
{
    goalline "migrate_to (p2p, the default) is ${r_p2p}× the floor (floor-managed; goal ≤ 1.15×)" "$r_p2p" le 1.15
    goalline "migrate_to (migration_connection=shared) is ${r_shared}× the floor (floor-managed; goal ≤ 1.15×)" "$r_shared" le 1.15
} >"$OUT/losses.md"
note "done"
