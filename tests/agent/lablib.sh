# lablib.sh — sourced by the tests that run the agent inside lab hosts.
#
# lab_setup N brings up N lab hosts (tests/lab/lab.sh) in a state directory of
# this test's own, builds the test guests (tests/guests/build.sh) and copies
# them to the lab's shared storage; the EXIT trap brings it all down again and
# fails the test if anything was left behind.
. "$(dirname "$0")/testlib.sh"

LAB=$top_srcdir/tests/lab/lab.sh
GUESTS=$top_srcdir/tests/guests
GUESTS_OUT=${FERRY_GUESTS_OUT:-$top_builddir/tests/guests/out}
LAB_UP=no

lab_require() {
    [ "$(id -u)" = 0 ] || t_cannot_run "the lab needs root (namespaces, libvirtd, sshd)"
    [ -x "$AGENT" ] || t_cannot_run "agent binary $AGENT is missing (run make first)"
    local b
    for b in libvirtd virsh qemu-system-x86_64 sshd nsenter unshare ip; do
        command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] ||
            t_cannot_run "$b is missing (./bootstrap.sh --deps installs it)"
    done
}

lab_teardown() {
    local out
    [ "$LAB_UP" = yes ] || return 0
    LAB_UP=no
    out=$("$LAB" down 2>&1)
    case "$out" in
    *"down: clean"*) t_pass "lab down: clean" ;;
    *) t_fail "lab down left something behind: $(printf '%s' "$out" | tail -n 5)" ;;
    esac
}

lab_exit() {
    lab_teardown
    printf '%s: %d passed, %d failed\n' "$T_NAME" "$T_PASSED" "$T_FAILED"
    [ "$T_FAILED" -eq 0 ] && exit 0
    exit 1
}

# lab_setup N: N hosts, guests built and on shared storage.
lab_setup() {
    local n=$1 out
    lab_require
    # FERRY_LAB_PREFIX keeps two checkouts' labs apart (each its own state dir and namespaces)
    export FERRY_LAB_DIR=${FERRY_LAB_PREFIX:-/var/tmp/ferry-lab}-$T_NAME
    out=$("$GUESTS/build.sh" "$GUESTS_OUT" 2>&1) ||
        t_cannot_run "building the test guests failed: $(printf '%s' "$out" | tail -n 5)"
    if [ -e "$FERRY_LAB_DIR" ]; then
        "$LAB" down >/dev/null 2>&1 || true
    fi
    trap lab_exit EXIT
    LAB_UP=yes
    out=$("$LAB" up "$n" --ticks "$GUESTS_OUT/ferry-ticks" 2>&1) ||
        t_cannot_run "lab up $n failed: $(printf '%s' "$out" | tail -n 8)"
    eval "$("$LAB" env)"
    on node1 test -x "$AGENT" ||
        t_cannot_run "the agent $AGENT is not visible inside the lab hosts (/tmp and /run are private there: build outside them)"
    mkdir -p "$FERRY_LAB_SHARED/artifacts"
    cp "$GUESTS_OUT"/ferry-bm.elf "$GUESTS_OUT"/vmlinuz "$GUESTS_OUT"/initrd.img \
        "$FERRY_LAB_SHARED/artifacts/"
    TICKS_LOG=$FERRY_LAB_DIR/ticks.log
    t_log "lab: $n host(s) up in $FERRY_LAB_DIR"
}

# guest_xml NAME [mkdomain options...]: writes $FERRY_LAB_SHARED/NAME.xml, prints its path.
guest_xml() {
    local name=$1
    shift
    "$GUESTS/mkdomain.sh" --name "$name" --artifacts "$FERRY_LAB_SHARED/artifacts" \
        --collector "$FERRY_LAB_COLLECTOR" "$@" >"$FERRY_LAB_SHARED/$name.xml"
    printf '%s\n' "$FERRY_LAB_SHARED/$name.xml"
}

# on HOST CMD...: runs CMD inside a lab host.
on() {
    local host=$1
    shift
    "$LAB" exec "$host" "$@"
}

# agent HOST ACTION [VAR=value...]: the agent as Pacemaker's execd runs it
# (OCF environment of Pacemaker 2.1.5; a probe is a monitor without interval).
agent() {
    local host=$1 action=$2
    shift 2
    "$LAB" exec "$host" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
        OCF_ROOT=/usr/lib/ocf OCF_RA_VERSION_MAJOR=1 OCF_RA_VERSION_MINOR=1 \
        OCF_RESOURCE_INSTANCE=${RSC:-p_vm} OCF_RESOURCE_TYPE=vm OCF_RESOURCE_PROVIDER=ferry \
        OCF_EXIT_REASON_PREFIX=ocf-exit-reason: OCF_RESKEY_crm_feature_set=3.16.1 \
        OCF_RESKEY_CRM_meta_timeout=${TIMEOUT_MS:-20000} OCF_RESKEY_CRM_meta_on_node="$host" \
        HA_debug=${HA_DEBUG:-0} HA_LOGFACILITY=none \
        "$@" "$AGENT" "$action"
}

# migrate_to SRC DST CONFIG [VAR=value...]: migrate_to on SRC, as Pacemaker calls it;
# migrate_from SRC DST CONFIG [VAR=value...]: migrate_from on DST
migrate_to() {
    local src=$1 dst=$2 cfg=$3
    shift 3
    agent "$src" migrate_to OCF_RESKEY_config="$cfg" OCF_RESKEY_CRM_meta_migrate_source="$src" \
        OCF_RESKEY_CRM_meta_migrate_target="$dst" OCF_RESKEY_CRM_meta_record_pending=true "$@"
}
migrate_from() {
    local src=$1 dst=$2 cfg=$3
    shift 3
    agent "$dst" migrate_from OCF_RESKEY_config="$cfg" OCF_RESKEY_CRM_meta_migrate_source="$src" \
        OCF_RESKEY_CRM_meta_migrate_target="$dst" "$@"
}

# ticks_wait ID COUNT TIMEOUT_MS [SINCE_MS]: COUNT heartbeats from guest ID arrive.
ticks_wait() {
    "$GUESTS_OUT/ferry-ticks" wait "$TICKS_LOG" "$1" --count "$2" --timeout-ms "$3" \
        ${4:+--since "$4"} >/dev/null
}

# ticks_report ID [SINCE_MS]: key=value lines about guest ID's heartbeats.
ticks_report() {
    "$GUESTS_OUT/ferry-ticks" report "$TICKS_LOG" "$1" ${2:+--since "$2"}
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
