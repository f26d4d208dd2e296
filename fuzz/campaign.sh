#!/bin/bash
# campaign.sh [SECONDS] [HARNESS...] — fuzzes each harness in turn (one at a
# time, nice 19) for SECONDS (default 1800), logging to build/campaign-H.log;
# the last lines of each log carry the figures fuzz/README records.
set -u
cd "$(dirname "$0")"
t=${1:-1800}
shift || true
for one in ${@:-import params domxml state watch}; do make -s "build/fuzz_$one" || exit 1; done
for h in "${@:-import params domxml state watch}"; do
    for one in $h; do
        make -s run H="$one" T="$t" >"build/campaign-$one.log" 2>&1
        echo "$one: rc $? $(grep -a 'pulse\|DONE\|NEW\|REDUCE' "build/campaign-$one.log" | tail -n 1)"
        grep -a '^stat::' "build/campaign-$one.log"
    done
done
