#!/bin/bash
# test.sh — the whole test suite: installs what is missing, builds with
# warnings as errors, runs `make check` (unit tests, black-box tests of the
# agent, and the real-daemon lab tests), `make distcheck`, and the Debian
# package (package.sh: dpkg-buildpackage from a clean copy, then lintian).
set -uo pipefail
cd "$(dirname "$0")"

./bootstrap.sh || exit 1
rc=0
make -s check || rc=1
# the per-test summaries, then the plain closing line CI reads
passed=0 failed=0
for trs in $(find tests -name '*.trs' | sort); do
    case "$(sed -n 's/^:test-result: //p' "$trs" | head -n 1)" in
        PASS) passed=$((passed + 1)) ;;
        *) failed=$((failed + 1)); echo "failed: ${trs%.trs} (see ${trs%.trs}.log)" ;;
    esac
done
if [ "${FERRY_SKIP_DISTCHECK:-}" != 1 ]; then
    if make -s distcheck >distcheck.log 2>&1; then
        passed=$((passed + 1)); echo "distcheck: ok"
    else
        failed=$((failed + 1)); rc=1; echo "distcheck: FAILED (see distcheck.log)"; tail -n 30 distcheck.log
    fi
fi
# the package, as operators install it: built from a clean copy and
# lintian-clean (the tests it would run while building have just run above)
if [ "${FERRY_SKIP_PACKAGE:-}" != 1 ]; then
    if ./package.sh --nocheck >package.log 2>&1; then
        passed=$((passed + 1)); echo "package: ok"
    else
        failed=$((failed + 1)); rc=1; echo "package: FAILED (see package.log)"; tail -n 30 package.log
    fi
fi
echo "ferry: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && exit $rc
exit 1
