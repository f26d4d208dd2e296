#!/bin/bash
# test_ocf_tester.sh — resource-agents' ocf-tester against the installed agent
# ($(ocfdir)/resource.d/ferry/vm, installed with DESTDIR into the lab's state
# directory) and a real guest, inside a lab host.
. "$(dirname "$0")/lablib.sh"

command -v ocf-tester >/dev/null || t_cannot_run "ocf-tester is missing (apt-get install resource-agents)"
lab_setup 1
H=node1
dest=$FERRY_LAB_DIR/install
make -s -C "$top_builddir" install DESTDIR="$dest" >/dev/null 2>&1 ||
    t_cannot_run "make install DESTDIR=$dest failed"
ocfdir=$(sed -n 's/^ocfdir = //p' "$top_builddir/agents/Makefile")
installed=$dest$ocfdir/resource.d/ferry/vm
t_ok "make install put the agent at \$(ocfdir)/resource.d/ferry/vm" test -x "$installed"
t_ok "the man page is installed" sh -c "ls '$dest'/*/share/man/man7/ocf_ferry_vm.7 >/dev/null 2>&1 || ls '$dest'/usr/local/share/man/man7/ocf_ferry_vm.7 >/dev/null 2>&1"
chmod 755 "$dest" "$FERRY_LAB_DIR"   # ocf-tester runs meta-data as nobody

xml=$(guest_xml vmt --os bm)
t_run on $H env HA_LOGFACILITY=none ocf-tester -v -n p_vmt -o config="$xml" -o name=vmt "$installed"
printf '%s\n' "$T_OUT" | sed 's/^/     | /' | tail -n 40
if [ "$T_RC" = 0 ] && printf '%s' "$T_OUT" | grep -q "passed all tests"; then
    t_pass "ocf-tester: passed all tests"
else
    t_fail "ocf-tester (rc $T_RC): $(printf '%s' "$T_OUT" | grep '^\*' | head -n 5)"
fi
t_ok "nothing left running after ocf-tester" sh -c "! '$LAB' exec $H virsh -q domstate vmt >/dev/null 2>&1"
exit 0
