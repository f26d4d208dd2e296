#!/bin/bash
# bench/monitor.sh [RUNS] — part 1 of bench/run.sh alone (action cost: monitor, meta-data,
# validate-all, start, stop; ferry, VirtualDomain, the floor), RUNS runs per figure (default 30);
# prints the report on stdout, keeps no files.  Needs root and a built agent.
set -euo pipefail
BENCH_RUNS_LAT=${1:-30} exec "$(dirname "$0")/run.sh" --only actions --out -
