#!/bin/bash
# test_args.sh — the agent binary's contract where no hypervisor is involved:
# meta-data, usage, unknown actions, bad parameters (clear reason, right code).
# Runs without libvirt: every case here must answer before touching it.
. "$(dirname "$0")/testlib.sh"

[ -x "$AGENT" ] || t_cannot_run "agent binary $AGENT is missing (run make first)"
command -v xmllint >/dev/null || t_cannot_run "xmllint is missing (apt-get install libxml2-utils)"
[ -r "$RA_API_DTD_DIR/ra-api-1.dtd" ] || t_cannot_run "$RA_API_DTD_DIR/ra-api-1.dtd is missing (apt-get install resource-agents)"
OCF_1_1_RNG=/usr/share/pcs/data/ocf-1.1.rng
[ -r "$OCF_1_1_RNG" ] || t_cannot_run "$OCF_1_1_RNG is missing (apt-get install pcs)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# a hypervisor that cannot be reached: any action that connects would fail, so
# these cases prove that meta-data/validate-all never connect
export OCF_RESKEY_hypervisor=test:///nonexistent/ferry-no-such-file.xml
export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=p_args HA_RSCTMP=$tmp/state HA_LOGFACILITY=none
# no metrics into the machine's node_exporter directory
export OCF_RESKEY_metrics_dir=
cat >"$tmp/vm1.xml" <<XML
<domain type='qemu'><name>vm1</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>
XML

t_expect_rc "meta-data" 0 "$AGENT" meta-data
printf '%s\n' "$T_OUT" >"$tmp/md.xml"
t_ok "meta-data is valid against ra-api-1.dtd" \
    sh -c "cd '$RA_API_DTD_DIR' && xmllint --noout --valid - < '$tmp/md.xml'"
t_ok "meta-data names every action Pacemaker needs" \
    sh -c "grep -q 'action name=\"start\"' '$tmp/md.xml' && grep -q 'action name=\"stop\"' '$tmp/md.xml' && grep -q 'action name=\"monitor\"' '$tmp/md.xml'"
# what Pacemaker >= 2.1 (and so crmsh and pcs) asks for: OCF 1.1
t_expect_rc "meta-data for an OCF 1.1 caller" 0 env OCF_RA_VERSION_MAJOR=1 OCF_RA_VERSION_MINOR=1 "$AGENT" meta-data
printf '%s\n' "$T_OUT" >"$tmp/md11.xml"
t_ok "OCF 1.1 meta-data is valid against pcs's ocf-1.1.rng" \
    xmllint --noout --relaxng "$OCF_1_1_RNG" "$tmp/md11.xml"
t_ok "OCF 1.1 meta-data advertises reload-agent" grep -q '<action name="reload-agent"' "$tmp/md11.xml"
t_ok "OCF 1.1 meta-data: migration_speed is reloadable, config is not" \
    sh -c "grep -q '<parameter name=\"migration_speed\".*reloadable=\"1\"' '$tmp/md11.xml' && ! grep -q '<parameter name=\"config\".*reloadable' '$tmp/md11.xml'"
t_ok "OCF 1.0 meta-data (ocf-tester's) does not advertise reload-agent" \
    sh -c "! grep -q 'reload-agent' '$tmp/md.xml'"
if [ "$(id -u)" = 0 ]; then
    t_expect_rc "meta-data as user nobody" 0 su nobody -s /bin/sh -c "$AGENT meta-data"
fi
t_expect_rc "usage" 0 "$AGENT" usage
t_expect_rc "no action" 2 "$AGENT"
t_expect_rc "unknown action" 3 "$AGENT" reboot
t_reason_has "unknown action 'reboot'"
t_expect_rc "notify is not implemented" 3 "$AGENT" notify

# meta-data and validate-all are fast
start=$(date +%s%N)
for _ in 1 2 3 4 5 6 7 8 9 10; do "$AGENT" meta-data >/dev/null; done
ms=$(( ($(date +%s%N) - start) / 10000000 ))
if [ "$ms" -lt 200 ]; then t_pass "meta-data takes ${ms} ms"; else t_fail "meta-data takes ${ms} ms (>= 200)"; fi

# bad parameters: the code Pacemaker needs, and a one-line reason naming the parameter
t_expect_rc "validate-all, nothing set" 6 env -u OCF_RESKEY_config "$AGENT" validate-all
t_reason_has "neither 'config' nor 'name'"
t_expect_rc "start, nothing set" 6 "$AGENT" start
t_expect_rc "validate-all, relative config" 6 env OCF_RESKEY_config=vm1.xml "$AGENT" validate-all
t_reason_has "parameter 'config' is 'vm1.xml', which is not an absolute path"
t_expect_rc "validate-all, missing config" 5 env OCF_RESKEY_config="$tmp/none.xml" "$AGENT" validate-all
t_reason_has "cannot be read"
t_expect_rc "validate-all, malformed config" 5 env OCF_RESKEY_config="$tmp/md.xml" "$AGENT" validate-all
t_reason_has "is not a libvirt domain XML"
t_expect_rc "validate-all, bad boolean" 6 env OCF_RESKEY_config="$tmp/vm1.xml" OCF_RESKEY_force_stop=perhaps "$AGENT" validate-all
t_reason_has "parameter 'force_stop' is 'perhaps'"
t_expect_rc "validate-all, bad time" 6 env OCF_RESKEY_config="$tmp/vm1.xml" OCF_RESKEY_shutdown_timeout=later "$AGENT" validate-all
t_reason_has "parameter 'shutdown_timeout' is 'later'"
t_expect_rc "validate-all, name disagrees with config" 6 env OCF_RESKEY_config="$tmp/vm1.xml" OCF_RESKEY_name=vm2 "$AGENT" validate-all
t_reason_has "parameter 'name' is 'vm2' but config"
t_expect_rc "validate-all, bad hypervisor URI" 6 env OCF_RESKEY_config="$tmp/vm1.xml" OCF_RESKEY_hypervisor=kvm "$AGENT" validate-all
t_reason_has "parameter 'hypervisor' is 'kvm'"
t_expect_rc "validate-all, bad CRM_meta_timeout" 6 env OCF_RESKEY_config="$tmp/vm1.xml" OCF_RESKEY_CRM_meta_timeout=fast "$AGENT" validate-all
t_reason_has "OCF_RESKEY_CRM_meta_timeout is 'fast'"
t_expect_rc "validate-all, good" 0 env OCF_RESKEY_config="$tmp/vm1.xml" OCF_RESKEY_name=vm1 "$AGENT" validate-all
# reload-agent re-validates what changed: a bad value is refused (6, the guest untouched)
t_expect_rc "reload-agent, bad migration_speed" 6 env OCF_RESKEY_config="$tmp/vm1.xml" OCF_RESKEY_migration_speed=fast "$AGENT" reload-agent
t_reason_has "parameter 'migration_speed' is 'fast'"
t_expect_rc "reload-agent, bad migrateuri" 6 env OCF_RESKEY_config="$tmp/vm1.xml" OCF_RESKEY_migrateuri=ftp://node2 "$AGENT" reload-agent
t_reason_has "migrateuri"
t_expect_rc "exit reason prefix is honoured" 6 env OCF_EXIT_REASON_PREFIX=REASON: "$AGENT" validate-all
case "$T_ERR" in *"REASON:neither"*) t_pass "custom exit-reason prefix" ;; *) t_fail "custom exit-reason prefix missing" ;; esac

# libvirt unreachable: a monitor says "error", never "not running"
t_expect_rc "probe with libvirt unreachable is not 7" 1 env OCF_RESKEY_name=vm1 "$AGENT" monitor
t_reason_has "cannot tell whether domain 'vm1' runs"
# reload-agent never touches the guest: valid parameters are applied (the next
# actions read them) even when libvirt cannot be asked; a failure would make
# Pacemaker restart the VM for a tuning knob
t_expect_rc "reload-agent with libvirt unreachable succeeds" 0 env OCF_RESKEY_name=vm1 OCF_RESKEY_migration_speed=50 "$AGENT" reload-agent
t_expect_rc "start with libvirt unreachable fails" 1 env OCF_RESKEY_name=vm1 "$AGENT" start
t_expect_rc "stop with libvirt unreachable fails (never a blind 0)" 1 env OCF_RESKEY_name=vm1 "$AGENT" stop
t_expect_rc "stop with a bad boolean still stops (here: fails for libvirt, not for the boolean)" 1 \
    env OCF_RESKEY_name=vm1 OCF_RESKEY_force_stop=perhaps "$AGENT" stop
t_reason_has "cannot connect to libvirt"
t_expect_rc "stop with a bad migrate value goes on (fails here for libvirt, not 6)" 1 \
    env OCF_RESKEY_name=vm1 OCF_RESKEY_migrate=sideways "$AGENT" stop
t_reason_has "cannot connect to libvirt"

t_done
