#!/bin/bash
# test_systemd.sh — the pacemaker.service drop-in (systemd/pacemaker.service.d/
# ferry.conf) that makes a host's shutdown or reboot stop Pacemaker, and so
# migrate its VMs away, before libvirt, virtlockd, libvirt-guests and the guests'
# scopes (resource-agents #1087): systemd-analyze verify loads it beside the
# installed pacemaker.service with no warning, and it orders Pacemaker after
# each of those units. The lab half (a node leaving the cluster live-migrates
# its VMs away) is tests/agent/test_shutdown.sh.
. "$(dirname "$0")/testlib.sh"

DROPIN=$top_srcdir/systemd/pacemaker.service.d/ferry.conf
UNIT=
for d in /lib/systemd/system /usr/lib/systemd/system; do
    [ -f "$d/pacemaker.service" ] && { UNIT=$d/pacemaker.service; break; }
done
[ -n "$UNIT" ] || t_cannot_run "pacemaker.service is not installed (./bootstrap.sh --deps installs pacemaker)"
command -v systemd-analyze >/dev/null || t_cannot_run "systemd-analyze is missing (apt-get install systemd)"
[ -f "$DROPIN" ] || t_cannot_run "$DROPIN is missing"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# a unit directory holding the packaged unit and our drop-in, as installed
mkdir -p "$tmp/units/pacemaker.service.d"
cp "$UNIT" "$tmp/units/"
cp "$DROPIN" "$tmp/units/pacemaker.service.d/"
verify() {  # prints systemd-analyze's stderr; rc of verify
    SYSTEMD_LOG_LEVEL=${1:-info} SYSTEMD_UNIT_PATH="$tmp/units:" \
        systemd-analyze verify "$tmp/units/pacemaker.service" 2>&1 >/dev/null
}
t_run verify
if [ "$T_RC" = 0 ] && [ -z "$T_OUT" ]; then
    t_pass "systemd-analyze verify: pacemaker.service with ferry.conf is clean"
else
    t_fail "systemd-analyze verify (rc $T_RC): $(head -n 5 <<<"$T_OUT")"
fi
# at debug level, verify dumps the unit it loaded, with its drop-ins
t_ok "systemd loads ferry.conf as a drop-in of pacemaker.service" \
    grep -q "DropIn Path: .*/pacemaker.service.d/ferry.conf" <(SYSTEMD_LOG_LEVEL=debug \
        SYSTEMD_UNIT_PATH="$tmp/units:" systemd-analyze verify "$tmp/units/pacemaker.service" 2>&1)

# the check above can fail: a drop-in with a misspelt key is reported
printf '[Unit]\nAftr=libvirtd.service\n' >"$tmp/units/pacemaker.service.d/zz-typo.conf"
t_ok "a misspelt key in a drop-in is reported (the check can fail)" grep -q "Unknown key" <(verify)
rm -f "$tmp/units/pacemaker.service.d/zz-typo.conf"

# the ordering: every unit whose stop would kill or strand a guest
after=$(sed -n 's/^After=//p' "$DROPIN" | tr ' ' '\n')
for u in libvirtd.service virtqemud.service virtlockd.service virtlogd.service libvirt-guests.service machines.target; do
    t_ok "pacemaker.service is ordered after $u" grep -qx "$u" <<<"$after"
done
t_ok "ordering only: no Wants=/Requires= (hosts run either libvirtd or the modular daemons)" \
    sh -c "! grep -Eq '^(Wants|Requires|BindsTo)=' '$DROPIN'"
t_done
