#!/bin/bash
# bench/part_convergence.sh — part 4 of bench/run.sh: a guest that dirties
# memory at about 0.25 B, 0.5 B and 1.5 B, where B is the migration bandwidth,
# capped for both agents at BENCH_CONV_CAP MiB/s (migration_speed) so the
# guest's workload can outrun it.  Every ferry migration_policy (abort, pause,
# auto-converge, postcopy) and VirtualDomain, alternating; migrate_to has an
# operation timeout of BENCH_CONV_TIMEOUT s for both (VirtualDomain is killed
# then, as pacemaker-execd would).  Outcome, total time, libvirt's downtime and
# the guest-visible outage; two plots against the dirty rate.
set -euo pipefail
PART=convergence
. "$(dirname "$0")/lib.sh"
RUNS=${BENCH_RUNS_CONV:-10}
RUNS_NC=${BENCH_RUNS_CONV_NC:-3}
CAP=${BENCH_CONV_CAP:-32}
TMO=${BENCH_CONV_TIMEOUT:-120}
MEM=256
WS=${BENCH_CONV_WS:-64}
[ "$WS" -le $((256 - 6)) ] || die "BENCH_CONV_WS=$WS does not fit the 256 MiB guest"
OUT=$BENCH_WORK/$PART
mkdir -p "$OUT"
RAW=$OUT/raw.txt
read -r -a FACTORS <<<"${BENCH_CONV_FACTORS:-0.25 0.5 1.5}"
CFGS=(ferry-abort ferry-pausepol ferry-autoconv ferry-postcopy vd)
raw_begin runs="$RUNS" runs_nc="$RUNS_NC" cap="$CAP" timeout="$TMO" mem="$MEM" ws="$WS" \
    factors="$(IFS=,; echo "${FACTORS[*]}")"

if [ "$REPORT_ONLY" != 1 ]; then
lab_start 2 --ticks
XML=$FERRY_LAB_SHARED/conv.xml
host=node1
for f in "${FACTORS[@]}"; do
    rate=$(awk -v f="$f" -v b="$CAP" 'BEGIN { printf "%d", f * b + 0.5 }')
    runs=$RUNS
    awk -v f="$f" 'BEGIN { exit !(f > 1) }' && runs=$RUNS_NC
    note "dirty rate $rate MiB/s = $f x $CAP MiB/s: $runs runs x ${#CFGS[@]} configurations"
    if [ "$(where_is conv)" != - ]; then virsh_on "$(where_is conv)" destroy conv >/dev/null 2>&1 || true; fi
    bm_xml conv "$MEM" "$WS" "$rate" >"$XML"
    t0=$(now_ms)
    run_agent node1 ferry start p_conv 60000 OCF_RESKEY_config="$XML" || die "ferry start failed"
    host=node1
    ticks_wait conv 50 60000 "$t0" || die "the guest sends no heartbeat"
    # let the workload write its whole working set once
    sleep "$(awk -v w="$WS" -v r="$rate" 'BEGIN { printf "%d", w / r + 2 }')"
    for ((i = 1; i <= runs; i++)); do
        for c in "${CFGS[@]}"; do
            other=$([ "$host" = node1 ] && echo node2 || echo node1)
            where=$(migrate_once "$RAW" "$i" "$c" conv "$XML" "$host" "$other" $((TMO * 1000)) \
                OCF_RESKEY_migration_speed="$CAP")
            sed -i '$ s/^kind=mig /kind=mig factor='"$f"' rate='"$rate"' /' "$RAW"
            note "$f B run $i $c $host -> $other: $(tail -n 1 "$RAW" | tr ' ' '\n' | grep -E '^(rc|to_wall_us|to_timeout|gap_ms|lv_downtime_ms|f_outcome|fixed)=' | tr '\n' ' ')"
            case $where in node1|node2) host=$where ;; *) die "after $c the guest runs on '$where'" ;; esac
        done
    done
done
virsh_on "$host" destroy conv >/dev/null 2>&1 || true
fi
RUNS=$(info runs "$RUNS") RUNS_NC=$(info runs_nc "$RUNS_NC") CAP=$(info cap "$CAP") TMO=$(info timeout "$TMO")
MEM=$(info mem "$MEM") WS=$(info ws "$WS")
IFS=, read -r -a FACTORS <<<"$(info factors "$(IFS=,; echo "${FACTORS[*]}")")"

# ------------------------------------------------------------------ tables
outcome() {   # the outcome words of one raw line
    awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        if (v["to_timeout"] == 1) o = "killed-at-timeout"
        else if (v["f_outcome"] != "") o = v["f_outcome"]
        else if (v["rc"] == 0) o = "completed"
        else o = "failed"
        print o }'
}
outcomes() {   # FACTOR CFG: "completed 3, aborted 2"
    { grep "kind=mig factor=$1 .*cfg=$2 " "$RAW" || true; } | outcome | sort | uniq -c | awk '{ printf "%s%s ×%d", (NR > 1 ? ", " : ""), $2, $1 }'
}
okcol() { col "$RAW" "$1" kind=mig factor="$2" cfg="$3" rc=0; }
nc_ferry() {   # "A-B": range of ferry's median migrate_to seconds above B
    local f c
    for f in "${FACTORS[@]}"; do
        awk -v f="$f" 'BEGIN { exit !(f > 1) }' || continue
        for c in "${CFGS[@]}"; do
            [ "$c" = vd ] || col "$RAW" to_wall_us kind=mig factor="$f" cfg="$c" | mmm 1000000 0 | cut -d' ' -f2
        done
    done | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { print (a == b ? a : a "–" b) }'
}
nc_round() {   # seconds one round of all configurations takes at the rates above B (medians)
    local f c s=0
    for f in "${FACTORS[@]}"; do
        awk -v f="$f" 'BEGIN { exit !(f > 1) }' || continue
        for c in "${CFGS[@]}"; do
            s=$(awk -v s="$s" -v m="$(col "$RAW" to_wall_us kind=mig factor="$f" cfg="$c" | mmm 1000000 1 | cut -d' ' -f2)" \
                'BEGIN { print s + (m == "-" ? 0 : m) }')
        done
    done
    echo "$s"
}
{
    echo "### 4. Convergence: a guest dirtying memory"
    echo
    echo "The bare-metal test guest, $MEM MiB, rewriting a $WS MiB working set (one non-zero word per 4 KiB"
    echo "page, so every page must be resent) at a set rate. The migration bandwidth is capped at"
    echo "**B = $CAP MiB/s for both agents** (\`migration_speed=$CAP\`: ferry puts it into the migrate call,"
    echo "VirtualDomain runs \`virsh migrate-setspeed\`), because the uncapped link (part 3) is faster than"
    echo "this guest can dirty memory on a shared 2-core machine. Dirty rates: $(for f in "${FACTORS[@]}"; do printf '%s B = %s MiB/s, ' "$f" "$(awk -v f="$f" -v b="$CAP" 'BEGIN { printf "%d", f * b + 0.5 }')"; done | sed 's/, $//')."
    echo "QEMU's default maximum downtime (300 ms) for both; after a switch to post-copy QEMU sends at full"
    echo "speed (its post-copy bandwidth is not capped). migrate_to has a **$TMO s** operation timeout for"
    echo "both: ferry is told (\`CRM_meta_timeout\`) and applies its policy before it (its defaults:"
    echo "\`migration_stall_timeout=30s\`, \`migration_timeout_per_gib=64s\`, and a reserve of 20 % of the"
    echo "timeout, at least 5 s); VirtualDomain is killed with its process group at the timeout, as"
    echo "pacemaker-execd does. Under Pacemaker a failed or timed-out migrate_to means the guest is stopped"
    echo "on both nodes and started again on one: a full restart. Here the bench cleans up instead"
    echo "(aborts a job left running, removes a half-arrived copy) and goes on; the last column says"
    echo "what that took. **Runs per cell: $RUNS below B, $RUNS_NC above B.** Above B a run that does not"
    echo "converge lasts until a policy or the timeout acts ($(nc_ferry) s for ferry, the whole $TMO s for"
    echo "VirtualDomain), so each further round of the five costs $(awk -v v="$(nc_round)" 'BEGIN { printf "%.1f", v / 60 }') min: ten runs per cell there would"
    echo "have taken the full run past the hour it must stay within; the outcome was the same in every run"
    echo "(outcomes column). The five configurations alternate; the direction alternates after every"
    echo "completed migration. Change the counts with BENCH_RUNS_CONV and BENCH_RUNS_CONV_NC."
    echo
    echo "| dirty rate | agent | outcomes | migrate_to s (all runs) | libvirt downtime ms (completed) | pause ms (ferry) | guest-visible outage ms (all runs) | dirty rate QEMU saw, MiB/s | bench had to clean up |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for f in "${FACTORS[@]}"; do
        for c in "${CFGS[@]}"; do
            pause=$(col "$RAW" f_pause_ms kind=mig factor="$f" cfg="$c" | awk '$1 >= 0' | mmm 1 0)
            dr=$(col "$RAW" f_dirty_rate_bps kind=mig factor="$f" cfg="$c" | awk '$1 > 0' | mmm 1048576 1)
            fx=$(grep "kind=mig factor=$f .*cfg=$c " "$RAW" | tr ' ' '\n' | sed -n 's/^fixed=//p' | { grep -vx -- - || true; } |
                sort | uniq -c | awk '{ printf "%s%s ×%d", (NR > 1 ? ", " : ""), $2, $1 }')
            printf '| %s B | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$f" "$(cfg_label "$c")" "$(outcomes "$f" "$c")" \
                "$(cell "$(col "$RAW" to_wall_us kind=mig factor="$f" cfg="$c" | mmm 1000000 1)")" \
                "$(cell "$(okcol lv_downtime_ms "$f" "$c" | mmm 1 0)")" "$(cell "$pause")" \
                "$(cell "$(col "$RAW" gap_ms kind=mig factor="$f" cfg="$c" | mmm 1 0)")" "$(cell "$dr")" "${fx:-–}"
        done
    done
    echo
    echo "Outcomes: *completed* (live), *completed-paused* (ferry paused the guest to finish),"
    echo "*completed-postcopy* (ferry switched to post-copy), *aborted* (ferry gave up, the guest runs on"
    echo "the source), *killed-at-timeout* (the agent was still waiting when the operation timed out)."
    echo "The guest-visible outage of an aborted or killed migration is the guest's hiccup on the source;"
    echo "the restart Pacemaker would then do is not in it. *bench had to clean up*: after a failed or"
    echo "killed migrate_to, what the bench found and undid so the next run starts clean (*jobabort*: the"
    echo "migration was still running in libvirtd after the agent was killed; *destroy-nodeN*: a"
    echo "half-arrived copy on the target). *dirty rate QEMU saw*: ferry's statistics line (VirtualDomain"
    echo "reports none; \"–\" also when QEMU finished before measuring one); QEMU counts a page once per"
    echo "pass over memory, so this cannot exceed the working set divided by the pass time, about B."
    echo
    echo "![downtime against dirty rate](convergence-downtime.png)"
    echo "![total time against dirty rate](convergence-total.png)"
    echo
} >"$OUT/section.md"

# plots: one data file per configuration, x = factor (shifted a little per series), median, min, max
k=0
for c in "${CFGS[@]}"; do
    for f in "${FACTORS[@]}"; do
        x=$(awk -v f="$f" -v k="$k" 'BEGIN { printf "%.3f", f * (1 + (k - 2) * 0.03) }')
        g=$(col "$RAW" gap_ms kind=mig factor="$f" cfg="$c" rc=0 | mmm 1 0)
        t=$(col "$RAW" to_wall_us kind=mig factor="$f" cfg="$c" | mmm 1000000 2)
        [ "$(cut -d' ' -f4 <<<"$g")" = 0 ] || echo "$x $(cut -d' ' -f2 <<<"$g") $(cut -d' ' -f1 <<<"$g") $(cut -d' ' -f3 <<<"$g")" >>"$OUT/plot-gap-$c.dat"
        [ "$(cut -d' ' -f4 <<<"$t")" = 0 ] || echo "$x $(cut -d' ' -f2 <<<"$t") $(cut -d' ' -f1 <<<"$t") $(cut -d' ' -f3 <<<"$t")" >>"$OUT/plot-total-$c.dat"
    done
    k=$((k + 1))
done
plot() {   # METRIC YLABEL TITLE PNG LOGSCALE
    local m=$1 s="" c first=1
    for c in "${CFGS[@]}"; do
        [ -s "$OUT/plot-$m-$c.dat" ] || continue
        [ "$first" = 1 ] || s+=", "
        first=0
        s+="'$OUT/plot-$m-$c.dat' using 1:2:3:4 with yerrorlines title '$(cfg_label "$c")'"
    done
    [ -n "$s" ] || return 0
    gnuplot <<GP
set terminal pngcairo size 900,560 font ",10" noenhanced
set output '$OUT/$4'
set title "$3"
set xlabel "dirty rate / migration bandwidth B (B = $CAP MiB/s)"
set ylabel "$2"
set logscale x
set xtics ("0.25 B" 0.25, "0.5 B" 0.5, "1.5 B" 1.5)
set xrange [0.2:1.9]
$5
set key outside right
set grid
set pointsize 1.2
plot $s
GP
}
plot gap "guest-visible outage, ms (median, min-max)" \
    "Downtime: longest heartbeat gap of completed migrations" convergence-downtime.png "set logscale y"
plot total "migrate_to wall time, s (median, min-max)" \
    "Total time of migrate_to, all runs (aborted and killed ones too; timeout $TMO s)" convergence-total.png ""
rm -f "$OUT"/plot-*.dat

hf=${FACTORS[-1]}
nc() {   # CFG: "outcome (most frequent) after T s, outage G ms"
    local o t g
    o=$({ grep "kind=mig factor=$hf .*cfg=$1 " "$RAW" || true; } | outcome | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
    t=$(col "$RAW" to_wall_us kind=mig factor="$hf" cfg="$1" | mmm 1000000 0 | cut -d' ' -f2)
    g=$(col "$RAW" gap_ms kind=mig factor="$hf" cfg="$1" | mmm 1 0 | cut -d' ' -f2)
    echo "$o after $t s (outage $g ms)"
}
{
    echo "- **convergence**, guest dirtying ${hf}× the $CAP MiB/s migration bandwidth (most frequent outcome, medians):"
    echo "  ferry policy=pause (its default) → $(nc ferry-pausepol); auto-converge → $(nc ferry-autoconv);"
    echo "  postcopy → $(nc ferry-postcopy); abort → $(nc ferry-abort); VirtualDomain → $(nc vd)."
} >"$OUT/headline.md"
{
    for f in "${FACTORS[@]}"; do
        for c in ferry-abort ferry-pausepol ferry-autoconv ferry-postcopy; do
            lossline "$f B, $(cfg_label "$c"), migrate_to (completed runs)" s \
                "$(okcol to_wall_us "$f" "$c" | mmm 1000000 1)" "$(okcol to_wall_us "$f" vd | mmm 1000000 1)"
            lossline "$f B, $(cfg_label "$c"), guest-visible outage (completed runs)" ms \
                "$(okcol gap_ms "$f" "$c" | mmm 1 0)" "$(okcol gap_ms "$f" vd | mmm 1 0)"
        done
    done
} >"$OUT/losses.md"
note "done"
