#!/bin/bash
# test_import.sh — ferry-import's output is accepted by Pacemaker's own tools:
# the crmsh form loads into an (offline) CIB with crmsh, the XML form with
# cibadmin, and both CIBs validate against Pacemaker's schema. Bad input: exit
# 1, a message naming the line, nothing written.
. "$(dirname "$0")/testlib.sh"

IMPORT=$top_builddir/tools/ferry-import
CONF=$top_srcdir/tests/import/cluster.conf
[ -x "$IMPORT" ] || t_cannot_run "$IMPORT is missing (run make first)"
for b in cibadmin crm_verify crm; do
    command -v "$b" >/dev/null || t_cannot_run "$b is missing (./bootstrap.sh --deps installs pacemaker-cli-utils and crmsh)"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME=$tmp        # crmsh writes its cache and history under $HOME

empty_cib() {   # an offline CIB with the three nodes of the fixture, fencing off
    cibadmin --empty >"$1"
    CIB_file=$1 cibadmin -C -o nodes -X '<node id="1" uname="node1"/>' &&
    CIB_file=$1 cibadmin -C -o nodes -X '<node id="2" uname="node2"/>' &&
    CIB_file=$1 cibadmin -C -o nodes -X '<node id="3" uname="node3"/>' &&
    CIB_file=$1 crm_attribute -t crm_config -n stonith-enabled -v false >/dev/null
}

t_expect_rc "ferry-import --format=crm" 0 "$IMPORT" --format=crm --output "$tmp/vms.crm" "$CONF"
t_expect_rc "ferry-import --format=xml" 0 "$IMPORT" --format=xml --output "$tmp/vms.xml" "$CONF"
empty_cib "$tmp/cib1.xml"
# -F: crmsh cannot read ocf:ferry:vm's meta-data when the agent is not installed
t_expect_rc "crmsh loads the crm form" 0 env CIB_file="$tmp/cib1.xml" crm -F configure load update "$tmp/vms.crm"
t_expect_rc "the result validates" 0 env CIB_file="$tmp/cib1.xml" crm_verify -x "$tmp/cib1.xml"
t_ok "four ferry VMs in it" sh -c "grep -c 'type=\"vm\"' '$tmp/cib1.xml' | grep -qx 4"
empty_cib "$tmp/cib2.xml"
t_expect_rc "cibadmin takes the XML form" 0 env CIB_file="$tmp/cib2.xml" cibadmin -M -c -o configuration -x "$tmp/vms.xml"
t_expect_rc "the result validates" 0 env CIB_file="$tmp/cib2.xml" crm_verify -x "$tmp/cib2.xml"

echo keep >"$tmp/out.crm"
t_expect_rc "bad input: exit 1" 1 "$IMPORT" --output "$tmp/out.crm" "$top_srcdir/tests/import/bad-duplicate.conf"
case "$T_ERR" in *"bad-duplicate.conf:"[0-9]*) t_pass "the message names the line" ;; *) t_fail "no line in: $T_ERR" ;; esac
t_ok "nothing was written over the output" grep -qx keep "$tmp/out.crm"
t_expect_rc "usage" 2 "$IMPORT" --format=yaml "$CONF"
t_done
