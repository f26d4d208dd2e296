#!/bin/bash
# bench/migrate.sh [RUNS] — parts 3 and 4 of bench/run.sh alone (idle-guest migration, and
# convergence of a dirtying guest), RUNS migrations per figure (default 10); prints the report
# on stdout, keeps no files.  Needs root and a built agent.
set -euo pipefail
export BENCH_RUNS_MIG=${1:-10} BENCH_RUNS_CONV=${1:-10}
exec "$(dirname "$0")/run.sh" --only migrate,convergence --out -
