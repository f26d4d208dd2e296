#!/usr/bin/env bash
# selftest.sh -- proves that lab.sh builds a working, isolated lab and leaves nothing behind.
#
# Brings up 2 hosts (with tests/guests' ferry-ticks as heartbeat collector) and checks: hostnames,
# addresses, no route out of the lab, root namespace untouched, libvirtd in every host, the ssh mesh
# with strict host key checking (and that `rekey` breaks it and `--restore` repairs it), daemon
# stop/start, link down/up, UDP to the collector, the guest segment (br-guest in every host, no
# host address, the client namespace on it, broadcasts from the client reach every host, hosts do
# not answer there), a live migration of a guest with a NIC on br-guest node1 -> node2 over the
# management network and back over the migration network, and finally that `down` is clean.
# One line per check, then "selftest: N passed, M failed".  Exit 0 only if nothing failed.
#
# Uses its own state dir (FERRY_LAB_DIR, default /var/tmp/ferry-lab-selftest), so it never touches
# a lab you have up in the default /var/tmp/ferry-lab.  Needs root.  Works without a tty or stdin.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$HERE/lab.sh
export FERRY_LAB_DIR=${FERRY_LAB_DIR:-/var/tmp/ferry-lab-selftest}
DOMTYPE=${FERRY_SELFTEST_DOMTYPE:-qemu}     # qemu (TCG) or kvm
PASS=0 FAIL=0

ok() { echo "ok   - $*"; PASS=$(( PASS + 1 )); }
notok() { echo "FAIL - $*"; FAIL=$(( FAIL + 1 )); }
oneline() { tail -n 4 | tr '\n' ' ' | sed 's/  */ /g; s/ $//'; }
# check "DESCRIPTION" CMD... : CMD must succeed
check() { local d=$1 out; shift; if out=$("$@" 2>&1 </dev/null); then ok "$d"; else notok "$d: $(oneline <<<"$out")"; fi; }
# check_fails "DESCRIPTION" REGEX CMD... : CMD must fail, with output matching REGEX
check_fails() {
  local d=$1 re=$2 out; shift 2
  if out=$("$@" 2>&1 </dev/null); then notok "$d: unexpectedly succeeded: $(oneline <<<"$out")"
  elif grep -Eq "$re" <<<"$out"; then ok "$d"
  else notok "$d: failed, but not with /$re/: $(oneline <<<"$out")"; fi
}
ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }
in_lab() { "$LAB" exec "$@"; }
virsh_on() { local h=$1; shift; "$LAB" exec "$h" virsh -q -c qemu:///system "$@"; }

# ---------------------------------------------------------------------------------- prerequisites
[ "$(id -u)" = 0 ] || { echo "selftest: cannot run: must be root (namespaces, mounts, libvirtd)"; exit 2; }
missing=()
for b in bash nsenter unshare setsid ip ss lsns findmnt timeout ssh ssh-keygen virsh python3 awk sed grep; do
  command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
for b in /usr/sbin/sshd /usr/sbin/libvirtd /usr/sbin/virtlogd /usr/bin/qemu-system-x86_64 /usr/bin/virt-ssh-helper; do
  [ -x "$b" ] || missing+=("$b")
done
[ ${#missing[@]} = 0 ] || { echo "selftest: cannot run: missing ${missing[*]}"; exit 2; }
[ -x "$LAB" ] || { echo "selftest: cannot run: $LAB is not executable"; exit 2; }
if [ -e "$FERRY_LAB_DIR" ]; then
  echo "selftest: cannot run: $FERRY_LAB_DIR exists (a lab is up there?); run: FERRY_LAB_DIR=$FERRY_LAB_DIR $LAB down"
  exit 2
fi

cleanup() {
  if [ -e "$FERRY_LAB_DIR" ]; then
    echo "selftest: cleaning up after failure/interrupt"
    "$LAB" down </dev/null || echo "selftest: WARNING: down failed; see above"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

root_links_before=$(ip -o link show | awk -F': ' '{print $2}' | sort)
root_addrs_before=$(ip -o addr show | awk '{print $2, $4}' | sort)
root_routes_before=$(ip route show table all | sort)

# ------------------------------------------------------------------------------------------- up 2
# the heartbeat collector the tests use (tests/guests/ferry-ticks)
TICKS_OUT=${FERRY_GUESTS_OUT:-${top_builddir:-$HERE/../..}/tests/guests/out}
if ! out=$("$HERE/../guests/build.sh" "$TICKS_OUT" 2>&1); then
  notok "cannot build the heartbeat collector: $(oneline <<<"$out")"
  echo "selftest: $PASS passed, $FAIL failed"; exit 1
fi
t0=$(ms)
if out=$("$LAB" up 2 --ticks "$TICKS_OUT/ferry-ticks" 2>&1 </dev/null); then
  ok "up 2 --ticks ferry-ticks ($(( $(ms) - t0 )) ms)"
else
  notok "up 2: $(oneline <<<"$out")"
  echo "selftest: $PASS passed, $FAIL failed"; exit 1
fi
eval "$("$LAB" env)"
check "env prints FERRY_LAB_DIR/SHARED/HOSTS/COLLECTOR" \
  test "$FERRY_LAB_HOSTS" = "node1 node2" -a "$FERRY_LAB_COLLECTOR" = "198.51.100.254:5555" -a -d "$FERRY_LAB_SHARED"
check_fails "up refuses while a lab is up" "already up" "$LAB" up 2
# namespace ids of the lab, to verify after down that none survives
ns_ids=$(cat "$FERRY_LAB_DIR"/*/ns)
holders=$(for f in "$FERRY_LAB_DIR"/*/holder.pid; do read -r p st <"$f"; echo "$p:$st"; done)

# --------------------------------------------------------------------------- identity and network
for i in 1 2; do
  h=node$i
  check "$h: hostname is $h" test "$(in_lab $h hostname)" = "$h" -a "$(in_lab $h uname -n)" = "$h"
  addrs=$(in_lab $h ip -4 -o addr show | awk '{print $2, $4}' | tr '\n' ' ')
  check "$h: IPv4 addresses are exactly lo 127.0.0.1/8, eth0 198.51.100.1$i/24, eth1 203.0.113.1$i/24 ($addrs)" \
    test "$addrs" = "lo 127.0.0.1/8 eth0 198.51.100.1$i/24 eth1 203.0.113.1$i/24 "
  check "$h: no IPv6 addresses" test -z "$(in_lab $h ip -6 -o addr show)"
  check "$h: no default route" test -z "$(in_lab $h ip route show default)"
  for dst in 192.0.2.2 192.0.2.1 10.255.255.53 8.8.8.8 1.1.1.1 198.51.101.1; do
    check_fails "$h: no route to $dst (outside the lab)" "unreachable" in_lab $h ip route get $dst
  done
  check "$h: routes to both lab networks" in_lab $h sh -c "ip route get 198.51.100.254 && ip route get 203.0.113.1$(( 3 - i ))"
  check "$h: /etc/hosts maps node1,node2,node*-mig to lab addresses" \
    in_lab $h sh -c 'getent hosts node1 | grep -q "^198.51.100.11 " && getent hosts node2-mig | grep -q "^203.0.113.12 "'
  check "$h: eth2 is a port of bridge br-guest, both up" \
    in_lab $h sh -c 'ip -o link show eth2 | grep -q " master br-guest state UP" && ip -o link show br-guest | grep -q "state UP"'
  check "$h: br-guest never answers ARP (arp_ignore=8)" test "$(in_lab $h sysctl -n net.ipv4.conf.br-guest.arp_ignore)" = 8
done
# the guest segment: switch bridge fbr-guest with a port per host and one for the client
guest_ports() { "$LAB" exec switch ip -o link show master fbr-guest | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort | tr '\n' ' '; }
check "switch: fbr-guest ports are fcl-guest fn1-guest fn2-guest ($(guest_ports))" test "$(guest_ports)" = "fcl-guest fn1-guest fn2-guest "
check "client: hostname is ferry-client" test "$(in_lab client hostname)" = ferry-client
caddrs=$(in_lab client ip -4 -o addr show | awk '{print $2, $4}' | tr '\n' ' ')
check "client: IPv4 addresses are exactly lo 127.0.0.1/8, eth0 203.0.113.100/24 ($caddrs)" \
  test "$caddrs" = "lo 127.0.0.1/8 eth0 203.0.113.100/24 "
check "client: no IPv6 addresses" test -z "$(in_lab client ip -6 -o addr show)"
check "client: one route, the guest segment ($(in_lab client ip route show | tr '\n' ' '))" \
  test "$(in_lab client ip route show)" = "203.0.113.0/24 dev eth0 proto kernel scope link src 203.0.113.100 "
for dst in 10.255.255.53 8.8.8.8 198.51.101.1 198.51.100.11; do
  check_fails "client: no route to $dst (outside the guest segment)" "unreachable" in_lab client ip route get $dst
done
check "env prints FERRY_LAB_CLIENT=203.0.113.100, FERRY_LAB_GUEST_BRIDGE=br-guest" \
  test "$FERRY_LAB_CLIENT" = 203.0.113.100 -a "$FERRY_LAB_GUEST_BRIDGE" = br-guest
# broadcasts from the client reach every host's br-guest (one L2 segment), and no host answers
# there, not even for its own migration address 203.0.113.11 (in the same /24)
brx() { in_lab "$1" cat /sys/class/net/br-guest/statistics/rx_packets; }
b1=$(brx node1) b2=$(brx node2)
check_fails "client: 203.0.113.11 (node1's migration address) does not answer on the guest segment" \
  "100% packet loss" in_lab client ping -n -c 2 -i 0.3 -W 1 203.0.113.11
check "the client's ARP broadcasts reached br-guest on node1 (+$(( $(brx node1) - b1 ))) and node2 (+$(( $(brx node2) - b2 )))" \
  test "$(brx node1)" -gt "$b1" -a "$(brx node2)" -gt "$b2"
switch_isolated() { ! "$LAB" exec switch ip route get 192.0.2.2 2>/dev/null && [ -z "$("$LAB" exec switch ip route show default)" ]; }
check "switch: no default route, no route out" switch_isolated
check "root namespace: links unchanged" test "$(ip -o link show | awk -F': ' '{print $2}' | sort)" = "$root_links_before"
check "root namespace: addresses unchanged" test "$(ip -o addr show | awk '{print $2, $4}' | sort)" = "$root_addrs_before"
check "root namespace: routes unchanged" test "$(ip route show table all | sort)" = "$root_routes_before"
collector_alive() { local p; read -r p _ <"$FERRY_LAB_DIR/switch/collector.pid" && kill -0 "$p"; }
check "switch: collector pid is tracked and alive" collector_alive
udp_ping() {
  in_lab node1 bash -c 'echo selftest-ping >/dev/udp/198.51.100.254/5555' || return 1
  for _ in $(seq 50); do grep -q '198.51.100.11:[0-9]* selftest-ping' "$FERRY_LAB_DIR/ticks.log" && return 0; sleep 0.1; done
  return 1
}
check "UDP from node1 reaches the collector on 198.51.100.254:5555" udp_ping

# ------------------------------------------------------------------------------------------ daemons
for h in node1 node2; do check "$h: libvirtd answers virsh -c qemu:///system version" virsh_on $h version; done
check "ssh node1 -> node2 (strict host key checking)" test "$(in_lab node1 ssh node2 hostname)" = node2
check "ssh node2 -> node1 (strict host key checking)" test "$(in_lab node2 ssh node1 hostname)" = node1
check "ssh node1 -> node2-mig (migration network)" test "$(in_lab node1 ssh node2-mig hostname)" = node2
ssh_strict() { local c; c=$(in_lab node1 ssh -G node2) && grep -qx 'stricthostkeychecking true' <<<"$c" && grep -qx 'batchmode yes' <<<"$c"; }
check "ssh client config: StrictHostKeyChecking yes, BatchMode yes" ssh_strict
check "virsh -c qemu+ssh://node2/system from node1" virsh_on node1 -c qemu+ssh://node2/system version

check "rekey node2" "$LAB" rekey node2
check_fails "after rekey: ssh node1 -> node2 fails with a host key error" \
  "REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed" in_lab node1 ssh node2 hostname
check "rekey node2 --restore" "$LAB" rekey node2 --restore
check "after restore: ssh node1 -> node2 works again" test "$(in_lab node1 ssh node2 hostname </dev/null)" = node2

check "daemon node2 libvirtd stop" "$LAB" daemon node2 libvirtd stop
check_fails "libvirtd stopped: virsh version fails inside node2" "ailed to connect|No such file" virsh_on node2 version
check "libvirtd stopped on node2: node1's still answers" virsh_on node1 version
check "daemon node2 libvirtd start" "$LAB" daemon node2 libvirtd start
check "libvirtd restarted: virsh version works inside node2" virsh_on node2 version

check "link node2 down mgmt" "$LAB" link node2 down mgmt
check_fails "mgmt link down: ssh node1 -> node2 fails" "timed out|No route|unreachable" \
  in_lab node1 ssh -o ConnectTimeout=3 node2 true
check "mgmt link down: ssh node1 -> node2-mig still works" in_lab node1 ssh node2-mig true
check "link node2 up mgmt" "$LAB" link node2 up mgmt
check "mgmt link up: ssh node1 -> node2 works again" in_lab node1 ssh node2 true
check "link node2 down guest" "$LAB" link node2 down guest
b1=$(brx node1) b2=$(brx node2)
in_lab client ping -n -c 1 -W 1 203.0.113.150 >/dev/null 2>&1 || true
check "guest link down: the client's broadcasts reach node1 (+$(( $(brx node1) - b1 ))) but not node2 (+$(( $(brx node2) - b2 )))" \
  test "$(brx node1)" -gt "$b1" -a "$(brx node2)" = "$b2"
check "link node2 up guest" "$LAB" link node2 up guest

# -------------------------------------------------------------------------------------- migration
xml=$FERRY_LAB_SHARED/selftest-idle.xml
cat >"$xml" <<EOF
<domain type='$DOMTYPE'>
  <!-- disk-less, kernel-less: SeaBIOS finds nothing to boot and idles; its NIC on the guest
       segment has no option ROM (no PXE): it is silent -->
  <name>selftest-idle</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <interface type='bridge'>
      <mac address='52:54:00:fe:00:96'/>
      <source bridge='br-guest'/>
      <model type='virtio'/>
      <rom bar='off'/>
    </interface>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
state() { virsh_on "$1" domstate selftest-idle 2>/dev/null | head -n 1; }
known() { virsh_on "$1" list --all --name 2>/dev/null | grep -qx selftest-idle; }
rx() { in_lab "$1" cat "/sys/class/net/$2/statistics/rx_bytes"; }
define_start() { virsh_on node1 define "$xml" && virsh_on node1 start selftest-idle; }
check "define + start a disk-less, kernel-less $DOMTYPE domain with a NIC on br-guest on node1 from $xml" define_start
# the host ports of br-guest other than the uplink eth2: the guests' taps
taps() { in_lab "$1" ip -o link show master br-guest | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | grep -vx eth2 | tr '\n' ' '; }
check "node1: the guest's tap is a port of br-guest ($(taps node1))" test -n "$(taps node1)"
t0=$(ms)
check "migrate --live --persistent --undefinesource node1 -> qemu+ssh://node2/system (run inside node1)" \
  virsh_on node1 migrate --live --persistent --undefinesource selftest-idle qemu+ssh://node2/system
t1=$(ms)
only_on() { [ "$(virsh_on "$1" domstate selftest-idle)" = running ] && ! virsh_on "$2" dominfo selftest-idle; }
check "after migration: running on node2 ($(( t1 - t0 )) ms), unknown to node1" only_on node2 node1
check "after migration: the guest's tap is on node2's br-guest ($(taps node2)), none on node1's" \
  test -n "$(taps node2)" -a -z "$(taps node1)"
m0=$(rx node1 eth0); g0=$(rx node1 eth1)
t0=$(ms)
check "migrate back node2 -> node1 with --migrateuri tcp://node1-mig" \
  virsh_on node2 migrate --live --persistent --undefinesource selftest-idle qemu+ssh://node1/system --migrateuri tcp://node1-mig
t1=$(ms)
m1=$(rx node1 eth0); g1=$(rx node1 eth1)
check "after migration back: running on node1 ($(( t1 - t0 )) ms), unknown to node2" only_on node1 node2
check "guest RAM came over the migration network (node1 rx: eth1 $(( g1 - g0 )) B, eth0 $(( m1 - m0 )) B)" \
  test $(( g1 - g0 )) -gt 262144 -a $(( g1 - g0 )) -gt $(( 4 * (m1 - m0) ))

# ------------------------------------------------------------------------------------------- down
(in_lab node2 sleep 600 >/dev/null 2>&1 </dev/null &)      # a stray exec'd process: down must kill it too
t0=$(ms)
out=$("$LAB" down 2>&1 </dev/null); rc=$?
if [ $rc = 0 ] && grep -q '^down: clean' <<<"$out"; then ok "down prints 'down: clean' ($(( $(ms) - t0 )) ms)"; else notok "down: rc=$rc $(oneline <<<"$out")"; fi
check "after down: state dir $FERRY_LAB_DIR is gone" test ! -e "$FERRY_LAB_DIR"
left=$(find /proc/[0-9]*/ns/net /proc/[0-9]*/ns/mnt /proc/[0-9]*/ns/uts /proc/[0-9]*/ns/ipc -maxdepth 0 -printf '%p %l\n' 2>/dev/null |
       grep -F -f <(printf '%s\n' $ns_ids) || true)
check "after down: no process in any lab namespace" test -z "$left"
lsns_clean() { ! lsns -n -r -o NS,TYPE | awk '{print $2":["$1"]"}' | grep -Fxq -f <(printf '%s\n' $ns_ids); }
check "after down: lsns lists none of the lab namespaces" lsns_clean
check "after down: root links unchanged" test "$(ip -o link show | awk -F': ' '{print $2}' | sort)" = "$root_links_before"
# a holder is gone if its pid is free, reused (other start time) or a zombie waiting for pid 1 to reap it
holders_gone() {
  local p st f
  for p in $holders; do
    st=${p#*:}; p=${p%:*}
    f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    read -r -a f <<<"${f##*) }"
    [ "${f[19]}" != "$st" ] || [ "${f[0]}" = Z ] || { echo "holder $p still alive: $(tr '\0' ' ' <"/proc/$p/cmdline")"; return 1; }
  done
}
check "after down: the holder processes ($(echo $holders | sed 's/:[0-9]*//g')) are gone" holders_gone
down_again() { "$LAB" down | grep -q '^down: clean'; }
check "down again is a no-op (idempotent)" down_again

echo "selftest: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
