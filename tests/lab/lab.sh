#!/usr/bin/env bash
# lab.sh -- the ferry test lab: N fake "KVM hosts" on one Linux box.
#
# Every host nodeI is a set of namespaces (network, mount, UTS, IPC) held alive by a holder process
# (`sleep infinity`, argv0 ferry-lab-holder-nodeI).  No `ip netns add`: holders are entered with
# `nsenter -t PID`.  Inside a host: hostname nodeI, private tmpfs /run and /dev/shm, fresh sysfs,
# private /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /var/lib/prometheus /etc/ssh /etc/hosts /tmp
# (bind mounts of per-host dirs in the state dir), and its own virtlogd, libvirtd and sshd.
# A separate "switch" namespace holds three bridges: management 198.51.100.0/24 (host eth0 = .10+I,
# switch = .254, where the heartbeat collector listens), migration 203.0.113.0/24 (host eth1 =
# .10+I, name nodeI-mig) and the guest segment (host eth2, enslaved to the host's bridge br-guest, no
# host address: guests' NICs plug into br-guest, so a guest stays on one L2 segment whichever host it
# runs on).  A "client" namespace sits on the guest segment at 203.0.113.100/24 (guests use
# .101-.150).  The root namespace gets no links, addresses or routes; there are no default routes and
# no IPv6 anywhere, so nothing can leave the lab.  See README for details.
#
#   lab.sh up N [--ticks BIN]            create node1..nodeN (N <= 8); BIN = heartbeat collector
#   lab.sh down                          destroy domains, stop everything we started, remove state
#   lab.sh exec HOST CMD...              run CMD inside HOST (net+mnt+uts+ipc), caller's env kept;
#                                        HOST may be `switch` or `client` (net+uts only)
#   lab.sh status                        holders, daemons, addresses, `virsh list --all` per host
#   lab.sh env                           FERRY_LAB_* variables, for eval
#   lab.sh daemon HOST virtlogd|virtlockd|libvirtd|sshd stop|start|restart
#   lab.sh link HOST down|up [mgmt|mig|guest|all]
#   lab.sh rekey HOST [--restore]        new sshd host key (known_hosts untouched) / original back
#
# Environment: FERRY_LAB_DIR (state dir, default /var/tmp/ferry-lab; must be on a disk fs that is
# visible from the hosts, i.e. not under /tmp or /run), FERRY_LAB_LOG_LEVEL (libvirt log level
# 1..4, default 3), FERRY_LAB_TIMEOUT (seconds for each readiness wait, default 60),
# FERRY_LAB_LOCKS=1 (at `up`: libvirt's lock manager, lockd, with a virtlockd on every host and
# the lockspace shared/leases/ferry for the guests' leases: mkdomain.sh --lease $FERRY_LAB_LEASES).
set -euo pipefail
umask 022

SELF=$(readlink -f "${BASH_SOURCE[0]}")
LAB_DIR=$(realpath -m "${FERRY_LAB_DIR:-/var/tmp/ferry-lab}")
SHARED=$LAB_DIR/shared
REAPER=$LAB_DIR/bin/ferry-lab-reaper   # built at `up` from reaper.c (next to this script)
MGMT_NET=198.51.100          # management network (libvirt, ssh, heartbeats): hosts .11-.18, switch .254
MIG_NET=203.0.113            # migration network: hosts .11-.18 (names nodeI-mig)
# The guest segment is a third L2 segment (bridge fbr-guest in the switch, br-guest in every host).
# It reuses 203.0.113.0/24 above the hosts' slice: client .100, guests .101-.150.  No conflict with
# the migration network: the hosts have no address on the guest segment, and the client (the only
# namespace with an address there) has no link to the migration network; see README.
GUEST_NET=203.0.113
CLIENT_IP=$GUEST_NET.100
GUEST_BRIDGE=br-guest
SWITCH_IP=$MGMT_NET.254
COLLECTOR_PORT=5555
MAX_HOSTS=8
TIMEOUT=${FERRY_LAB_TIMEOUT:-60}
LOG_LEVEL=${FERRY_LAB_LOG_LEVEL:-3}
CLEAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
DAEMONS="virtlogd libvirtd sshd"
# FERRY_LAB_LOCKS=1 at `up`: libvirt's lock manager on every host (lockd: virtlockd, leases in
# shared/leases, see README); the lab remembers it (lab.env LOCKS)
LEASES_DIR=$SHARED/leases
lab_daemons() { if [ "$(lab_get LOCKS)" = 1 ]; then echo "virtlogd virtlockd libvirtd sshd"; else echo "$DAEMONS"; fi; }
# paths that are private inside every host; a caller's cwd below one of them is not visible there
PRIVATE_PATHS="/tmp /run /var/run /dev/shm /sys /etc/ssh /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /var/lib/prometheus"

# ------------------------------------------------------------------------------------------ basics
log() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: ERROR: %s\n' "$*" >&2; exit 1; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }
secs_since() { local d=$(( $(now_ms) - $1 )); printf '%d.%02d' $(( d / 1000 )) $(( d % 1000 / 10 )); }

host_index() { [[ $1 =~ ^node([1-8])$ ]] || return 1; echo "${BASH_REMATCH[1]}"; }
mgmt_ip() { echo "$MGMT_NET.$(( 10 + $1 ))"; }
mig_ip() { echo "$MIG_NET.$(( 10 + $1 ))"; }
lab_hosts() { local n; n=$(lab_get N 2>/dev/null) || return 0; local i; for (( i = 1; i <= n; i++ )); do echo "node$i"; done; }
lab_get() { sed -n "s/^$1=//p" "$LAB_DIR/lab.env" 2>/dev/null | grep . ; }

# wait_until SECONDS CMD... : run CMD every 50 ms until it succeeds; fail after SECONDS
wait_until() {
  local end=$(( $(now_ms) + $1 * 1000 )); shift
  until "$@" >/dev/null 2>&1; do
    (( $(now_ms) < end )) || return 1
    sleep 0.05
  done
}

# ------------------------------------------------------------------- process identity (by pid file)
# A pid file holds "PID STARTTIME" (start time in clock ticks since boot, field 22 of /proc/PID/stat),
# so a recycled pid is never mistaken for ours.
. "$(dirname "$SELF")/pids.sh"
ns_id() { readlink "/proc/$1/ns/$2" 2>/dev/null; } # PID TYPE -> e.g. net:[4026532281]

# holder_pid NAME: pid of a live holder whose namespaces are the ones recorded at `up`
holder_pid() {
  local d=$LAB_DIR/$1 pid
  pid=$(pidfile_pid "$d/holder.pid") || die "$1: not running (no live holder; is the lab up? see: $0 status)"
  [ "$(ns_id "$pid" net)" = "$(sed -n 1p "$d/ns" 2>/dev/null)" ] || die "$1: holder pid $pid is not in the recorded namespace"
  echo "$pid"
}
require_host() { # HOST: must be a host of the running lab
  [ -f "$LAB_DIR/lab.env" ] || die "no lab is up (no $LAB_DIR/lab.env); run: $0 up N"
  local i; i=$(host_index "$1") && (( i <= $(lab_get N) )) || die "unknown host '$1' (hosts: $(lab_hosts | tr '\n' ' '))"
}

# spawn LOGFILE CMD... : start CMD detached: own session, stdin /dev/null, stdout+stderr appended to
# LOGFILE, cwd /, and no inherited fds above 2 (else `out=$(lab.sh up 2)` or a test harness would
# wait for our daemons to close its pipe).  setsid, unshare, nsenter and env all exec() in place
# (setsid forks only for a process-group leader, and background jobs of a non-interactive shell are
# not), so SPAWNED is the pid of CMD itself.
spawn() {
  local logf=$1; shift
  (
    for fd in /proc/$BASHPID/fd/*; do fd=${fd##*/}; (( fd > 2 )) && { eval "exec $fd>&-" || true; } 2>/dev/null; done
    cd / && exec setsid "$@" </dev/null >>"$logf" 2>&1
  ) &
  SPAWNED=$!
}

# run a command inside a host with a clean environment (used by the lab itself; `exec` keeps the env)
in_host() {
  local h=$1; shift
  local p; p=$(holder_pid "$h")
  nsenter -t "$p" -n -m -u -i -- env -i PATH="$CLEAN_PATH" LANG=C.UTF-8 HOME=/root "$@"
}
in_switch() { local p; p=$(holder_pid switch); nsenter -t "$p" -n -u -- "$@"; }

# -------------------------------------------------------------------------------------- preflight
preflight() {
  [ "$(id -u)" = 0 ] || die "must run as root (namespaces, mounts, libvirtd)"
  local b missing=()
  for b in nsenter unshare setsid ip ss sysctl mount umount findmnt realpath timeout ssh sshd ssh-keygen \
           virsh libvirtd virtlogd virt-ssh-helper qemu-system-x86_64 find awk sed gcc; do
    command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || missing+=("$b")
  done
  [ ${#missing[@]} = 0 ] || die "missing programs: ${missing[*]} (Debian: util-linux iproute2 openssh-server openssh-client libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 gcc)"
  grep -qw overlay /proc/filesystems || die "kernel has no overlay filesystem (needed to create missing mount points privately)"
  [ "$LAB_DIR" != / ] || die "FERRY_LAB_DIR must not be /"
  local p
  for p in $PRIVATE_PATHS /proc /dev /etc /var/lib /var/log /var/cache; do
    case $LAB_DIR/ in "$p"/*) die "FERRY_LAB_DIR=$LAB_DIR is below $p, which is private or overlaid inside the hosts; use e.g. /var/tmp/ferry-lab" ;; esac
  done
}

# ------------------------------------------------------------------------ per-host configuration
write_host_files() { # HOST INDEX N
  local h=$1 i=$2 n=$3 d=$LAB_DIR/$1 fs=$LAB_DIR/$1/fs j
  mkdir -p "$d/log" "$fs"/{etc-libvirt,var-lib-prometheus,var-lib-libvirt,var-log-libvirt/qemu,var-cache-libvirt,etc-ssh,tmp,ovl}
  chmod 1777 "$fs/tmp"
  cp -a /etc/libvirt/. "$fs/etc-libvirt/"   # client configs (libvirt.conf); the daemon configs are ours:
  cat >"$fs/etc-libvirt/libvirtd.conf" <<EOF
# ferry lab ($h): generated by lab.sh
# unique host UUID: libvirt refuses a migration between hosts with the same UUID
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
unix_sock_group = "root"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "$LOG_LEVEL:file:/var/log/libvirt/libvirtd.log"
EOF
  # QEMU as root, no relabelling (the shared dir is used by several daemons), no security driver, and
  # no cgroups: all hosts share one cgroup v1 tree and would collide on machine/qemu-1-NAME
  cat >"$fs/etc-libvirt/qemu.conf" <<EOF
# ferry lab ($h): generated by lab.sh
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
stdio_handler = "logd"
EOF
  cat >"$fs/etc-libvirt/virtlogd.conf" <<EOF
# ferry lab ($h): generated by lab.sh
log_outputs = "$LOG_LEVEL:file:/var/log/libvirt/virtlogd.log"
EOF
  if [ "$(lab_get LOCKS)" = 1 ]; then
    # libvirt's lockd: a domain's <lease> (lockspace "ferry", key = its name, target shared/leases)
    # is an fcntl lock virtlockd holds on shared/leases/ferry/KEY while the guest's CPUs run; every
    # host's virtlockd locks the same file (one kernel here, a cluster filesystem in real life), so
    # no second copy of a guest can run, and a source whose migration failed after the target
    # resumed the guest cannot resume its own (the lockspace is created by libvirtd at start-up
    # only for file_lockspace_dir, with auto_disk_leases on: the disks get leases there too)
    echo 'lock_manager = "lockd"' >>"$fs/etc-libvirt/qemu.conf"
    cat >"$fs/etc-libvirt/qemu-lockd.conf" <<EOF
# ferry lab ($h): generated by lab.sh
auto_disk_leases = 1
require_lease_for_disks = 0
file_lockspace_dir = "$LEASES_DIR/ferry"
EOF
    cat >"$fs/etc-libvirt/virtlockd.conf" <<EOF
# ferry lab ($h): generated by lab.sh
log_outputs = "$LOG_LEVEL:file:/var/log/libvirt/virtlockd.log"
EOF
  fi
  # sshd: own host key, listens on this host's two addresses only, root by key only
  local k=$fs/etc-ssh
  ssh-keygen -q -t ed25519 -N '' -C "root@$h" -f "$k/ssh_host_ed25519_key"
  cp "$LAB_DIR/ssh/id_ed25519" "$k/ferry_id_ed25519"; cp "$LAB_DIR/ssh/id_ed25519.pub" "$k/ferry_id_ed25519.pub"
  echo "from=\"$MGMT_NET.0/24,$MIG_NET.0/24\" $(cat "$LAB_DIR/ssh/id_ed25519.pub")" >"$k/ferry_authorized_keys"
  cat >"$k/sshd_config" <<EOF
# ferry lab ($h): generated by lab.sh
ListenAddress $(mgmt_ip "$i"):22
ListenAddress $(mig_ip "$i"):22
AddressFamily inet
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile /etc/ssh/ferry_authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 64:30:128
Subsystem sftp internal-sftp
EOF
  # client side (ssh, and libvirt's qemu+ssh transport): strict host key checking, never interactive
  cat >"$k/ssh_config" <<EOF
# ferry lab ($h): generated by lab.sh
Host *
  User root
  IdentityFile /etc/ssh/ferry_id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile /etc/ssh/ferry_known_hosts
  GlobalKnownHostsFile /etc/ssh/ferry_known_hosts
  StrictHostKeyChecking yes
  UpdateHostKeys no
  BatchMode yes
  ConnectTimeout 5
  AddressFamily inet
EOF
  { echo "127.0.0.1 localhost"
    for (( j = 1; j <= n; j++ )); do echo "$(mgmt_ip "$j") node$j"; echo "$(mig_ip "$j") node$j-mig"; done
    echo "$SWITCH_IP ferry-collector"; } >"$fs/hosts"
  echo "$h" >"$fs/hostname"
  # libvirtd resolves its compiled-in default QEMU user/group (libvirt-qemu) before it reads qemu.conf
  # and refuses to start without them; this box has no libvirt-daemon-system, so the hosts get
  # private copies of /etc/passwd and /etc/group with that user added (the real files stay untouched)
  cp /etc/passwd "$fs/passwd"; cp /etc/group "$fs/group"
  # root's login shell inside the hosts is /bin/sh: sshd runs every remote command (ours, and
  # libvirt's qemu+ssh helper) through it, and bash would source the machine's ~/.bashrc, whose
  # output or side effects (a pyenv rehash racing in a shared ~/.pyenv) are not the lab's business
  sed -i 's#^\(root:[^:]*:0:0:[^:]*:[^:]*\):.*$#\1:/bin/sh#' "$fs/passwd"
  getent passwd libvirt-qemu >/dev/null || echo "libvirt-qemu:x:64055:64055:Libvirt Qemu (ferry lab):/var/lib/libvirt:/usr/sbin/nologin" >>"$fs/passwd"
  getent group libvirt-qemu >/dev/null || echo "libvirt-qemu:x:64055:" >>"$fs/group"
  echo "# ferry lab: no DNS inside the lab (names are in /etc/hosts)" >"$fs/resolv.conf"
}

# ---------------------------------------------------------------- holder (runs inside namespaces)
# Make PATH a mount point even if it does not exist on the real root fs: overlay its parent with a
# per-host upper dir (copy-on-write view of the parent), then mkdir inside the overlay.  The real
# filesystem is never modified.
ensure_mountpoint() { # PATH OVLDIR
  local p=$1 parent key
  [ -e "$p" ] && return 0
  parent=$(dirname "$p"); [ -d "$parent" ] || die "$p: parent $parent does not exist"
  key=$(echo "$parent" | tr / _)
  if ! findmnt -rn -t overlay -o TARGET | grep -qx "$parent"; then
    mkdir -p "$2/$key/upper" "$2/$key/work"
    mount -t overlay "ferry-ovl" -o "lowerdir=$parent,upperdir=$2/$key/upper,workdir=$2/$key/work" "$parent"
  fi
  mkdir -p "$p"
}

holder_main() { # KIND NAME DIR ; KIND = node|switch|client
  local kind=$1 name=$2 d=$3/$2
  if [ "$kind" = node ]; then
    local fs=$d/fs m
    hostname "$name"
    # our new mount ns copied every nsfs mount (e.g. other tools' /run/netns/*); drop the copies so
    # we never keep somebody else's namespace alive
    { findmnt -rn -t nsfs -o TARGET || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
    mount -t tmpfs -o mode=0755,size=64m "ferry-run-$name" /run
    mkdir -p /run/sshd /run/lock /run/libvirt && chmod 1777 /run/lock
    mount -t tmpfs -o mode=1777,size=256m "ferry-shm-$name" /dev/shm
    # fresh sysfs: /sys/class/net then shows this host's interfaces (and hides /sys/fs/cgroup, which
    # is fine: libvirt runs with cgroup_controllers = [ ])
    mount -t sysfs "ferry-sys-$name" /sys
    # var/lib/prometheus: node_exporter's textfile directory, empty (metrics are off until a test
    # makes node-exporter in it). Every mount point first: making one may overlay its parent
    # (/var/lib), which would hide a bind mount made below it before.
    for m in etc/libvirt var/lib/libvirt var/lib/prometheus var/log/libvirt var/cache/libvirt etc/ssh tmp; do
      ensure_mountpoint "/$m" "$fs/ovl"
    done
    for m in etc/libvirt var/lib/libvirt var/lib/prometheus var/log/libvirt var/cache/libvirt etc/ssh tmp; do
      mount --bind "$fs/${m//\//-}" "/$m"
    done
    for m in hosts hostname resolv.conf passwd group; do mount --bind "$fs/$m" "/etc/$m"; done
  else
    hostname "ferry-$name"
  fi
  # no IPv6 at all (no link-local, ND or MLD chatter); set before any interface is created
  sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip link set lo up
  echo $$ >"$d/holder.ready"
  exec -a "ferry-lab-holder-$name" sleep infinity
}

start_holder() { # NAME KIND
  local d=$LAB_DIR/$1
  mkdir -p "$d/log"
  local flags=(--net --uts)
  [ "$2" = node ] && flags+=(--mount --ipc --propagation private)
  spawn "$d/log/holder.log" unshare "${flags[@]}" -- /bin/bash "$SELF" _holder "$2" "$1" "$LAB_DIR"
  record_pid "$d/holder.pid" "$SPAWNED" || die "$1: holder died at once; see $d/log/holder.log"
}

wait_holder() { # NAME
  local d=$LAB_DIR/$1 pid end=$(( $(now_ms) + TIMEOUT * 1000 ))
  read -r pid _ <"$d/holder.pid"
  until [ -s "$d/holder.ready" ]; do
    proc_alive "$pid" || die "$1: namespace setup failed: $(tail -n 3 "$d/log/holder.log" | tr '\n' ' ')"
    (( $(now_ms) < end )) || die "$1: namespace setup not done after ${TIMEOUT}s; see $d/log/holder.log"
    sleep 0.02
  done
  [ "$(cat "$d/holder.ready")" = "$pid" ] || die "$1: holder.ready does not match pid $pid"
  holder_ns "$1" "$pid" >"$d/ns" || die "$1: holder pid $pid is not in new namespaces"
}

# holder_ns NAME PID: the ids of the namespaces this holder created (net first).  Each must differ
# from our own: a namespace we merely share must never be treated as "ours" by `down`.
holder_ns() {
  local t id types="net uts"
  case $1 in switch|client) ;; *) types="net uts mnt ipc" ;; esac
  for t in $types; do
    id=$(ns_id "$2" "$t") && [ -n "$id" ] && [ "$id" != "$(ns_id "$BASHPID" "$t")" ] || return 1
    echo "$id"
  done
}

wire_network() { # N
  local sw cp i hp batch=""
  sw=$(holder_pid switch)
  batch+="link add fbr-mgmt type bridge"$'\n'"link set fbr-mgmt up"$'\n'"addr add $SWITCH_IP/24 dev fbr-mgmt"$'\n'
  batch+="link add fbr-mig type bridge"$'\n'"link set fbr-mig up"$'\n'
  batch+="link add fbr-guest type bridge"$'\n'"link set fbr-guest up"$'\n'
  for (( i = 1; i <= $1; i++ )); do
    hp=$(holder_pid "node$i")
    # the veths are created inside the switch ns with their host end placed straight into the host:
    # they never exist in the root namespace
    batch+="link add fn$i-mgmt type veth peer name eth0 netns $hp"$'\n'"link set fn$i-mgmt master fbr-mgmt up"$'\n'
    batch+="link add fn$i-mig type veth peer name eth1 netns $hp"$'\n'"link set fn$i-mig master fbr-mig up"$'\n'
    batch+="link add fn$i-guest type veth peer name eth2 netns $hp"$'\n'"link set fn$i-guest master fbr-guest up"$'\n'
  done
  cp=$(holder_pid client)
  batch+="link add fcl-guest type veth peer name eth0 netns $cp"$'\n'"link set fcl-guest master fbr-guest up"$'\n'
  nsenter -t "$sw" -n -- ip -batch - <<<"$batch" || die "switch: creating bridges/veths failed"
  for (( i = 1; i <= $1; i++ )); do
    hp=$(holder_pid "node$i")
    # eth2 is only a port of br-guest, the bridge libvirt plugs guest NICs into (<interface
    # type='bridge'><source bridge='br-guest'/>).  Neither gets an address: the host is not on the
    # guest segment.  arp_ignore=8: br-guest never answers ARP, not even for the host's own
    # addresses on other links (Linux would by default).
    nsenter -t "$hp" -n -- ip -batch - <<EOF || die "node$i: configuring eth0/eth1/eth2/$GUEST_BRIDGE failed"
addr add $(mgmt_ip "$i")/24 dev eth0
addr add $(mig_ip "$i")/24 dev eth1
link add $GUEST_BRIDGE type bridge
link set eth2 master $GUEST_BRIDGE
link set eth0 up
link set eth1 up
link set eth2 up
link set $GUEST_BRIDGE up
EOF
    nsenter -t "$hp" -n -- sysctl -q -w "net.ipv4.conf.$GUEST_BRIDGE.arp_ignore=8" ||
      die "node$i: sysctl arp_ignore on $GUEST_BRIDGE failed"
  done
  nsenter -t "$cp" -n -- ip -batch - <<EOF || die "client: configuring eth0 failed"
addr add $CLIENT_IP/24 dev eth0
link set eth0 up
EOF
}

# --------------------------------------------------------------------------------------- daemons
start_daemon() { # HOST NAME : start one daemon exactly as `up` does, record its pid
  local h=$1 d=$LAB_DIR/$1 hp cmd reaper=() pid
  case $2 in
    virtlogd) cmd=(/usr/sbin/virtlogd) ;;
    virtlockd) cmd=(/usr/sbin/virtlockd) ;;
    libvirtd) cmd=(/usr/sbin/libvirtd) reaper=("$REAPER") ;;
    sshd) cmd=(/usr/sbin/sshd -D -e -f /etc/ssh/sshd_config) ;;
    *) die "unknown daemon '$2' (virtlogd|virtlockd|libvirtd|sshd)" ;;
  esac
  hp=$(holder_pid "$h")
  echo "=== $(date '+%F %T') start: ${reaper[*]} ${cmd[*]}" >>"$d/log/$2.log"
  spawn "$d/log/$2.log" nsenter -t "$hp" -n -m -u -i -- "${reaper[@]}" env -i PATH="$CLEAN_PATH" LANG=C.UTF-8 HOME=/root "${cmd[@]}"
  pid=$SPAWNED
  if [ ${#reaper[@]} -gt 0 ]; then
    # the daemon is the reaper's first child; it is what the pid file names (and what a test signals)
    local end=$(( $(now_ms) + 5000 )) kids=""
    until kids=$(cat "/proc/$SPAWNED/task/$SPAWNED/children" 2>/dev/null) && [ -n "${kids// /}" ]; do
      proc_alive "$SPAWNED" || die "$h: $2 died at once; see $d/log/$2.log"
      (( $(now_ms) < end )) || die "$h: the reaper of $2 (pid $SPAWNED) started no child in 5 s"
      sleep 0.01
    done
    pid=${kids%% *}
  fi
  record_pid "$d/$2.pid" "$pid" || die "$h: $2 died at once; see $d/log/$2.log"
}

# daemon_ready HOST NAME : one readiness probe
daemon_ready() {
  local h=$1 hp; hp=$(holder_pid "$h")
  case $2 in
    virtlogd) [ -S "/proc/$hp/root/run/libvirt/virtlogd-sock" ] ;;
    virtlockd) [ -S "/proc/$hp/root/run/libvirt/virtlockd-sock" ] ;;
    libvirtd) in_host "$h" timeout 10 virsh -q -c qemu:///system version >/dev/null 2>&1 ;;
    # both ListenAddresses bound (/proc/PID/net/tcp is the netns of PID; 0016 = port 22, 0A = LISTEN)
    sshd) [ "$(awk '$2 ~ /:0016$/ && $4 == "0A"' "/proc/$hp/net/tcp" | wc -l)" -ge 2 ] ;;
  esac
}

# wait_daemon HOST NAME : bounded wait for readiness; fail at once if the daemon dies
wait_daemon() {
  local h=$1 d=$LAB_DIR/$1 end=$(( $(now_ms) + TIMEOUT * 1000 ))
  until daemon_ready "$h" "$2"; do
    pidfile_pid "$d/$2.pid" >/dev/null || die "$h: $2 exited during start-up:"$'\n'"$(log_tail "$h" "$2")"
    (( $(now_ms) < end )) || die "$h: $2 not ready after ${TIMEOUT}s:"$'\n'"$(log_tail "$h" "$2")"
    sleep 0.05
  done
}

log_tail() { # HOST DAEMON: last lines of its stdout/stderr log and of its own log file
  local f
  for f in "$LAB_DIR/$1/log/$2.log" "$LAB_DIR/$1/fs/var-log-libvirt/$2.log"; do
    [ -s "$f" ] && { echo "  --- $f:"; tail -n 8 "$f" | sed 's/^/  /'; }
  done
  true
}

# kill_pids SIGNAL_WAIT_SECONDS PID... : SIGTERM, wait (bounded), SIGKILL the rest, wait again.
# Zombies count as gone (their parent, pid 1, reaps them).  Prints the pids still alive at the end.
kill_pids() {
  local wait_s=$1; shift
  [ $# -gt 0 ] || return 0
  local sig p alive end
  for sig in TERM KILL; do
    kill -s "$sig" "$@" 2>/dev/null || true
    end=$(( $(now_ms) + wait_s * 1000 ))
    while :; do
      alive=(); for p in "$@"; do proc_alive "$p" && alive+=("$p"); done
      [ ${#alive[@]} = 0 ] && return 0
      (( $(now_ms) < end )) || break
      sleep 0.05
    done
    [ "$sig" = TERM ] && log "still alive ${wait_s}s after SIGTERM, sending SIGKILL: ${alive[*]}"
    set -- "${alive[@]}"
  done
  echo "${alive[*]}"
}

stop_daemon() { # HOST NAME
  local pf=$LAB_DIR/$1/$2.pid pid left
  pid=$(pidfile_pid "$pf") || { rm -f "$pf"; log "$1: $2 is not running"; return 0; }
  left=$(kill_pids 15 "$pid")
  [ -z "$left" ] || die "$1: $2 (pid $pid) survived SIGTERM and SIGKILL"
  rm -f "$pf"
}

# ------------------------------------------------------------------------------------------- up
UP_IN_PROGRESS=0
up_cleanup() {
  local rc=$?
  [ "$UP_IN_PROGRESS" = 1 ] || return 0
  trap - EXIT INT TERM
  if [ "${FERRY_LAB_KEEP_ON_FAILURE:-0}" = 1 ]; then
    log "up failed (exit $rc); FERRY_LAB_KEEP_ON_FAILURE=1: leaving the partial lab for inspection (run: $0 down)"
    exit "$rc"
  fi
  log "up failed (exit $rc); tearing the partial lab down"
  ( cmd_down ) || true
  exit "$rc"
}

cmd_up() {
  local n="" ticks=""
  while [ $# -gt 0 ]; do
    case $1 in
      --ticks) [ $# -ge 2 ] || die "--ticks needs a program"; ticks=$2; shift 2 ;;
      -*) die "unknown option $1 (usage: $0 up N [--ticks BIN])" ;;
      *) [ -z "$n" ] || die "usage: $0 up N [--ticks BIN]"; n=$1; shift ;;
    esac
  done
  [[ $n =~ ^[1-8]$ ]] || die "usage: $0 up N [--ticks BIN]   (N = 1..$MAX_HOSTS)"
  if [ -n "$ticks" ]; then
    ticks=$(realpath -e "$ticks" 2>/dev/null) && [ -x "$ticks" ] || die "--ticks: '$2' is not an executable file"
  fi
  preflight
  if [ -e "$LAB_DIR" ]; then
    die "a lab is already up (or left over) in $LAB_DIR (hosts: $(lab_hosts | tr '\n' ' ')); run: $0 down"
  fi
  local t0 t1 t2 t3 i h
  t0=$(now_ms)
  UP_IN_PROGRESS=1
  trap up_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  mkdir -p "$LAB_DIR/ssh" "$LAB_DIR/switch/log" "$LAB_DIR/client/log" "$SHARED"
  echo "ferry lab state dir, created by $SELF; removed by: lab.sh down" >"$LAB_DIR/.ferry-lab"
  chmod 1777 "$SHARED"
  cat >"$LAB_DIR/lab.env" <<EOF
N=$n
BOOT_ID=$(cat /proc/sys/kernel/random/boot_id)
START_TICKS=$(proc_start $$)
STARTED=$(date '+%F %T')
SCRIPT=$SELF
TICKS_BIN=$ticks
LOCKS=$([ "${FERRY_LAB_LOCKS:-0}" = 1 ] && echo 1 || echo 0)
EOF
  : >"$LAB_DIR/ticks.log"
  # libvirtd's subreaper (see reaper.c: without it every QEMU that exits waits for this machine's
  # PID 1 to reap it, 1-2 s per stop or migration)
  mkdir -p "$LAB_DIR/bin"
  gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$REAPER" "$(dirname "$SELF")/reaper.c" ||
    die "building $(dirname "$SELF")/reaper.c failed"
  ssh-keygen -q -t ed25519 -N '' -C ferry-lab -f "$LAB_DIR/ssh/id_ed25519"
  for (( i = 1; i <= n; i++ )); do write_host_files "node$i" "$i" "$n"; done
  # every host knows every host's key under both names and both addresses
  for (( i = 1; i <= n; i++ )); do
    echo "node$i,$(mgmt_ip "$i"),node$i-mig,$(mig_ip "$i") $(cut -d' ' -f1,2 "$LAB_DIR/node$i/fs/etc-ssh/ssh_host_ed25519_key.pub")"
  done >"$LAB_DIR/ssh/known_hosts"
  for (( i = 1; i <= n; i++ )); do cp "$LAB_DIR/ssh/known_hosts" "$LAB_DIR/node$i/fs/etc-ssh/ferry_known_hosts"; done

  # namespaces (all holders set themselves up in parallel), then the wire
  start_holder switch switch
  start_holder client client
  for (( i = 1; i <= n; i++ )); do start_holder "node$i" node; done
  wait_holder switch
  wait_holder client
  for (( i = 1; i <= n; i++ )); do wait_holder "node$i"; done
  wire_network "$n"
  t1=$(now_ms)

  # the heartbeat collector in the switch namespace
  if [ -n "$ticks" ]; then
    spawn "$LAB_DIR/switch/log/collector.log" nsenter -t "$(holder_pid switch)" -n -u -- \
      env -i PATH="$CLEAN_PATH" LANG=C.UTF-8 HOME=/root "$ticks" listen "$SWITCH_IP" "$COLLECTOR_PORT" "$LAB_DIR/ticks.log"
    record_pid "$LAB_DIR/switch/collector.pid" "$SPAWNED" || die "switch: collector $ticks died at once; see $LAB_DIR/switch/log/collector.log"
    local end=$(( $(now_ms) + TIMEOUT * 1000 ))
    until collector_listening; do
      pidfile_pid "$LAB_DIR/switch/collector.pid" >/dev/null ||
        die "switch: collector $ticks exited: $(tail -n 3 "$LAB_DIR/switch/log/collector.log" | tr '\n' ' ')"
      (( $(now_ms) < end )) ||
        die "switch: collector $ticks is not listening on udp $SWITCH_IP:$COLLECTOR_PORT after ${TIMEOUT}s; see $LAB_DIR/switch/log/collector.log"
      sleep 0.05
    done
  fi

  # daemons.  A libvirtd with an empty cache probes every QEMU binary first (about 8 s here, and the
  # probes of several hosts do not overlap), so node1's libvirtd starts first and its capabilities
  # cache seeds the other hosts (libvirt re-validates a cache against binaries, kernel and CPU).
  # FERRY_LAB_CACHE_DIR, if set, keeps that cache across labs (it is then ours to delete).
  local cache=${FERRY_LAB_CACHE_DIR:-}
  if [ -n "$cache" ] && compgen -G "$cache/qemu/capabilities/*.xml" >/dev/null; then
    for (( i = 1; i <= n; i++ )); do cp -a "$cache/." "$LAB_DIR/node$i/fs/var-cache-libvirt/"; done
  fi
  for (( i = 1; i <= n; i++ )); do start_daemon "node$i" virtlogd; start_daemon "node$i" sshd; done
  if [ "$(lab_get LOCKS)" = 1 ]; then
    # libvirtd's lock driver asks virtlockd for its lockspace as it starts: virtlockd first
    mkdir -p "$LEASES_DIR/ferry"
    for (( i = 1; i <= n; i++ )); do start_daemon "node$i" virtlockd; wait_daemon "node$i" virtlockd; done
  fi
  start_daemon node1 libvirtd
  wait_daemon node1 libvirtd
  if [ -n "$cache" ]; then mkdir -p "$cache" && cp -a "$LAB_DIR/node1/fs/var-cache-libvirt/." "$cache/"; fi
  for (( i = 2; i <= n; i++ )); do
    cp -a "$LAB_DIR/node1/fs/var-cache-libvirt/." "$LAB_DIR/node$i/fs/var-cache-libvirt/"
    start_daemon "node$i" libvirtd
  done
  for (( i = 1; i <= n; i++ )); do
    for h in $(lab_daemons); do wait_daemon "node$i" "$h"; done
  done
  t2=$(now_ms)

  # the ssh mesh, as libvirt will use it: every host -> every other host by name, management network;
  # and every host -> next host by its -mig name (one background job per source host)
  local pids=() src dst fails=0
  for (( i = 1; i <= n; i++ )); do
    (
      for (( j = 1; j <= n; j++ )); do
        [ "$j" = "$i" ] && continue
        for dst in "node$j" $( (( j == i % n + 1 )) && echo "node$j-mig"); do
          out=$(in_host "node$i" ssh "$dst" hostname </dev/null 2>&1) && [ "$out" = "node$j" ] ||
            { log "ssh node$i -> $dst failed: $out"; exit 1; }
        done
      done
    ) &
    pids+=($!)
  done
  for src in "${pids[@]}"; do wait "$src" || fails=1; done
  [ "$fails" = 0 ] || die "ssh mesh check failed (see above; sshd logs: $LAB_DIR/nodeI/log/sshd.log)"
  t3=$(now_ms)

  UP_IN_PROGRESS=0
  trap - EXIT INT TERM
  echo "up: $n hosts ($(lab_hosts | tr '\n' ' ' | sed 's/ $//')) ready in $(secs_since "$t0")s" \
       "(namespaces+network $(( t1 - t0 )) ms, daemons $(( t2 - t1 )) ms, ssh mesh $(( t3 - t2 )) ms)"
  for (( i = 1; i <= n; i++ )); do echo "  node$i  eth0 $(mgmt_ip "$i")  eth1 $(mig_ip "$i") (node$i-mig)  eth2 in $GUEST_BRIDGE (no address)"; done
  echo "  switch $SWITCH_IP  collector: ${ticks:-none}  shared: $SHARED  state: $LAB_DIR"
  echo "  client $CLIENT_IP/24 on the guest segment ($GUEST_BRIDGE; guests $GUEST_NET.101-$GUEST_NET.150)"
}

collector_listening() { # udp socket bound to $SWITCH_IP:5555 in the switch ns (0100007F-style hex, port 15B3)
  local hp; hp=$(holder_pid switch)
  awk '$2 == "FE6433C6:15B3"' "/proc/$hp/net/udp" | grep -q .
}

# ----------------------------------------------------------------------------------------- down
# our_ns_ids: every namespace id (net:[...], mnt:[...], ...) we created: recorded at `up`, plus those
# of live holders (covers a holder that died before its ids were recorded... or was just recorded)
our_ns_ids() {
  local d pid
  for d in "$LAB_DIR"/switch "$LAB_DIR"/client "$LAB_DIR"/node[1-8]; do
    [ -d "$d" ] || continue
    cat "$d/ns" 2>/dev/null || true
    pid=$(pidfile_pid "$d/holder.pid") && holder_ns "${d##*/}" "$pid" || true
  done | sort -u | grep . || true
}

# ns_members ID...: pids of every process living in one of these namespaces
ns_members() {
  [ $# -gt 0 ] || return 0
  find /proc/[0-9]*/ns/net /proc/[0-9]*/ns/mnt /proc/[0-9]*/ns/uts /proc/[0-9]*/ns/ipc -maxdepth 0 \
       -printf '%p %l\n' 2>/dev/null |
    awk -v ids="$*" 'BEGIN { n = split(ids, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
                     want[$2] { split($1, p, "/"); print p[3] }' | sort -un
}

my_ancestors() { local p=$BASHPID PF; while [ "$p" -gt 1 ]; do echo "$p"; proc_fields "$p" || break; p=${PF[1]}; done; }

describe_pid() { local a; a=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null); echo "pid $1: ${a:-?}"; }

cmd_down() {
  if [ ! -e "$LAB_DIR" ]; then echo "down: clean (nothing up in $LAB_DIR)"; return 0; fi
  [ -f "$LAB_DIR/.ferry-lab" ] || die "refusing to touch $LAB_DIR: no .ferry-lab marker (not a lab state dir)"
  local t0 h d f pid ids=() victims=() holders=() left=() p
  t0=$(now_ms)
  if [ "$(lab_get BOOT_ID)" != "$(cat /proc/sys/kernel/random/boot_id)" ]; then
    log "state dir is from an earlier boot: nothing of it can be running"
  else
    # 1. guests: destroy + undefine on every host whose libvirtd still answers
    for d in "$LAB_DIR"/node[1-8]; do
      [ -d "$d" ] || continue; h=${d##*/}
      pidfile_pid "$d/holder.pid" >/dev/null && pidfile_pid "$d/libvirtd.pid" >/dev/null || continue
      local dom
      for dom in $(in_host "$h" timeout 15 virsh -q -c qemu:///system list --all --name 2>/dev/null || true); do
        in_host "$h" timeout 30 virsh -q -c qemu:///system destroy "$dom" >/dev/null 2>&1 || true
        in_host "$h" timeout 15 virsh -q -c qemu:///system undefine --nvram "$dom" >/dev/null 2>&1 ||
          in_host "$h" timeout 15 virsh -q -c qemu:///system undefine "$dom" >/dev/null 2>&1 || true
        log "$h: destroyed domain $dom"
      done
    done
    # 2. the daemons and collector we recorded
    for f in "$LAB_DIR"/node[1-8]/{sshd,libvirtd,virtlockd,virtlogd}.pid "$LAB_DIR"/switch/collector.pid; do
      pid=$(pidfile_pid "$f" 2>/dev/null) && victims+=("$pid")
    done
    [ ${#victims[@]} = 0 ] || kill_pids 10 "${victims[@]}" >/dev/null
    # 3. anything else living in our namespaces (qemu, ssh sessions, exec'd shells, ...), started
    #    after the lab (a recycled namespace id can never match an older process), holders excluded
    mapfile -t ids < <(our_ns_ids)
    for f in "$LAB_DIR"/*/holder.pid; do pid=$(pidfile_pid "$f" 2>/dev/null) && holders+=("$pid"); done
    local skip start0 st
    skip=" ${holders[*]} $(my_ancestors | tr '\n' ' ') "
    start0=$(lab_get START_TICKS)
    victims=()
    for p in $(ns_members "${ids[@]}"); do
      [[ $skip == *" $p "* ]] && continue
      st=$(proc_start "$p") || continue
      if (( st >= start0 )); then victims+=("$p"); else log "not killing $(describe_pid "$p"): older than the lab"; fi
    done
    if [ ${#victims[@]} -gt 0 ]; then
      for p in "${victims[@]}"; do log "stopping $(describe_pid "$p")"; done
      kill_pids 5 "${victims[@]}" >/dev/null
    fi
    # 4. holders last: their namespaces (and with them veths, bridges and mounts) go away
    [ ${#holders[@]} = 0 ] || kill_pids 5 "${holders[@]}" >/dev/null
    # 5. verify: no process of ours anywhere
    for p in $(ns_members "${ids[@]}"); do
      [[ " $(my_ancestors | tr '\n' ' ') " == *" $p "* ]] && { left+=("$(describe_pid "$p") (the caller of down, inside the lab)"); continue; }
      left+=("$(describe_pid "$p")")
    done
    for f in "$LAB_DIR"/*/*.pid; do
      [ -e "$f" ] || continue
      pid=$(pidfile_pid "$f") && left+=("$(describe_pid "$pid") (from $f)")
    done
  fi
  if [ ${#left[@]} -gt 0 ]; then
    printf 'down: NOT clean, still running:\n' >&2; printf '  %s\n' "${left[@]}" >&2
    die "kept $LAB_DIR (pid files); fix the above and run down again"
  fi
  # 6. state (the bind-mounted dirs are no longer mounted anywhere: their mount namespaces are gone)
  if findmnt -rn -o TARGET | awk -v d="$LAB_DIR" 'index($0, d) == 1 {f = 1} END {exit !f}'; then die "something is mounted below $LAB_DIR in the root mount namespace"; fi
  rm -rf "$LAB_DIR"
  # 7. final checks
  local bad=()
  [ ! -e "$LAB_DIR" ] || bad+=("$LAB_DIR still exists")
  ip -o link show 2>/dev/null | grep -Eq ': (fbr-|fn[1-8]-|fcl-)' && bad+=("lab interfaces in the root namespace: $(ip -o link | grep -Eo '(fbr-|fn[1-8]-|fcl-)[a-z]+' | tr '\n' ' ')")
  if [ ${#ids[@]} -gt 0 ]; then
    local alive_ns
    alive_ns=$(lsns -n -r -o NS,TYPE 2>/dev/null | awk '{print $2":["$1"]"}' | grep -Fx -f <(printf '%s\n' "${ids[@]}") || true)
    [ -z "$alive_ns" ] || bad+=("namespaces still listed by lsns: $alive_ns")
  fi
  if [ ${#bad[@]} -gt 0 ]; then printf 'down: NOT clean: %s\n' "${bad[@]}" >&2; exit 1; fi
  echo "down: clean ($(secs_since "$t0")s)"
}

# ---------------------------------------------------------------------------------------- status
cmd_status() {
  [ -f "$LAB_DIR/lab.env" ] || { echo "lab: down (no $LAB_DIR/lab.env)"; return 0; }
  local h d x pid hp ok=0
  echo "lab: $LAB_DIR  hosts: $(lab_hosts | tr '\n' ' ')  started: $(lab_get STARTED)"
  d=$LAB_DIR/switch
  printf 'switch  holder=%s  collector=%s  ticks.log=%s lines  links:' \
    "$(pidfile_pid "$d/holder.pid" || echo DEAD)" \
    "$(if [ -f "$d/collector.pid" ]; then pidfile_pid "$d/collector.pid" || echo DEAD; else echo none; fi)" \
    "$(wc -l <"$LAB_DIR/ticks.log" 2>/dev/null || echo 0)"
  if hp=$(pidfile_pid "$d/holder.pid"); then
    nsenter -t "$hp" -n -- ip -br link | awk '$1 != "lo" {sub(/@.*/, "", $1); printf " %s=%s", $1, $2}'
  fi
  echo
  d=$LAB_DIR/client
  printf 'client  holder=%s' "$(pidfile_pid "$d/holder.pid" || echo DEAD)"
  if hp=$(pidfile_pid "$d/holder.pid"); then
    nsenter -t "$hp" -n -- ip -br -4 addr | awk '$1 != "lo" {sub(/@.*/, "", $1); printf "  %s %s %s", $1, $2, $3}'
  else
    ok=1
  fi
  echo
  for h in $(lab_hosts); do
    d=$LAB_DIR/$h
    pid=$(pidfile_pid "$d/holder.pid") || { pid=DEAD; ok=1; }
    printf '%s  holder=%s' "$h" "$pid"
    for x in $(lab_daemons); do
      pid=$(pidfile_pid "$d/$x.pid") || { pid=DOWN; ok=1; }
      printf '  %s=%s' "$x" "$pid"
    done
    echo
    hp=$(pidfile_pid "$d/holder.pid") || continue
    echo "    hostname=$(nsenter -t "$hp" -u hostname) $(nsenter -t "$hp" -n -- ip -br -4 addr | awk '$1 != "lo" {sub(/@.*/, "", $1); printf " %s %s %s", $1, $2, $3}')"
    echo "    $GUEST_BRIDGE ports: $(nsenter -t "$hp" -n -- ip -o link show master "$GUEST_BRIDGE" 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); printf "%s ", $2}')"
    if pidfile_pid "$d/libvirtd.pid" >/dev/null; then
      in_host "$h" timeout 10 virsh -c qemu:///system list --all 2>&1 | sed '/^$/d; s/^/    /' || true
    fi
  done
  return $ok
}

# ------------------------------------------------------------------------------------------ exec
cmd_exec() {
  [ $# -ge 2 ] || die "usage: $0 exec HOST CMD..."
  local h=$1 wd=$PWD p; shift
  case $h in switch|client) p=$(holder_pid "$h"); exec nsenter -t "$p" -n -u -- "$@" ;; esac
  require_host "$h"
  p=$(holder_pid "$h")
  for x in $PRIVATE_PATHS; do case $wd/ in "$x"/*) wd=/ ;; esac; done
  [ -d "$wd" ] || wd=/
  # the caller's environment, stdin/stdout/stderr and exit status pass straight through
  exec nsenter -t "$p" -n -m -u -i --wd="$wd" -- "$@"
}

# ------------------------------------------------------------------------------- fault injection
cmd_daemon() {
  [ $# = 3 ] || die "usage: $0 daemon HOST virtlogd|virtlockd|libvirtd|sshd stop|start|restart"
  local h=$1 name=$2 action=$3
  require_host "$h"
  case $name in virtlogd|virtlockd|libvirtd|sshd) ;; *) die "unknown daemon '$name' (virtlogd|virtlockd|libvirtd|sshd)" ;; esac
  case $action in
    stop) stop_daemon "$h" "$name"; echo "$h: $name stopped" ;;
    start)
      if pid=$(pidfile_pid "$LAB_DIR/$h/$name.pid"); then echo "$h: $name already running (pid $pid)"; return 0; fi
      start_daemon "$h" "$name"; wait_daemon "$h" "$name"
      echo "$h: $name started (pid $(pidfile_pid "$LAB_DIR/$h/$name.pid"))" ;;
    restart) cmd_daemon "$h" "$name" stop && cmd_daemon "$h" "$name" start ;;
    *) die "usage: $0 daemon HOST $name stop|start|restart" ;;
  esac
}

cmd_link() {
  local usage="usage: $0 link HOST down|up [mgmt|mig|guest|all]"
  [ $# -ge 2 ] && [ $# -le 3 ] || die "$usage"
  local h=$1 state=$2 which=${3:-all} i nets net want
  require_host "$h"; i=$(host_index "$h")
  case $state in down|up) ;; *) die "$usage" ;; esac
  case $which in mgmt) nets="mgmt:eth0" ;; mig) nets="mig:eth1" ;; guest) nets="guest:eth2" ;;
    all) nets="mgmt:eth0 mig:eth1 guest:eth2" ;; *) die "$usage" ;; esac
  local hp; hp=$(holder_pid "$h")
  for net in $nets; do
    # the switch-side port goes down: the host sees NO-CARRIER, like a pulled cable
    in_switch ip link set "fn$i-${net%%:*}" "$state" || die "$h: setting switch port fn$i-${net%%:*} $state failed"
    # wait until the host's end sees it (carrier 0 = cable pulled, 1 = back)
    [ "$state" = up ] && want=1 || want=0
    wait_until 10 grep -qx "$want" "/proc/$hp/root/sys/class/net/${net#*:}/carrier" ||
      die "$h: ${net#*:} carrier is $(cat "/proc/$hp/root/sys/class/net/${net#*:}/carrier" 2>&1), expected $want after 10s"
    echo "$h: ${net#*:} ($net network) $state"
  done
}

cmd_rekey() {
  [ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 rekey HOST [--restore]"
  local h=$1 k
  require_host "$h"
  k=$LAB_DIR/$h/fs/etc-ssh/ssh_host_ed25519_key
  if [ "${2:-}" = --restore ]; then
    [ -f "$k.orig" ] || die "$h: host key was not changed (no saved original)"
    mv -f "$k.orig" "$k"; mv -f "$k.orig.pub" "$k.pub"
  elif [ -z "${2:-}" ]; then
    [ -f "$k.orig" ] || { mv "$k" "$k.orig"; mv "$k.pub" "$k.orig.pub"; }   # keep the very first key
    rm -f "$k" "$k.pub"
    ssh-keygen -q -t ed25519 -N '' -C "root@$h-rekeyed" -f "$k"
  else
    die "usage: $0 rekey HOST [--restore]"
  fi
  # sshd reads its host key at start: restart it (existing sessions survive)
  stop_daemon "$h" sshd; start_daemon "$h" sshd; wait_daemon "$h" sshd
  echo "$h: sshd host key is now $(ssh-keygen -l -f "$k.pub" | awk '{print $2}')$([ "${2:-}" = --restore ] && echo ' (original)' || echo ' (known_hosts everywhere still has the old one)')"
}

cmd_env() {
  [ -f "$LAB_DIR/lab.env" ] || die "no lab is up in $LAB_DIR; run: $0 up N"
  printf 'FERRY_LAB_DIR=%q\n' "$LAB_DIR"
  printf 'FERRY_LAB_SHARED=%q\n' "$SHARED"
  printf 'FERRY_LAB_HOSTS="%s"\n' "$(lab_hosts | tr '\n' ' ' | sed 's/ $//')"
  printf 'FERRY_LAB_COLLECTOR=%s\n' "$SWITCH_IP:$COLLECTOR_PORT"
  printf 'FERRY_LAB_SCRIPT=%q\n' "$SELF"
  printf 'FERRY_LAB_CLIENT=%s\n' "$CLIENT_IP"
  printf 'FERRY_LAB_GUEST_BRIDGE=%s\n' "$GUEST_BRIDGE"
  printf 'FERRY_LAB_GUEST_NET=%s\n' "$GUEST_NET.0/24"
  printf 'FERRY_LAB_GUEST_IPS=%s\n' "$GUEST_NET.101-$GUEST_NET.150"
  # with FERRY_LAB_LOCKS=1: the leases' target directory (mkdomain.sh --lease)
  if [ "$(lab_get LOCKS)" = 1 ]; then printf 'FERRY_LAB_LEASES=%q\n' "$LEASES_DIR"; else echo 'FERRY_LAB_LEASES='; fi
}

usage() { sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; exit 2; }

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  down) [ $# = 1 ] || die "usage: $0 down"; cmd_down ;;
  exec) shift; cmd_exec "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  daemon) shift; cmd_daemon "$@" ;;
  link) shift; cmd_link "$@" ;;
  rekey) shift; cmd_rekey "$@" ;;
  _holder) shift; holder_main "$@" ;;
  -h|--help|help|"") usage ;;
  *) log "unknown command '$1'"; usage ;;
esac
