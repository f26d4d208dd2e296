#!/bin/bash
# campaign.sh — runs the chaos campaign on: for each seed, one run of
# tests/chaos/run.sh per agent (ferry, then VirtualDomain, same seed), one at a
# time, appending every run's raw data to DATA, then rewrites the report.
#
#   tests/chaos/campaign.sh [--data DIR] [--duration 10m] [--seeds "101 102 ..."]
#                           [--agents "ferry vd"] [--until HH:MM] [--vms 6] [--locks]
#                           [--faults KIND,KIND...] [--cycle]
#
# DATA (default tests/chaos/data) accumulates: runs.tsv (agent seed seconds ops
# faults violations locks; locks is 1 for a --locks run, absent in older lines),
# faults.tsv (one line per fault, see run.sh), violations.tsv (agent seed ms
# invariant text), checker.tsv (agent seed key value) and
# runs/AGENT-SEED/ (the run's own directory: events, samples, violation dumps;
# not committed). Seeds already in runs.tsv for an agent are skipped, so the
# same command continues a campaign. Stop it with Ctrl-C or SIGTERM to its process group
# (kill -TERM -- -PGID): the running run tears its lab down first. --until stops before starting a run that
# would end after HH:MM (UTC). --faults and --cycle are run.sh's; with --cycle each seed
# starts the round robin at a place of its own (the list rotated by 5 x seed), the same for
# both agents, so that short runs do not all favour the first kinds of the list and both
# agents get the same sequence. Then `tests/chaos/report.py DATA > REPORT.md`.
HERE=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$HERE/../.." && pwd)
DATA=$HERE/data DURATION=10m SEEDS="" AGENTS="ferry vd" UNTIL="" VMS=6 LOCKS=() ONLY="" CYCLE=0
while [ $# -gt 0 ]; do
    case $1 in
    --data) DATA=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --seeds) SEEDS=$2; shift 2 ;;
    --agents) AGENTS=$2; shift 2 ;;
    --until) UNTIL=$2; shift 2 ;;
    --vms) VMS=$2; shift 2 ;;
    --locks) LOCKS=(--locks); shift ;;   # run.sh --locks: lockd and leases, both agents
    --faults) ONLY=$2; shift 2 ;;
    --cycle) CYCLE=1; shift ;;
    *) sed -n '2,/^HERE=/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
    esac
done
SEEDS=${SEEDS:-$(seq 101 199)}
mkdir -p "$DATA/runs"
case $DURATION in *m) dur_s=$(( ${DURATION%m} * 60 )) ;; *s) dur_s=${DURATION%s} ;; *) dur_s=$DURATION ;; esac
# a run costs its duration plus set-up, the last settle and the teardown (~6 min under load)
if [ -n "$UNTIL" ]; then stop_at=$(date -u -d "$UNTIL" +%s); fi
# the scripts are copied first: editing the tree while a run reads it must not change the run
snap=$(mktemp -d /var/tmp/ferry-chaos-snap.XXXXXX)
trap 'rm -rf "$snap"' EXIT
# Ctrl-C / SIGTERM to the process group: run.sh tears its lab down and exits 130; this
# shell waits for that (a trapped signal waits for the foreground child), then stops
STOP=0
trap 'STOP=1' INT TERM
cp -a "$HERE" "$snap/chaos"
for seed in $SEEDS; do
    for a in $AGENTS; do
        grep -q "^$a	$seed	" "$DATA/runs.tsv" 2>/dev/null && continue
        if [ -n "$UNTIL" ] && [ $(( $(date +%s) + dur_s + 360 )) -gt "$stop_at" ]; then
            echo "campaign: stopping before $UNTIL"; exit 0
        fi
        out=$DATA/runs/$a-$seed
        fault_args=()
        if [ "$CYCLE" = 1 ]; then
            # without --faults: every kind, as run.sh lists them
            read -r -a kinds <<<"${ONLY:-$(sed -n 's/^ALL_FAULTS="\(.*\)"$/\1/p' "$snap/chaos/run.sh")}"
            kinds=(${kinds[@]//,/ })
            k=$(( seed * 5 % ${#kinds[@]} ))
            rotated=("${kinds[@]:k}" "${kinds[@]:0:k}")
            fault_args=(--faults "$(IFS=,; echo "${rotated[*]}")" --cycle)
        elif [ -n "$ONLY" ]; then
            fault_args=(--faults "$ONLY")
        fi
        rm -rf "$out"
        top_srcdir=$top top_builddir=$top FERRY_LAB_PREFIX=${FERRY_LAB_PREFIX:-/var/tmp/ferry-lab-chaos} \
            "$snap/chaos/run.sh" --agent "$a" --seed "$seed" --duration "$DURATION" --vms "$VMS" "${LOCKS[@]}" "${fault_args[@]}" --out "$out"
        rc=$?
        { [ "$rc" = 130 ] || [ "$STOP" = 1 ]; } && { echo "campaign: interrupted"; exit 130; }
        [ -s "$out/summary.tsv" ] || { echo "campaign: $a seed $seed left no summary (rc $rc)"; continue; }
        cat "$out/summary.tsv" >>"$DATA/runs.tsv"
        cat "$out/faults.tsv" >>"$DATA/faults.tsv"
        awk -v a="$a" -v s="$seed" -F'\t' '{ print a "\t" s "\t" $0 }' "$out/violations.tsv" >>"$DATA/violations.tsv"
        awk -v a="$a" -v s="$seed" -F= '{ print a "\t" s "\t" $1 "\t" $2 }' "$out/checker.txt" >>"$DATA/checker.tsv"
    done
done
