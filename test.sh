#!/bin/bash
# test.sh — the whole test suite: installs what is missing, builds with
# warnings as errors, runs `make check` (unit tests, black-box tests of the
# agent, and the real-daemon lab tests), `make distcheck`, the Debian
# package (package.sh: dpkg-buildpackage from a clean copy, then lintian),
# the unit and black-box tests again in an ASan+UBSan build, and the fuzz
# corpus replay.
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
# The same sources (make distdir) built with ASan and UBSan in a scratch
# directory (under /var/tmp: lab hosts see it, for FERRY_AGENT), the unit
# suites and the daemon-free black-box tests run there; any sanitizer report
# fails them. Then every harness in fuzz/ replays its corpus (clang).
if [ "${FERRY_SKIP_SANITIZERS:-}" != 1 ]; then
    san=$(mktemp -d /var/tmp/ferry-san.XXXXXX) && chmod 755 "$san"   # test_args runs it as nobody
    if { make -s distdir distdir=ferry-sanitizers && mv ferry-sanitizers "$san/ferry" &&
         (cd "$san/ferry" && ./configure --enable-sanitizers --enable-werror --disable-lab-tests &&
          make -j"$(nproc)" && make check); } >sanitizers.log 2>&1 &&
       ! grep -q -e 'ERROR: AddressSanitizer' -e 'ERROR: LeakSanitizer' -e 'runtime error:' \
           -r "$san/ferry/tests" --include='*.log'; then
        passed=$((passed + 1)); echo "sanitizers: ok"
        # the lab lifecycle test with the sanitizer-built agent (2-3 minutes;
        # root, like every lab test)
        if [ "$(id -u)" = 0 ] && [ "${FERRY_SKIP_LAB_SANITIZERS:-}" != 1 ]; then
            if FERRY_AGENT="$san/ferry/agents/vm" FERRY_LAB_PREFIX=/var/tmp/ferry-lab-sanitizers \
                   top_srcdir="$PWD" top_builddir="$PWD" tests/agent/test_lifecycle.sh \
                   >sanitizers-lifecycle.log 2>&1 &&
               ! grep -q -e 'ERROR: AddressSanitizer' -e 'ERROR: LeakSanitizer' -e 'runtime error:' \
                   sanitizers-lifecycle.log; then
                passed=$((passed + 1)); echo "sanitizers lifecycle: ok"
            else
                failed=$((failed + 1)); rc=1
                echo "sanitizers lifecycle: FAILED (see sanitizers-lifecycle.log)"; tail -n 20 sanitizers-lifecycle.log
            fi
        fi
    else
        failed=$((failed + 1)); rc=1; echo "sanitizers: FAILED (see sanitizers.log and $san/ferry/tests/*.log)"
        tail -n 30 sanitizers.log
        san=
    fi
    [ -n "$san" ] && rm -rf "$san"
    if make -s -C fuzz replay >fuzz-replay.log 2>&1; then
        passed=$((passed + 1)); echo "fuzz replay: ok"
    else
        failed=$((failed + 1)); rc=1; echo "fuzz replay: FAILED (see fuzz-replay.log)"; tail -n 30 fuzz-replay.log
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
