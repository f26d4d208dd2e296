#!/bin/bash
# test_valgrind.sh — memcheck over the Check suites (CK_FORK=no, so each runs
# in one process valgrind sees) and over the agent binary's daemon-free
# actions, including the early failures of every action (an uninitialised
# read after an early migrate_to failure got past the suite once). Any
# memcheck error, or a definite leak, fails the test. What libvirt and
# libxml2 themselves keep is suppressed in tests/valgrind/ferry.supp, each
# entry with its reason.
. "$(dirname "$0")/testlib.sh"

command -v valgrind >/dev/null || t_cannot_run "valgrind is missing (apt-get install valgrind; bootstrap.sh installs it)"
[ -x "$AGENT" ] || t_cannot_run "agent binary $AGENT is missing (run make first)"
SUPP=$top_srcdir/tests/valgrind/ferry.supp
tmp=$(mktemp -d)
# no metrics into the machine's node_exporter directory
export OCF_RESKEY_metrics_dir=
trap 'rm -rf "$tmp"' EXIT

# vg NAME CMD...: CMD under memcheck; passes if memcheck found nothing.
# (env runs the agent: memcheck follows the exec, not the shells of tests)
vg() {
    local name=$1 log=$tmp/$1.vg
    shift
    valgrind --quiet --trace-children=yes --trace-children-skip='*/sh,*/dash,*/bash,*/sleep,*/true,*/false,*/crm_resource,*/crm_attribute,*/cibadmin'  --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite --track-origins=yes --suppressions="$SUPP" \
        --log-file="$log" "$@" >"$tmp/$name.out" 2>&1
    local rc=$?
    if [ "$rc" = 99 ] || grep -q '^==[0-9]*== [A-Z]' "$log"; then
        t_fail "$name: memcheck found errors"
        grep -v '^==[0-9]*== *$' "$log" | head -n 40 | sed 's/^/     /'
    else
        t_pass "$name: clean under memcheck (rc $rc)"
    fi
}

# the Check suites, each in one process
for suite in ${FERRY_VALGRIND_SUITES:-check_error check_deadline check_log check_params check_proc \
        check_domxml check_ocf check_virt check_vm check_migrate check_import check_exec \
        check_state check_utilization check_metrics check_linkspeed check_cpuload}; do
    [ -x "$top_builddir/tests/$suite" ] || { t_fail "$suite is not built"; continue; }
    if [ "$suite" = check_error ]; then
        # its out_of_memory case interposes calloc, which memcheck replaces
        # with its own: every other case, one at a time (this Check has no
        # working CK_EXCLUDE_CASE)
        for case in $(sed -n 's/.*add_test(s, \([a-z_]*\),.*/\1/p' "$top_srcdir/tests/check_error.c"); do
            [ "$case" = test_out_of_memory ] && continue
            CK_FORK=no CK_RUN_CASE=$case vg "$suite-$case" "$top_builddir/tests/$suite"
        done
        continue
    fi
    CK_FORK=no CK_DEFAULT_TIMEOUT=600 vg "$suite" "$top_builddir/tests/$suite"
done

# the agent: every action's early failures, without a hypervisor or with
# libvirt's test driver
export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=p_vg HA_RSCTMP=$tmp/state HA_LOGFACILITY=none
cat >"$tmp/vm1.xml" <<XML
<domain type='test'><name>vm1</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>
XML
vg meta-data "$AGENT" meta-data
vg validate-all env OCF_RESKEY_config="$tmp/vm1.xml" "$AGENT" validate-all
vg validate-bad env OCF_RESKEY_config="$tmp/vm1.xml" OCF_RESKEY_migrate=sideways "$AGENT" validate-all
vg monitor-unreachable env OCF_RESKEY_name=vm1 OCF_RESKEY_hypervisor=test:///nonexistent/x.xml "$AGENT" monitor
vg stop-unreachable env OCF_RESKEY_name=vm1 OCF_RESKEY_hypervisor=test:///nonexistent/x.xml "$AGENT" stop
vg migrate_to-no-target env OCF_RESKEY_config="$tmp/vm1.xml" OCF_RESKEY_hypervisor=test:///default "$AGENT" migrate_to
vg migrate_to-not-running env OCF_RESKEY_config="$tmp/vm1.xml" OCF_RESKEY_hypervisor=test:///default \
    OCF_RESKEY_CRM_meta_migrate_target=node2 "$AGENT" migrate_to
vg migrate_from-absent env OCF_RESKEY_config="$tmp/vm1.xml" OCF_RESKEY_hypervisor=test:///default "$AGENT" migrate_from
vg probe-test-driver env OCF_RESKEY_config="$tmp/vm1.xml" OCF_RESKEY_hypervisor=test:///default "$AGENT" monitor
vg start-test-driver env OCF_RESKEY_config="$tmp/vm1.xml" OCF_RESKEY_hypervisor=test:///default "$AGENT" start
vg stop-test-driver env OCF_RESKEY_config="$tmp/vm1.xml" OCF_RESKEY_hypervisor=test:///default "$AGENT" stop

# ocf:ferry:health-cpu against the whole host, with a stand-in attrd_updater
HEALTH=$top_builddir/agents/health-cpu
mkdir -p "$tmp/bin" && printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/attrd_updater" && chmod +x "$tmp/bin/attrd_updater"
for action in meta-data validate-all start monitor monitor stop; do
    vg "health-cpu-$action" env PATH="$tmp/bin:$PATH" OCF_RESKEY_CRM_meta_interval=10000 "$HEALTH" "$action"
done
vg health-cpu-bad-params env OCF_RESKEY_red_percent=0 "$HEALTH" start

t_done
