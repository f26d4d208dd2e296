# testlib.sh — sourced by the black-box tests of the agent binary.
#
# Each test script runs checks with `t_expect_rc` / `t_ok`, and ends with
# `t_done`, which prints "<script>: N passed, M failed" and sets the exit
# status (0 all passed, 1 a check failed, 99 the test could not run).
# A test that cannot run here says why and fails: nothing is skipped silently.

T_PASSED=0
T_FAILED=0
T_NAME=$(basename "$0" .sh)

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
AGENT=${FERRY_AGENT:-$top_builddir/agents/vm}
RA_API_DTD_DIR=${RA_API_DTD_DIR:-/usr/share/resource-agents}

t_log() { printf '%s\n' "$*"; }

# t_cannot_run REASON: the test cannot run on this machine; that is a failure.
t_cannot_run() {
    printf '%s: CANNOT RUN: %s\n' "$T_NAME" "$*"
    printf '%s: 0 passed, 1 failed\n' "$T_NAME"
    exit 99
}

t_pass() { T_PASSED=$((T_PASSED + 1)); printf 'ok   %s\n' "$*"; }
t_fail() { T_FAILED=$((T_FAILED + 1)); printf 'FAIL %s\n' "$*"; }

# t_run CMD...: runs CMD, keeping its rc in T_RC, stdout in T_OUT, stderr in T_ERR.
t_run() {
    local out err
    out=$(mktemp) err=$(mktemp)
    "$@" >"$out" 2>"$err"
    T_RC=$?
    T_OUT=$(cat "$out")
    T_ERR=$(cat "$err")
    rm -f "$out" "$err"
}

# t_expect_rc DESC RC CMD...: CMD must exit with RC (one of "RC1|RC2").
t_expect_rc() {
    local desc=$1 want=$2
    shift 2
    t_run "$@"
    case "|$want|" in
    *"|$T_RC|"*) t_pass "$desc (rc $T_RC)" ;;
    *) t_fail "$desc: rc $T_RC, expected $want"
       [ -n "$T_ERR" ] && printf '     stderr: %s\n' "$(printf '%s' "$T_ERR" | tail -n 5)"
       ;;
    esac
}

# t_reason_has TEXT: the last ocf-exit-reason line of the last t_run contains TEXT.
t_reason_has() {
    local reason
    reason=$(printf '%s\n' "$T_ERR" | grep '^ocf-exit-reason:' | tail -n 1)
    case "$reason" in
    *"$1"*) t_pass "exit reason mentions '$1'" ;;
    *) t_fail "exit reason '${reason:-<none>}' lacks '$1'" ;;
    esac
}

# t_ok DESC CMD...: CMD must succeed.
t_ok() {
    local desc=$1
    shift
    if "$@"; then t_pass "$desc"; else t_fail "$desc"; fi
}

t_done() {
    printf '%s: %d passed, %d failed\n' "$T_NAME" "$T_PASSED" "$T_FAILED"
    [ "$T_FAILED" -eq 0 ]
    exit $?
}
