#!/bin/bash
# test_lifecycle.sh — the agent binary inside a lab host against a real
# libvirtd and real QEMU guests, with the OCF environment Pacemaker 2.1.5 sets:
# start, double start, monitor/probe, config removed while running, libvirtd
# stopped (probe is not 7), graceful stop of a guest that answers ACPI, stop of
# a guest that ignores it (destroy inside the deadline), double stop, persistent.
. "$(dirname "$0")/lablib.sh"

lab_setup 1
H=node1
vm1=$(guest_xml vm1 --os bm)                                  # ignores ACPI
vm2=$(guest_xml vm2 --os linux --type qemu)                   # answers ACPI
INTERVAL=OCF_RESKEY_CRM_meta_interval=10000

# --- start / monitor -------------------------------------------------------
t_expect_rc "probe of a stopped domain" 7 agent $H monitor OCF_RESKEY_config="$vm1"
t_expect_rc "monitor of a stopped domain" 7 agent $H monitor OCF_RESKEY_config="$vm1" $INTERVAL
since=$(now_ms)
t_expect_rc "start" 0 agent $H start OCF_RESKEY_config="$vm1"
t_ok "the guest runs: heartbeats arrive" ticks_wait vm1 25 15000 "$since"
t_expect_rc "monitor" 0 agent $H monitor OCF_RESKEY_config="$vm1" $INTERVAL
t_expect_rc "probe" 0 agent $H monitor OCF_RESKEY_config="$vm1"
t_expect_rc "status" 0 agent $H status OCF_RESKEY_config="$vm1"
t_expect_rc "double start" 0 agent $H start OCF_RESKEY_config="$vm1"
t_ok "the double start did not restart the guest" \
    sh -c "'$GUESTS_OUT/ferry-ticks' report '$TICKS_LOG' vm1 --since $since | grep -qx 'resets=0'"
t_ok "the domain is transient (persistent=false)" \
    sh -c "'$LAB' exec $H virsh -q dominfo vm1 | grep -Eq '^Persistent: +no'"

# --- the config file disappears while the domain runs (resource-agents #856) --
mv "$vm1" "$vm1.hidden"
t_expect_rc "probe with the config gone still finds it running" 0 agent $H monitor OCF_RESKEY_config="$vm1"
t_expect_rc "probe by name with the config gone" 0 agent $H monitor OCF_RESKEY_config="$vm1" OCF_RESKEY_name=vm1
t_expect_rc "validate-all with the config gone says not installed" 5 agent $H validate-all OCF_RESKEY_config="$vm1"
RSC=p_other t_expect_rc "probe with config gone, no name, no record: an error, not 7" 1 \
    agent $H monitor OCF_RESKEY_config="$vm1"
t_reason_has "cannot tell which domain"
mv "$vm1.hidden" "$vm1"

# --- libvirtd down (resource-agents #546) ------------------------------------
"$LAB" daemon $H libvirtd stop >/dev/null
# 0 (its QEMU process is alive) or 1 (cannot tell); never 7
t_expect_rc "probe with libvirtd stopped is not 7" "0|1" agent $H monitor OCF_RESKEY_config="$vm1"
t_expect_rc "start with libvirtd stopped fails" 1 agent $H start OCF_RESKEY_config="$vm1" OCF_RESKEY_name=vm1
"$LAB" daemon $H libvirtd start >/dev/null
t_expect_rc "monitor after libvirtd is back" 0 agent $H monitor OCF_RESKEY_config="$vm1" $INTERVAL
# a stop while libvirtd is down ends the QEMU process itself instead of failing
# (a failed stop gets the node fenced)
pid=$(on $H cat /run/libvirt/qemu/vm1.pid)
"$LAB" daemon $H libvirtd stop >/dev/null
t_expect_rc "stop with libvirtd stopped" 0 agent $H stop OCF_RESKEY_config="$vm1" OCF_RESKEY_name=vm1
case "$T_ERR" in *"ended its QEMU process"*) t_pass "it ended the QEMU process directly" ;; *) t_fail "stop: $T_ERR" ;; esac
t_ok "QEMU process '$pid' is gone" sh -c "[ -n '$pid' ] && { ! kill -0 '$pid' 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status; }"
t_expect_rc "stop again with libvirtd stopped: nothing runs, 0" 0 agent $H stop OCF_RESKEY_config="$vm1"
# (in this host's network namespace: other labs may run a vm1 too)
t_ok "no QEMU process of vm1 is left at all" on $H sh -c \
    'for p in $(pgrep -f "guest=vm1[,]"); do [ "$(readlink /proc/$p/ns/net)" = "$(readlink /proc/self/ns/net)" ] && exit 1; done; exit 0'

# the same evidence stop used: no QEMU process of the domain, so not running
t_expect_rc "probe with libvirtd stopped and no guest: 7, as stop said" 7 agent $H monitor OCF_RESKEY_config="$vm1"
"$LAB" daemon $H libvirtd start >/dev/null
t_expect_rc "libvirtd back: monitor says stopped" 7 agent $H monitor OCF_RESKEY_config="$vm1" $INTERVAL
t_expect_rc "start again" 0 agent $H start OCF_RESKEY_config="$vm1"

# --- stop of a guest that ignores ACPI: destroy within the deadline ----------
pid=$(on $H cat /run/libvirt/qemu/vm1.pid)
t0=$(now_ms)
TIMEOUT_MS=20000 t_expect_rc "stop (guest ignores ACPI, 20 s timeout)" 0 agent $H stop OCF_RESKEY_config="$vm1"
ms=$(( $(now_ms) - t0 ))
if [ "$T_RC" = 0 ] && [ "$ms" -lt 20000 ]; then t_pass "stop answered in $ms ms (< 20000)"; else t_fail "stop: rc $T_RC after $ms ms"; fi
case "$T_ERR" in *destroyed*) t_pass "stop destroyed it" ;; *) t_fail "stop did not say destroyed: $T_ERR" ;; esac
t_ok "its QEMU process '$pid' is gone" sh -c "[ -n '$pid' ] && { ! kill -0 '$pid' 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status; }"
t_expect_rc "monitor after stop" 7 agent $H monitor OCF_RESKEY_config="$vm1" $INTERVAL
t_expect_rc "double stop" 0 agent $H stop OCF_RESKEY_config="$vm1"
t_expect_rc "probe after stop" 7 agent $H monitor OCF_RESKEY_config="$vm1"
t_ok "the domain is gone from libvirt" sh -c "! '$LAB' exec $H virsh -q domstate vm1 >/dev/null 2>&1"

# shutdown_timeout bounds the graceful part
t_expect_rc "start again" 0 agent $H start OCF_RESKEY_config="$vm1"
t0=$(now_ms)
t_expect_rc "stop with shutdown_timeout=2" 0 agent $H stop OCF_RESKEY_config="$vm1" OCF_RESKEY_shutdown_timeout=2
ms=$(( $(now_ms) - t0 ))
if [ "$T_RC" = 0 ] && [ "$ms" -lt 9000 ]; then t_pass "stop with a 2 s graceful budget took $ms ms"; else t_fail "stop: rc $T_RC after $ms ms"; fi
# rgmanager's no_kill: a guest that ignores ACPI is not destroyed; the stop fails
t_expect_rc "start again (no_kill)" 0 agent $H start OCF_RESKEY_config="$vm1"
t_expect_rc "stop with no_kill fails rather than destroy" 1 agent $H stop OCF_RESKEY_config="$vm1" \
    OCF_RESKEY_no_kill=true OCF_RESKEY_shutdown_timeout=1
t_reason_has "no_kill is set"
t_expect_rc "the guest still runs after the refused stop" 0 agent $H monitor OCF_RESKEY_config="$vm1" $INTERVAL
# recover = stop + start; reconfig (rgmanager) checks the new parameters
since=$(now_ms)
t_expect_rc "recover" 0 agent $H recover OCF_RESKEY_config="$vm1" OCF_RESKEY_shutdown_timeout=1
ticks_wait vm1 10 15000 "$(now_ms)" || true
rep=$(ticks_report vm1 "$since")
# a fresh boot: the heartbeat restarted at seq 0 (after the old one's last ticks, if any)
if grep -qx 'resets=1' <<<"$rep" || grep -qx 'first_seq=0' <<<"$rep"; then
    t_pass "recover restarted the guest (its heartbeat began again at 0)"
else
    t_fail "recover: heartbeat $(tr '\n' ' ' <<<"$rep")"
fi
t_expect_rc "reconfig" 0 agent $H reconfig OCF_RESKEY_config="$vm1"
t_expect_rc "reconfig with a bad value" 6 agent $H reconfig OCF_RESKEY_config="$vm1" OCF_RESKEY_migrate=sideways
t_expect_rc "rgmanager names: xmlfile + hypervisor_uri" 0 agent $H monitor OCF_RESKEY_xmlfile="$vm1" \
    OCF_RESKEY_hypervisor_uri=qemu:///system $INTERVAL
t_expect_rc "rgmanager path: found as <dir>/<name>.xml" 0 agent $H monitor OCF_RESKEY_name=vm1 \
    OCF_RESKEY_path="/nonexistent:$FERRY_LAB_SHARED" $INTERVAL
t_expect_rc "stop after recover" 0 agent $H stop OCF_RESKEY_config="$vm1" OCF_RESKEY_force_stop=true
t_expect_rc "start, force_stop" 0 agent $H start OCF_RESKEY_config="$vm1"
t_expect_rc "stop, force_stop" 0 agent $H stop OCF_RESKEY_config="$vm1" OCF_RESKEY_force_stop=true
case "$T_ERR" in *"destroyed"*"graceful budget 0 ms"*) t_pass "force_stop destroyed at once" ;; *) t_fail "force_stop: $T_ERR" ;; esac

# --- a guest that answers ACPI shuts down gracefully -------------------------
since=$(now_ms)
RSC=p_vm2 TIMEOUT_MS=60000 t_expect_rc "start the Linux guest (TCG)" 0 agent $H start OCF_RESKEY_config="$vm2"
t_ok "the Linux guest runs: heartbeats arrive" ticks_wait vm2 25 30000 "$since"
RSC=p_vm2 TIMEOUT_MS=60000 t_expect_rc "stop the Linux guest" 0 agent $H stop OCF_RESKEY_config="$vm2"
case "$T_ERR" in *"shut down gracefully"*) t_pass "it shut down gracefully" ;; *) t_fail "not graceful: $T_ERR" ;; esac
RSC=p_vm2 t_expect_rc "monitor the Linux guest after stop" 7 agent $H monitor OCF_RESKEY_config="$vm2" $INTERVAL

# --- persistent=true: defined, and the definition outlives stop --------------
t_expect_rc "start persistent" 0 agent $H start OCF_RESKEY_config="$vm1" OCF_RESKEY_persistent=true
t_ok "the domain is persistent" sh -c "'$LAB' exec $H virsh -q dominfo vm1 | grep -Eq '^Persistent: +yes'"
t_expect_rc "stop persistent" 0 agent $H stop OCF_RESKEY_config="$vm1" OCF_RESKEY_persistent=true
t_expect_rc "monitor of the stopped definition" 7 agent $H monitor OCF_RESKEY_config="$vm1" $INTERVAL
t_ok "the definition is still there (resource-agents #487)" \
    sh -c "'$LAB' exec $H virsh -q domstate vm1 | grep -q 'shut off'"
t_expect_rc "name only: start the definition" 0 agent $H start OCF_RESKEY_name=vm1
t_expect_rc "name only: stop" 0 agent $H stop OCF_RESKEY_name=vm1
on $H virsh -q undefine vm1 >/dev/null

# --- rgmanager's snapshot: stop saves the guest's memory, start restores it ---
snap=$FERRY_LAB_SHARED/snapshots
mkdir -p "$snap"
SNAP=OCF_RESKEY_snapshot=$snap
# what start restores comes from there: only root may write it
chmod 0775 "$snap"
t_expect_rc "validate-all: a snapshot directory its group can write is refused" 5 \
    agent $H validate-all OCF_RESKEY_config="$vm1" $SNAP
t_reason_has "is writable by its group"
t_expect_rc "start with it: refused too" 5 agent $H start OCF_RESKEY_config="$vm1" $SNAP
chmod 0755 "$snap"
t_expect_rc "validate-all: root's own directory" 0 agent $H validate-all OCF_RESKEY_config="$vm1" $SNAP
t_expect_rc "start (snapshot set)" 0 agent $H start OCF_RESKEY_config="$vm1" $SNAP
ticks_wait vm1 10 15000 "$(now_ms)" || true
since=$(now_ms)
t_expect_rc "stop saves the guest" 0 agent $H stop OCF_RESKEY_config="$vm1" $SNAP
case "$T_ERR" in *"saved to its snapshot image"*) t_pass "stop said it saved it" ;; *) t_fail "stop: $T_ERR" ;; esac
t_ok "the image is in the snapshot directory" test -s "$snap/vm1"
t_ok "no temporary file is left" sh -c "! ls -A '$snap' | grep -q saving"
t_ok "the image is root's, and only root can write it" \
    sh -c "[ \"\$(stat -c '%u %A' '$snap/vm1')\" = '0 -rw-------' ]"
t_expect_rc "monitor after the save: stopped" 7 agent $H monitor OCF_RESKEY_config="$vm1" $SNAP $INTERVAL
# whoever can write an image can put any definition in it (here: a description)
on $H sh -c "virsh -q save-image-dumpxml --security-info '$snap/vm1' |
    sed 's|<description>[^<]*</description>|<description>planted in the image</description>|' \
    >'$FERRY_LAB_SHARED/planted.xml' && virsh -q save-image-define '$snap/vm1' '$FERRY_LAB_SHARED/planted.xml'" >/dev/null
t_ok "the image's own definition was changed" \
    sh -c "'$LAB' exec $H virsh -q save-image-dumpxml '$snap/vm1' | grep -q 'planted in the image'"
# a config the image does not fit (another vCPU count): refused, the image kept
sed 's|<vcpu>1</vcpu>|<vcpu>2</vcpu>|' "$vm1" >"$FERRY_LAB_SHARED/vm1-2cpu.xml"
t_expect_rc "start with a config the image does not fit: refused" 6 \
    agent $H start OCF_RESKEY_config="$FERRY_LAB_SHARED/vm1-2cpu.xml" $SNAP
t_reason_has "the image is kept"
t_ok "the image is still there" test -s "$snap/vm1"
t_expect_rc "and nothing runs" 7 agent $H monitor OCF_RESKEY_config="$vm1" $SNAP $INTERVAL
t_expect_rc "start restores it" 0 agent $H start OCF_RESKEY_config="$vm1" $SNAP
case "$T_ERR" in *"restored from its snapshot image"*) t_pass "start said it restored it" ;; *) t_fail "start: $T_ERR" ;; esac
t_ok "the image was removed after the restore" test ! -e "$snap/vm1"
t_ok "restored with the config's definition, not the image's" \
    sh -c "'$LAB' exec $H virsh -q dumpxml vm1 | grep -q 'ferry test guest' &&
           ! '$LAB' exec $H virsh -q dumpxml vm1 | grep -q 'planted in the image'"
ticks_wait vm1 10 15000 "$(now_ms)" || true
rep=$(ticks_report vm1 "$since")
if grep -qx 'resets=0' <<<"$rep" && ! grep -qx 'first_seq=0' <<<"$rep"; then
    t_pass "the guest went on where it was (its heartbeat continued, no reboot)"
else
    t_fail "restore: heartbeat $(tr '\n' ' ' <<<"$rep")"
fi
t_ok "and its memory is intact (bad=0)" sh -c "'$GUESTS_OUT/ferry-ticks' report '$TICKS_LOG' vm1 --since $since | grep -qx 'bad=0'"

# --- rgmanager's status_program: depth-10 monitors run it ----------------------
DEEP=OCF_CHECK_LEVEL=10
t_expect_rc "depth-10 monitor, status_program fails" 1 agent $H monitor OCF_RESKEY_config="$vm1" $DEEP $INTERVAL \
    OCF_RESKEY_status_program="/bin/sh -c 'echo web service down; exit 3'"
t_reason_has "exited 3: web service down"
t_expect_rc "depth-10 monitor, status_program succeeds" 0 agent $H monitor OCF_RESKEY_config="$vm1" $DEEP $INTERVAL \
    OCF_RESKEY_status_program=/bin/true
t_expect_rc "a plain monitor does not run it" 0 agent $H monitor OCF_RESKEY_config="$vm1" $INTERVAL \
    OCF_RESKEY_status_program=/bin/false
t_expect_rc "a status_program that needs a shell is refused" 6 agent $H monitor OCF_RESKEY_config="$vm1" $DEEP \
    $INTERVAL OCF_RESKEY_status_program="check-web | grep ok"
t_reason_has "needs a shell"
t_expect_rc "stop (snapshot no longer set)" 0 agent $H stop OCF_RESKEY_config="$vm1" OCF_RESKEY_force_stop=true
t_ok "nothing was saved" test ! -e "$snap/vm1"

# --- bad parameters against the real daemon ----------------------------------
t_expect_rc "start with a missing config" 5 agent $H start OCF_RESKEY_config="$FERRY_LAB_SHARED/none.xml"
t_reason_has "cannot be read"
t_expect_rc "start with name and config disagreeing" 6 agent $H start OCF_RESKEY_config="$vm1" OCF_RESKEY_name=vm9
t_expect_rc "unknown action" 3 agent $H frobnicate OCF_RESKEY_config="$vm1"

exit 0
