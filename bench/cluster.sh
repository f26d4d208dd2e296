#!/bin/bash
# bench/cluster.sh [RUNS] — part 5 of bench/run.sh alone (evacuation of 4 VMs by crm node standby
# on a lab cluster, migration-limit 1 and 2, ferry and VirtualDomain), RUNS runs per figure
# (default 10); prints the report on stdout, keeps no files.  Needs root and a built agent.
set -euo pipefail
BENCH_RUNS_EVAC=${1:-5} exec "$(dirname "$0")/run.sh" --only evacuate --out -
