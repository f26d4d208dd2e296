#!/usr/bin/env bash
# cluster.sh -- turn the hosts of a running ferry lab (lab.sh up N) into Pacemaker/Corosync nodes.
#
#   cluster.sh up                       corosync (knet, crypto) + pacemakerd in every host, wait for
#                                       N online + DC, fence device (stonith:fence_ferrylab) started,
#                                       stonith-enabled=true, no-quorum-policy=stop.  Prints timings.
#   cluster.sh down                     stop pacemaker + corosync everywhere (by pid), unmount what up
#                                       mounted, remove the cluster state.  Idempotent.
#   cluster.sh exec HOST CMD...         = lab.sh exec (caller's env kept)
#   cluster.sh crm HOST ARGS...         crmsh inside HOST
#   cluster.sh status                   pids per host + crm_mon -1
#   cluster.sh state RSC                "ROLE NODES PENDING", e.g. "Started node2 -",
#                                       "Started node1,node2 Migrating", "Stopped - -"
#   cluster.sh wait-started RSC [NODE|!NODE] [SECONDS]
#                                       wait until RSC is Started on exactly one node (= NODE / != NODE)
#                                       with no pending op; prints the node and the seconds waited
#   cluster.sh wait-online [HOST...] [--timeout S]   wait until HOSTs (default: all) are online + a DC
#   cluster.sh wait-idle [SECONDS]    wait until the DC's controller is S_IDLE (no join/transition)
#   cluster.sh poweroff HOST            SIGKILL every process of HOST (qemu included; holder kept), by
#                                       pid, then fresh tmpfs /run, /dev/shm, /tmp ("RAM" lost)
#   cluster.sh stop HOST [SECONDS]      HOST leaves the cluster cleanly, as `crm cluster stop` or a host
#                                       shutdown does: SIGTERM to its pacemakerd (Pacemaker moves or
#                                       stops its resources first), waits up to SECONDS (default 300)
#                                       for it to exit, then corosync.  libvirtd, sshd and guests stay.
#   cluster.sh start HOST               corosync + pacemakerd again on a HOST that was stopped
#   cluster.sh poweron HOST [--now]     start virtlogd (virtlockd), libvirtd, sshd (lab.sh daemon), corosync,
#                                       pacemakerd (a remote node: pacemaker-remoted).  Waits first until no live peer's corosync still
#                                       lists HOST and no fencing of HOST is pending, +2 s (the
#                                       "We were allegedly just fenced" trap); --now skips that.
#
# Environment: FERRY_LAB_DIR (as lab.sh), FERRY_CLUSTER_TOKEN (corosync token ms, default 1000),
# FERRY_CLUSTER_DC_DEADTIME (default 5s), FERRY_CLUSTER_TIMEOUT (seconds per wait, default 90),
# FERRY_CLUSTER_REMOTE=K (default 0): the last K lab hosts are Pacemaker Remote nodes instead of full
# nodes: pacemaker-remoted (port 3121, the lab's own /etc/pacemaker/authkey) taken from the
# pacemaker-remote package WITHOUT installing it (it conflicts with pacemaker: `apt-get download` of the
# installed pacemaker's version, `dpkg-deb -x` into $FERRY_LAB_DIR/cluster/remote-pkg; the .deb is kept
# in $FERRY_LAB_CACHE_DIR if that is set), each one an ocf:pacemaker:remote resource named after the
# host, fenced by the same fence_ferrylab device.  poweroff/poweron work for them too.
#
# Layout: $FERRY_LAB_DIR/cluster/ (marker, authkey, corosync.conf, cluster.env) and
# $FERRY_LAB_DIR/nodeI/cluster/ (the per-host dirs bind-mounted inside the host, fence.log, locks).
# PID files $FERRY_LAB_DIR/nodeI/{corosync,pacemakerd}.pid hold "PID STARTTIME" like lab.sh's, so
# `lab.sh down` (which kills everything in the lab's namespaces) also verifies them.
# Nothing is written to the root filesystem: the fence agent appears as /usr/sbin/fence_ferrylab
# only inside the lab's hosts, through a per-host overlay on /usr/sbin.
set -euo pipefail
umask 022

SELF=$(readlink -f "${BASH_SOURCE[0]}")
HERE=$(dirname "$SELF")
LAB=$HERE/lab.sh
LAB_DIR=$(realpath -m "${FERRY_LAB_DIR:-/var/tmp/ferry-lab}")
export FERRY_LAB_DIR=$LAB_DIR
CL=$LAB_DIR/cluster
TOKEN=${FERRY_CLUSTER_TOKEN:-1000}
DC_DEADTIME=${FERRY_CLUSTER_DC_DEADTIME:-5s}
REMOTE_PORT=3121
TIMEOUT=${FERRY_CLUSTER_TIMEOUT:-90}
MGMT_NET=198.51.100           # the lab's management network; host I = .10+I (never anything else)
CLEAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
MARK=ferrycl                   # prefix of our mount source names (and marker in files we write)
FENCE_DEV=ferrylab-fence      # the stonith resource id

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { printf 'cluster: ERROR: %s\n' "$*" >&2; exit 1; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }
secs_since() { local d=$(( $(now_ms) - $1 )); printf '%d.%02d' $(( d / 1000 )) $(( d % 1000 / 10 )); }

# ----------------------------------------------------------- lab helpers (same rules as lab.sh)
lab_get() { sed -n "s/^$1=//p" "$LAB_DIR/lab.env" 2>/dev/null | grep . ; }
lab_n() { lab_get N || die "no lab is up in $LAB_DIR (run: $LAB up 3)"; }
lab_hosts() { local n i; n=$(lab_n); for (( i = 1; i <= n; i++ )); do echo "node$i"; done; }
host_index() { [[ $1 =~ ^node([1-8])$ ]] || return 1; echo "${BASH_REMATCH[1]}"; }
require_host() { local i; i=$(host_index "$1") && (( i <= $(lab_n) )) || die "unknown host '$1' (hosts: $(lab_hosts | tr '\n' ' '))"; }
. "$HERE/pids.sh"
holder_pid() { # HOST: live holder whose netns is the recorded one
  local d=$LAB_DIR/$1 pid
  pid=$(pidfile_pid "$d/holder.pid") || return 1
  [ "$(readlink "/proc/$pid/ns/net")" = "$(sed -n 1p "$d/ns" 2>/dev/null)" ] || return 1
  echo "$pid"
}
# run CMD inside HOST with a clean environment (HOME=/root is a private tmpfs there: crmsh)
in_host() {
  local h=$1 p; shift
  p=$(holder_pid "$h") || die "$h: no live holder (is the lab up?)"
  nsenter -t "$p" -n -m -u -i --wd=/ -- env -i PATH="$CLEAN_PATH" LANG=C.UTF-8 HOME=/root TERM=dumb "$@"
}
# spawn LOGFILE CMD...: detached, own session, fds > 2 closed (no inherited lock or pipe fds), cwd /;
# setsid/nsenter/env exec in place, so SPAWNED is the daemon itself (see lab.sh spawn)
spawn() {
  local logf=$1; shift
  (
    for fd in /proc/$BASHPID/fd/*; do fd=${fd##*/}; (( fd > 2 )) && { eval "exec $fd>&-" || true; } 2>/dev/null; done
    cd / && exec setsid "$@" </dev/null >>"$logf" 2>&1
  ) &
  SPAWNED=$!
}
wait_until() { # SECONDS CMD...: poll every 100 ms
  local end=$(( $(now_ms) + $1 * 1000 )); shift
  until "$@" >/dev/null 2>&1; do (( $(now_ms) < end )) || return 1; sleep 0.1; done
}
my_ancestors() { local p=$BASHPID PF; while [ "$p" -gt 1 ]; do echo "$p"; proc_fields "$p" || break; p=${PF[1]}; done; }
# pids living in one of HOST's recorded namespaces (net, uts, mnt, ipc), holder excluded
host_members() {
  local h=$1 hp ids
  hp=$(holder_pid "$h") || return 0
  ids=$(tr '\n' ' ' <"$LAB_DIR/$h/ns")
  find /proc/[0-9]*/ns/net /proc/[0-9]*/ns/mnt /proc/[0-9]*/ns/uts /proc/[0-9]*/ns/ipc -maxdepth 0 -printf '%p %l\n' 2>/dev/null |
    awk -v ids="$ids" -v hp="$hp" 'BEGIN { n = split(ids, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
      want[$2] { split($1, p, "/"); if (p[3] != hp) print p[3] }' | sort -un
}

cluster_up() { [ -f "$CL/.ferry-cluster" ]; }
# remote nodes: the last K lab hosts (K recorded in cluster.env by up; FERRY_CLUSTER_REMOTE before that)
n_remote() { local k; k=$(sed -n 's/^REMOTE=//p' "$CL/cluster.env" 2>/dev/null | grep .) || k=${FERRY_CLUSTER_REMOTE:-0}; echo "$k"; }
full_hosts() { local n k i; n=$(lab_n); k=$(n_remote); for (( i = 1; i <= n - k; i++ )); do echo "node$i"; done; }
remote_hosts() { local n k i; n=$(lab_n); k=$(n_remote); for (( i = n - k + 1; i <= n; i++ )); do echo "node$i"; done; }
is_remote() { [[ " $(remote_hosts | tr '\n' ' ') " == *" $1 "* ]]; }
hdir() { echo "$LAB_DIR/$1/cluster"; }

# ------------------------------------------------------------------------------- per-host files
write_cluster_files() { # N (full nodes)
  local n=$1 j
  mkdir -p "$CL"
  echo "ferry lab cluster state, created by $SELF ($MARK); removed by: cluster.sh down / lab.sh down" >"$CL/.ferry-cluster"
  corosync-keygen -k "$CL/authkey" >/dev/null 2>&1 || die "corosync-keygen failed"
  { echo "# $MARK: generated by cluster.sh for the lab in $LAB_DIR"
    echo "totem {"
    echo "    version: 2"
    echo "    cluster_name: ferrylab"
    echo "    transport: knet"
    echo "    crypto_cipher: aes256"
    echo "    crypto_hash: sha256"
    echo "    token: $TOKEN"      # runtime token = token + (N-2)*650 (token_coefficient); consensus 1.2x
    echo "}"
    echo "nodelist {"
    for (( j = 1; j <= n; j++ )); do
      printf '    node {\n        ring0_addr: %s\n        name: node%d\n        nodeid: %d\n    }\n' "$MGMT_NET.$(( 10 + j ))" "$j" "$j"
    done
    echo "}"
    echo "quorum {"
    echo "    provider: corosync_votequorum"
    [ "$n" = 2 ] && echo "    two_node: 1"
    echo "}"
    echo "logging {"
    echo "    fileline: off"
    echo "    to_stderr: no"
    echo "    to_logfile: yes"
    echo "    logfile: /var/log/corosync/corosync.log"
    echo "    to_syslog: no"
    echo "    timestamp: hires"
    echo "}"
  } >"$CL/corosync.conf"
  { echo "TOKEN=$TOKEN"; echo "DC_DEADTIME=$DC_DEADTIME"; echo "N=$n"; echo "REMOTE=${FERRY_CLUSTER_REMOTE:-0}"; } >"$CL/cluster.env"
  # Pacemaker Remote's key (controllers and pacemaker-remoted read /etc/pacemaker/authkey)
  dd if=/dev/urandom of="$CL/pcmk-authkey" bs=4096 count=1 status=none
}

write_host_files() { # HOST
  local h=$1 c; c=$(hdir "$1")
  mkdir -p "$c"/{etc-pacemaker,etc-corosync/uidgid.d,var-lib-corosync,var-lib-pacemaker/{cib,pengine,blackbox,cores},log-pacemaker/bundles,log-corosync,log-crmsh,ovl-usr-sbin/upper,ovl-usr-sbin/work}
  chown hacluster:haclient "$c"/var-lib-pacemaker/{cib,pengine,blackbox,cores} "$c"/log-pacemaker "$c"/log-pacemaker/bundles "$c"/log-crmsh
  chmod 0750 "$c"/var-lib-pacemaker/{cib,pengine,blackbox,cores}
  chmod 0770 "$c"/log-pacemaker "$c"/log-pacemaker/bundles
  chmod 0775 "$c"/log-crmsh
  install -m 0400 "$CL/authkey" "$c/etc-corosync/authkey"
  install -m 0640 -o root -g haclient "$CL/pcmk-authkey" "$c/etc-pacemaker/authkey"
  install -m 0644 "$CL/corosync.conf" "$c/etc-corosync/corosync.conf"
  # a minimal CIB: the first DC election then waits dc-deadtime (5 s) instead of the default 20 s.
  # stonith stays off until every node has joined (startup-fencing would shoot a slow starter).
  cat >"$c/var-lib-pacemaker/cib/cib.xml" <<EOF
<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="cib-bootstrap-options-stonith-enabled" name="stonith-enabled" value="false"/>
        <nvpair id="cib-bootstrap-options-dc-deadtime" name="dc-deadtime" value="$DC_DEADTIME"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources/>
    <constraints/>
  </configuration>
  <status/>
</cib>
EOF
  chown hacluster:haclient "$c/var-lib-pacemaker/cib/cib.xml"; chmod 0600 "$c/var-lib-pacemaker/cib/cib.xml"
  # the fence agent, visible as /usr/sbin/fence_ferrylab inside this host only (overlay upper dir)
  cat >"$c/ovl-usr-sbin/upper/fence_ferrylab" <<EOF
#!/bin/sh
# $MARK: fence agent wrapper for the ferry lab in $LAB_DIR; exists only inside that lab's hosts
FERRY_LAB_DIR='$LAB_DIR' FERRY_CLUSTER_SCRIPT='$SELF' exec /bin/bash '$HERE/fence_ferrylab' "\$@"
EOF
  chmod 0755 "$c/ovl-usr-sbin/upper/fence_ferrylab"
}

# --------------------------------------------------------- mounts (run inside the host's mount ns)
# MOUNTS: "target source" for the bind mounts; all targets exist on this box (checked in up)
bind_list() { # HOST
  local c; c=$(hdir "$1")
  printf '%s %s\n' /etc/pacemaker "$c/etc-pacemaker" /etc/corosync "$c/etc-corosync" /var/lib/corosync "$c/var-lib-corosync" \
    /var/lib/pacemaker "$c/var-lib-pacemaker" /var/log/pacemaker "$c/log-pacemaker" \
    /var/log/corosync "$c/log-corosync" /var/log/crmsh "$c/log-crmsh"
}
# _mount HOST: runs inside HOST's mount namespace (nsenter -m); the ns is private, nothing propagates
inner_mount() {
  local h=$1 c t s; c=$(hdir "$1")
  bind_list "$h" | while read -r t s; do
    [ "$(findmnt -rn -o FSROOT --mountpoint "$t" 2>/dev/null | tail -n1)" = "$s" ] && continue
    mount --bind "$s" "$t"
  done
  findmnt -rn -o SOURCE --mountpoint /root | grep -x "$MARK-root-$h" >/dev/null ||
    mount -t tmpfs -o mode=0700,size=64m "$MARK-root-$h" /root          # crmsh writes ~/.cache, ~/.config
  findmnt -rn -o SOURCE --mountpoint /usr/sbin | grep -x "$MARK-sbin-$h" >/dev/null ||
    mount -t overlay "$MARK-sbin-$h" -o "lowerdir=/usr/sbin,upperdir=$c/ovl-usr-sbin/upper,workdir=$c/ovl-usr-sbin/work" /usr/sbin
  mkdir -p /run/crm /run/resource-agents
}
inner_umount() {
  local h=$1 t s
  findmnt -rn -o SOURCE --mountpoint /usr/sbin | grep -x "$MARK-sbin-$h" >/dev/null && umount -l /usr/sbin
  findmnt -rn -o SOURCE --mountpoint /root | grep -x "$MARK-root-$h" >/dev/null && umount -l /root
  # a poweroff's fresh /tmp (the lab's own /tmp bind mount is below it again afterwards)
  while findmnt -rn -o SOURCE --mountpoint /tmp | grep -x "$MARK-tmp-$h" >/dev/null; do umount -l /tmp; done
  bind_list "$h" | while read -r t s; do
    if [ "$(findmnt -rn -o FSROOT --mountpoint "$t" 2>/dev/null | tail -n1)" = "$s" ]; then umount -l "$t"; fi
  done
  true
}
# RAM loss: fresh /run, /dev/shm, /tmp (same names and dirs as lab.sh's holder makes)
inner_wipe() {
  local h=$1 m
  for m in /run /dev/shm; do umount -l "$m"; done
  mount -t tmpfs -o mode=0755,size=64m "ferry-run-$h" /run
  mkdir -p /run/sshd /run/lock /run/libvirt /run/crm /run/resource-agents && chmod 1777 /run/lock
  mount -t tmpfs -o mode=1777,size=256m "ferry-shm-$h" /dev/shm
  findmnt -rn -o SOURCE --mountpoint /tmp | grep -x "$MARK-tmp-$h" >/dev/null && umount -l /tmp
  mount -t tmpfs -o mode=1777,size=256m "$MARK-tmp-$h" /tmp
}
host_mount_op() { # HOST mount|umount|wipe
  local hp; hp=$(holder_pid "$1") || die "$1: no live holder"
  nsenter -t "$hp" -m -- /bin/bash "$SELF" "_$2" "$1"
}

# ------------------------------------------------------------------------------------ daemons
pid_of() { pidfile_pid "$LAB_DIR/$1/$2.pid"; }   # HOST corosync|pacemakerd
corosync_ready() { in_host "$1" corosync-cfgtool -s >/dev/null 2>&1; }
start_corosync() {
  local h=$1 d=$LAB_DIR/$1
  pid_of "$h" corosync >/dev/null && return 0
  echo "=== $(date '+%F %T') start corosync" >>"$d/log/corosync.log"
  spawn "$d/log/corosync.log" nsenter -t "$(holder_pid "$h")" -n -m -u -i -- env -i PATH="$CLEAN_PATH" LANG=C.UTF-8 HOME=/root corosync -f
  record_pid "$d/corosync.pid" "$SPAWNED" || die "$h: corosync died at once; see $d/log/corosync.log"
}
start_pacemakerd() {
  local h=$1 d=$LAB_DIR/$1
  pid_of "$h" pacemakerd >/dev/null && return 0
  echo "=== $(date '+%F %T') start pacemakerd" >>"$d/log/pacemakerd.log"
  spawn "$d/log/pacemakerd.log" nsenter -t "$(holder_pid "$h")" -n -m -u -i -- env -i PATH="$CLEAN_PATH" LANG=C.UTF-8 HOME=/root \
    PCMK_logfile=/var/log/pacemaker/pacemaker.log PCMK_logfacility=none pacemakerd
  record_pid "$d/pacemakerd.pid" "$SPAWNED" || die "$h: pacemakerd died at once; see $d/log/pacemakerd.log"
}
# pacemaker-remoted from the pacemaker-remote package, extracted (never installed) into $CL/remote-pkg:
# the package conflicts with pacemaker, and all lab hosts share the one root filesystem
remote_pkg() {
  local dir=$CL/remote-pkg ver deb="" cache=${FERRY_LAB_CACHE_DIR:-}
  [ -x "$dir/usr/sbin/pacemaker-remoted" ] && return 0
  ver=$(dpkg-query -W -f='${Version}' pacemaker 2>/dev/null) || die "pacemaker is not installed (dpkg-query)"
  if [ -n "$cache" ]; then deb=$(ls "$cache/pacemaker-remote_${ver//:/%3a}_"*.deb 2>/dev/null | tail -n 1) || true; fi
  if [ -z "$deb" ]; then
    mkdir -p "$CL/deb"
    ( cd "$CL/deb" && apt-get download "pacemaker-remote=$ver" ) >"$CL/deb/apt.log" 2>&1 ||
      die "apt-get download pacemaker-remote=$ver failed (see $CL/deb/apt.log; apt-get update first?)"
    deb=$(ls "$CL/deb/"pacemaker-remote_*.deb | tail -n 1)
    if [ -n "$cache" ]; then mkdir -p "$cache" && cp "$deb" "$cache/" || true; fi
  fi
  mkdir -p "$dir"
  dpkg-deb -x "$deb" "$dir" || die "dpkg-deb -x $deb failed"
  [ -x "$dir/usr/sbin/pacemaker-remoted" ] || die "no usr/sbin/pacemaker-remoted in $deb"
}
start_remoted() {
  local h=$1 d=$LAB_DIR/$1
  pid_of "$h" pacemaker-remoted >/dev/null && return 0
  echo "=== $(date '+%F %T') start pacemaker-remoted" >>"$d/log/pacemaker-remoted.log"
  spawn "$d/log/pacemaker-remoted.log" nsenter -t "$(holder_pid "$h")" -n -m -u -i -- env -i PATH="$CLEAN_PATH" LANG=C.UTF-8 HOME=/root \
    PCMK_logfile=/var/log/pacemaker/pacemaker.log PCMK_logfacility=none PCMK_remote_port=$REMOTE_PORT "$CL/remote-pkg/usr/sbin/pacemaker-remoted"
  record_pid "$d/pacemaker-remoted.pid" "$SPAWNED" || die "$h: pacemaker-remoted died at once; see $d/log/pacemaker-remoted.log"
}
remoted_listens() { in_host "$1" ss -Hltn "sport = :$REMOTE_PORT" 2>/dev/null | grep -q LISTEN; }
wait_remoted() {
  local h=$1 end=$(( $(now_ms) + TIMEOUT * 1000 ))
  until remoted_listens "$h"; do
    pid_of "$h" pacemaker-remoted >/dev/null || die "$h: pacemaker-remoted exited; see $LAB_DIR/$h/log/pacemaker-remoted.log"
    (( $(now_ms) < end )) || die "$h: pacemaker-remoted not listening on $REMOTE_PORT after ${TIMEOUT}s"
    sleep 0.1
  done
}
wait_corosync() {
  local h=$1 end=$(( $(now_ms) + TIMEOUT * 1000 ))
  until corosync_ready "$h"; do
    pid_of "$h" corosync >/dev/null || die "$h: corosync exited; see $(hdir "$h")/log-corosync/corosync.log and $LAB_DIR/$h/log/corosync.log"
    (( $(now_ms) < end )) || die "$h: corosync not ready after ${TIMEOUT}s"
    sleep 0.1
  done
}

# ------------------------------------------------------------------------------ cluster queries
# a host whose pacemakerd is alive (optionally not HOST)
live_host() { local h; for h in $(lab_hosts); do [ "$h" = "${1:-}" ] && continue; pid_of "$h" pacemakerd >/dev/null && { echo "$h"; return 0; }; done; return 1; }
mon_xml() { in_host "$1" crm_mon -1 --output-as=xml 2>/dev/null; }
xp() { xmllint --xpath "$1" - 2>/dev/null || true; }
# online_ok FROM HOST...: a DC is present and every HOST is online (and not unclean)
online_ok() {
  local from=$1 x h; shift
  x=$(mon_xml "$from") || return 1
  [ "$(xp 'string(//current_dc/@present)' <<<"$x")" = true ] || return 1
  for h in "$@"; do
    [ "$(xp "string(//nodes/node[@name='$h']/@online)" <<<"$x")" = true ] || return 1
    [ "$(xp "string(//nodes/node[@name='$h']/@unclean)" <<<"$x")" = false ] || return 1
  done
}
# rsc_state RSC [FROM] -> "ROLE NODE[,NODE] PENDING"
rsc_state() {
  local from=${2:-} x role nodes pend
  [ -n "$from" ] || from=$(live_host) || { echo "- - -"; return 1; }
  x=$(mon_xml "$from") || return 1
  role=$(xp "string(//resources//resource[@id='$1']/@role)" <<<"$x")
  nodes=$(xp "//resources//resource[@id='$1']/node/@name" <<<"$x" | sed 's/ name="\([^"]*\)"/\1,/g; s/,$//; s/^ *//')
  pend=$(xp "string(//resources//resource[@id='$1']/@pending)" <<<"$x")
  echo "${role:--} ${nodes:--} ${pend:--}"
}
# settled RSC WHERE FROM: Started on exactly one node, nothing pending; WHERE = "" | NODE | !NODE
settled() {
  local s r n p; s=$(rsc_state "$1" "$3") || return 1
  read -r r n p <<<"$s"
  [ "$r" = Started ] && [ "$p" = - ] && [ "$n" != - ] && [[ $n != *,* ]] || return 1
  case $2 in "") ;; !*) [ "$n" != "${2#!}" ] ;; *) [ "$n" = "$2" ] ;; esac
}
# all_stopped FROM: no resource active anywhere and the DC is idle
all_stopped() {
  local x; x=$(mon_xml "$1") || return 1
  [ "$(xp "count(//resources//resource[@active='true'])" <<<"$x")" = 0 ] && dc_idle "$1"
}
# dc_idle FROM: the DC's controller is in S_IDLE (no join, election or transition in progress)
dc_idle() {
  local dc; dc=$(mon_xml "$1" | xp 'string(//current_dc/@name)'); [ -n "$dc" ] || return 1
  in_host "$1" crmadmin -q -S "$dc" 2>&1 | grep -x S_IDLE >/dev/null
}
stonith_enabled() { [ "$(in_host "$1" crm_attribute -t crm_config -n stonith-enabled -G -q 2>/dev/null)" = true ]; }
corosync_lists() { in_host "$1" corosync-quorumtool -l 2>/dev/null | awk '{print $3}' | grep -x "$2" >/dev/null; }

# ------------------------------------------------------------------------------------ commands
cmd_up() {
  [ "$(id -u)" = 0 ] || die "must run as root"
  local n h i t0 t1 t2 t3 f
  n=$(lab_n)
  for h in $(lab_hosts); do holder_pid "$h" >/dev/null || die "$h: lab host not running ($LAB status)"; done
  cluster_up && die "a cluster is already up in $LAB_DIR (run: $0 down)"
  [[ ${FERRY_CLUSTER_REMOTE:-0} =~ ^[0-9]$ ]] && (( n - ${FERRY_CLUSTER_REMOTE:-0} >= 2 )) ||
    die "FERRY_CLUSTER_REMOTE=${FERRY_CLUSTER_REMOTE:-0}: at least 2 of the $n hosts must stay full nodes"
  for f in /etc/pacemaker /etc/corosync /var/lib/corosync /var/lib/pacemaker /var/log/pacemaker /var/log/corosync /var/log/crmsh /root /usr/sbin; do
    [ -d "$f" ] || die "$f does not exist on this box (pacemaker/corosync/crmsh installed?)"
  done
  for f in corosync corosync-keygen pacemakerd crm_mon crm_attribute cibadmin stonith_admin crm xmllint; do
    command -v "$f" >/dev/null || [ -x "/usr/sbin/$f" ] || die "missing program $f"
  done
  t0=$(now_ms)
  UP_IN_PROGRESS=1
  trap 'rc=$?; if [ "$UP_IN_PROGRESS" = 1 ]; then log "up failed (exit $rc); tearing the cluster down (lab stays up)"; ( cmd_down ) || true; fi; exit $rc' EXIT
  write_cluster_files $(( n - ${FERRY_CLUSTER_REMOTE:-0} ))
  for h in $(lab_hosts); do write_host_files "$h"; host_mount_op "$h" mount; done
  for h in $(full_hosts); do start_corosync "$h"; done
  for h in $(full_hosts); do wait_corosync "$h"; done
  t1=$(now_ms)
  for h in $(full_hosts); do start_pacemakerd "$h"; done
  # N online + DC, with a deadline (dc-deadtime is most of it)
  local end=$(( $(now_ms) + TIMEOUT * 1000 ))
  # shellcheck disable=SC2046
  until online_ok node1 $(full_hosts); do
    for h in $(full_hosts); do pid_of "$h" pacemakerd >/dev/null || die "$h: pacemakerd exited; see $(hdir "$h")/log-pacemaker/pacemaker.log"; done
    (( $(now_ms) < end )) || die "cluster did not form within ${TIMEOUT}s; see $LAB_DIR/nodeI/cluster/log-*/"
    sleep 0.2
  done
  t2=$(now_ms)
  # fencing: one device that can fence every host; it runs fence_ferrylab inside whichever host runs it
  in_host node1 cibadmin --create -o resources --xml-text \
    "<primitive id='$FENCE_DEV' class='stonith' type='fence_ferrylab'><instance_attributes id='$FENCE_DEV-ia'><nvpair id='$FENCE_DEV-hl' name='pcmk_host_list' value='$(lab_hosts | tr '\n' ' ' | sed 's/ $//')'/><nvpair id='$FENCE_DEV-ld' name='lab_dir' value='$LAB_DIR'/></instance_attributes><operations><op id='$FENCE_DEV-mon' name='monitor' interval='60s'/></operations></primitive>" >/dev/null
  in_host node1 crm_attribute -t crm_config -n stonith-enabled -v true >/dev/null
  # no quorum -> stop resources (the default, set explicitly): the quorate side fences the rest
  in_host node1 crm_attribute -t crm_config -n no-quorum-policy -v stop >/dev/null
  wait_until "$TIMEOUT" settled "$FENCE_DEV" "" node1 || die "fence device $FENCE_DEV did not start: $(rsc_state "$FENCE_DEV" node1)"
  local tr; tr=$(now_ms)
  if [ "$(n_remote)" -gt 0 ]; then
    remote_pkg
    for h in $(remote_hosts); do start_remoted "$h"; done
    for h in $(remote_hosts); do
      wait_remoted "$h"
      # the connection resource is named after the host: its remote node is HOST
      in_host node1 cibadmin --create -o resources --xml-text \
        "<primitive id='$h' class='ocf' provider='pacemaker' type='remote'><instance_attributes id='$h-ia'><nvpair id='$h-srv' name='server' value='$MGMT_NET.$(( 10 + $(host_index "$h") ))'/><nvpair id='$h-port' name='port' value='$REMOTE_PORT'/><nvpair id='$h-ri' name='reconnect_interval' value='10s'/></instance_attributes><operations><op id='$h-mon' name='monitor' interval='5s' timeout='15s'/></operations></primitive>" >/dev/null
    done
    # shellcheck disable=SC2046
    wait_until "$TIMEOUT" online_ok node1 $(remote_hosts) || die "remote nodes not online within ${TIMEOUT}s: $(remote_hosts | tr '\n' ' ')"
  fi
  t3=$(now_ms)
  UP_IN_PROGRESS=0
  trap - EXIT
  echo "cluster up: $(( n - $(n_remote) )) nodes + $(n_remote) remote node(s) online, DC $(mon_xml node1 | xp 'string(//current_dc/@name)'), $FENCE_DEV started on $(rsc_state "$FENCE_DEV" node1 | cut -d' ' -f2)," \
       "stonith-enabled=true, token ${TOKEN}ms, in $(secs_since "$t0")s (corosync $(( t1 - t0 )) ms, pacemaker+DC $(( t2 - t1 )) ms, fencing config $(( tr - t2 )) ms, remote nodes $(( t3 - tr )) ms)"
}
UP_IN_PROGRESS=0

# stop_host HOST: pacemakerd (SIGTERM: it stops its children) then corosync, by recorded pid
stop_host() { # HOST DAEMON...
  local h=$1 p; shift
  for p in "$@"; do
    local pid; pid=$(pid_of "$h" "$p") || { rm -f "$LAB_DIR/$h/$p.pid"; continue; }
    kill -TERM "$pid" 2>/dev/null || true
    wait_until 20 sh -c "! kill -0 $pid 2>/dev/null || grep '^State:.Z' >/dev/null /proc/$pid/status" || {
      log "$h: $p (pid $pid) still alive 20s after SIGTERM: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
    rm -f "$LAB_DIR/$h/$p.pid"
  done
}

cmd_down() {
  local t0 h pids left=() p c st0
  t0=$(now_ms)
  if [ ! -f "$LAB_DIR/lab.env" ]; then
    [ ! -e "$CL" ] || die "$CL exists but the lab is not up: run $LAB down"
    echo "cluster down: clean (no lab in $LAB_DIR)"; return 0
  fi
  if [ -e "$CL" ] && [ ! -f "$CL/.ferry-cluster" ]; then die "refusing to touch $CL: no .ferry-cluster marker"; fi
  st0=$(lab_get START_TICKS)
  # 1. a calm cluster first: no fencing during the teardown, every resource stopped (bounded), then
  #    the non-DC nodes leave (in parallel) and the DC last.  Stopping all nodes at once while a join
  #    or transition is in flight left the last DC waiting for results from nodes that were gone.
  local from dc="" ; from=$(live_host) || true
  if [ -n "$from" ]; then
    in_host "$from" crm_attribute -t crm_config -n stonith-enabled -v false >/dev/null 2>&1 || true
    in_host "$from" crm_attribute -t crm_config -n stop-all-resources -v true >/dev/null 2>&1 || true
    wait_until 30 all_stopped "$from" || log "resources still active after 30s; shutting down anyway"
    dc=$(mon_xml "$from" | xp 'string(//current_dc/@name)')
  fi
  for h in $(lab_hosts); do [ "$h" = "$dc" ] || { p=$(pid_of "$h" pacemakerd) && kill -TERM "$p" 2>/dev/null || true; }; done
  for h in $(lab_hosts); do [ "$h" = "$dc" ] || stop_host "$h" pacemakerd; done
  [ -z "$dc" ] || stop_host "$dc" pacemakerd
  for h in $(lab_hosts); do stop_host "$h" pacemaker-remoted; done
  for h in $(lab_hosts); do p=$(pid_of "$h" corosync) && kill -TERM "$p" 2>/dev/null || true; done
  for h in $(lab_hosts); do stop_host "$h" corosync; done
  # 2. leftovers of the cluster stack in the hosts (pacemaker children, fence boots, crm sessions),
  #    by pid: only processes started after the lab whose executable is part of the cluster stack
  for h in $(lab_hosts); do
    for p in $(host_members "$h"); do
      c=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
      case ${c##*/} in corosync|pacemakerd|pacemaker-*|crm_*|cibadmin|stonith_admin) ;; *)
        tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep "fence_ferrylab\|$SELF" >/dev/null || continue ;; esac
      [ "$(proc_start "$p")" -ge "$st0" ] || continue
      [[ " $(my_ancestors | tr '\n' ' ') " == *" $p "* ]] && continue
      log "$h: killing leftover pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null))"
      kill -KILL "$p" 2>/dev/null || true
    done
  done
  # 3. unmount what up mounted, inside each host (the lab's own mounts stay)
  for h in $(lab_hosts); do holder_pid "$h" >/dev/null && host_mount_op "$h" umount || true; done
  # 4. verify, then remove the state
  for h in $(lab_hosts); do
    for p in corosync pacemakerd pacemaker-remoted; do pid=$(pid_of "$h" "$p" 2>/dev/null) && left+=("$h: $p pid $pid"); done
    holder_pid "$h" >/dev/null || continue
    local hp; hp=$(holder_pid "$h")
    if grep -qE "$LAB_DIR/$h/cluster/| $MARK-" "/proc/$hp/mountinfo"; then left+=("$h: mounts: $(grep -cE "$LAB_DIR/$h/cluster/| $MARK-" "/proc/$hp/mountinfo")"); fi
  done
  if [ ${#left[@]} -gt 0 ]; then printf 'cluster down: NOT clean:\n' >&2; printf '  %s\n' "${left[@]}" >&2; exit 1; fi
  # the hosts' cluster logs stay (in $LAB_DIR/nodeI/cluster/log-*, fence.log) until lab.sh down
  rm -rf "$CL"
  for h in $(lab_hosts); do
    find "$(hdir "$h")" -mindepth 1 -maxdepth 1 ! -name 'log-*' ! -name fence.log -exec rm -rf {} + 2>/dev/null || true
    rm -f "$LAB_DIR/$h/corosync.pid" "$LAB_DIR/$h/pacemakerd.pid" "$LAB_DIR/$h/pacemaker-remoted.pid"
  done
  echo "cluster down: clean ($(secs_since "$t0")s)"
}

cmd_poweroff() {
  [ $# = 1 ] || die "usage: $0 poweroff HOST"
  local h=$1 t0 st0 p victims=() round anc n=0
  require_host "$h"; holder_pid "$h" >/dev/null || die "$h: no live holder"
  t0=$(now_ms); st0=$(lab_get START_TICKS)
  anc=" $(my_ancestors | tr '\n' ' ') "
  mkdir -p "$(hdir "$h")"
  echo "$(date '+%F %T.%N') $(now_ms)" >"$(hdir "$h")/poweroff.at" 2>/dev/null || true
  # SIGKILL everything living in the host's namespaces (started after the lab), until nothing is left
  for round in $(seq 1 100); do
    victims=()
    for p in $(host_members "$h"); do
      [[ $anc == *" $p "* ]] && { [ "$round" = 1 ] && log "$h: not killing pid $p: it is my caller"; continue; }
      [ "$(proc_start "$p" 2>/dev/null || echo 0)" -ge "$st0" ] && victims+=("$p")
    done
    [ ${#victims[@]} = 0 ] && break
    n=$(( n + ${#victims[@]} ))
    kill -KILL "${victims[@]}" 2>/dev/null || true
    sleep 0.05
  done
  [ ${#victims[@]} = 0 ] || die "$h: processes survived SIGKILL: ${victims[*]}"
  rm -f "$LAB_DIR/$h/corosync.pid" "$LAB_DIR/$h/pacemakerd.pid" "$LAB_DIR/$h/pacemaker-remoted.pid"
  host_mount_op "$h" wipe
  echo "$h: powered off in $(secs_since "$t0")s ($n kills; /run, /dev/shm, /tmp wiped)"
}

host_on() { if is_remote "$1"; then pid_of "$1" pacemaker-remoted >/dev/null; else pid_of "$1" corosync >/dev/null && pid_of "$1" pacemakerd >/dev/null; fi; }
cmd_poweron() {
  [ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 poweron HOST [--now]"
  local h=$1 now=${2:-} t0 peer waited=0
  require_host "$h"; holder_pid "$h" >/dev/null || die "$h: no live holder"
  cluster_up || die "no cluster is up in $LAB_DIR"
  t0=$(now_ms)
  # one power-on at a time per host (the fence agent's delayed boot vs. a test); fd 9 is closed for
  # every daemon by spawn, so the lock dies with this process
  exec 9>>"$(hdir "$h")/power.lock"; flock 9
  if host_on "$h"; then echo "$h: already on"; return 0; fi
  if [ "$now" != --now ]; then
    # the rejoin trap: boot only after every live peer's corosync has dropped HOST and no fencing of HOST
    # is in flight, +2 s; otherwise the new controller hears of its own fencing and stays down
    for peer in $(lab_hosts); do
      [ "$peer" = "$h" ] && continue
      pid_of "$peer" corosync >/dev/null || continue
      if corosync_lists "$peer" "$h"; then waited=1; wait_until "$TIMEOUT" eval "! corosync_lists $peer $h" || log "$h: $peer still lists it after ${TIMEOUT}s"; fi
    done
    peer=$(live_host "$h") || true
    if [ -n "$peer" ]; then
      sleep 2
      wait_until "$TIMEOUT" eval "! in_host $peer stonith_admin --history $h --output-as=xml 2>/dev/null | grep 'status=\"pending\"' >/dev/null" ||
        log "$h: a fencing of it is still pending after ${TIMEOUT}s"
      host_on "$h" && { echo "$h: already on"; return 0; }
    fi
  fi
  "$LAB" daemon "$h" virtlogd start >/dev/null
  # a lab with the lock manager (lab.sh FERRY_LAB_LOCKS=1): libvirtd's start needs virtlockd
  [ "$(lab_get LOCKS)" = 1 ] && "$LAB" daemon "$h" virtlockd start >/dev/null
  "$LAB" daemon "$h" libvirtd start >/dev/null
  "$LAB" daemon "$h" sshd start >/dev/null
  host_mount_op "$h" mount
  if is_remote "$h"; then start_remoted "$h"; wait_remoted "$h"
  else start_corosync "$h"; wait_corosync "$h"; start_pacemakerd "$h"; fi
  exec 9>&-
  echo "$h: powered on in $(secs_since "$t0")s (daemons started; waited for the membership: $waited)"
}

cmd_state() { [ $# -ge 1 ] || die "usage: $0 state RSC"; rsc_state "$1" "${2:-}"; }

cmd_wait_started() {
  [ $# -ge 1 ] || die "usage: $0 wait-started RSC [NODE|!NODE] [SECONDS]"
  local r=$1 where=${2:-} s=${3:-$TIMEOUT} t0 from
  t0=$(now_ms)
  local end=$(( t0 + s * 1000 ))
  while :; do
    if from=$(live_host) && settled "$r" "$where" "$from"; then
      echo "$r: Started on $(rsc_state "$r" "$from" | cut -d' ' -f2) after $(secs_since "$t0")s"; return 0
    fi
    (( $(now_ms) < end )) || { echo "$r: not settled ($where) after ${s}s: $(rsc_state "$r" "${from:-}" || true)" >&2; return 1; }
    sleep 0.1
  done
}

cmd_wait_online() {
  local hosts=() s=$TIMEOUT t0 from
  while [ $# -gt 0 ]; do case $1 in --timeout) s=$2; shift 2 ;; *) hosts+=("$1"); shift ;; esac; done
  [ ${#hosts[@]} -gt 0 ] || mapfile -t hosts < <(lab_hosts)
  t0=$(now_ms)
  local end=$(( t0 + s * 1000 ))
  while :; do
    from=$(live_host) && online_ok "$from" "${hosts[@]}" && { echo "online: ${hosts[*]} after $(secs_since "$t0")s"; return 0; }
    (( $(now_ms) < end )) || { echo "not online after ${s}s: ${hosts[*]}" >&2; return 1; }
    sleep 0.2
  done
}

cmd_wait_idle() {
  local s=${1:-$TIMEOUT} t0 from; t0=$(now_ms)
  local end=$(( t0 + s * 1000 ))
  while :; do
    from=$(live_host) && dc_idle "$from" && { echo "idle after $(secs_since "$t0")s"; return 0; }
    (( $(now_ms) < end )) || { echo "not idle after ${s}s" >&2; return 1; }
    sleep 0.2
  done
}

cmd_status() {
  cluster_up || { echo "cluster: down in $LAB_DIR"; return 0; }
  local h
  for h in $(lab_hosts); do
    if is_remote "$h"; then printf '%s  pacemaker-remoted=%s (remote node)\n' "$h" "$(pid_of "$h" pacemaker-remoted || echo DOWN)"; continue; fi
    printf '%s  corosync=%s  pacemakerd=%s\n' "$h" "$(pid_of "$h" corosync || echo DOWN)" "$(pid_of "$h" pacemakerd || echo DOWN)"
  done
  h=$(live_host) && in_host "$h" crm_mon -1 -r
}

cmd_stop() {
  [ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 stop HOST [SECONDS]"
  local h=$1 secs=${2:-300} t0 pid
  require_host "$h"; cluster_up || die "no cluster is up in $LAB_DIR"
  t0=$(now_ms)
  if pid=$(pid_of "$h" pacemakerd); then
    kill -TERM "$pid" 2>/dev/null || true
    # pacemakerd exits once its controller has handed every resource over (shutdown-escalation bounds
    # it on Pacemaker's side); a zombie counts as gone
    wait_until "$secs" sh -c "! kill -0 $pid 2>/dev/null || grep '^State:.Z' >/dev/null /proc/$pid/status" ||
      die "$h: pacemakerd (pid $pid) still running ${secs}s after SIGTERM"
    rm -f "$LAB_DIR/$h/pacemakerd.pid"
  fi
  stop_host "$h" corosync
  echo "$h: left the cluster in $(secs_since "$t0")s"
}

cmd_start() {
  [ $# = 1 ] || die "usage: $0 start HOST"
  local h=$1 t0
  require_host "$h"; cluster_up || die "no cluster is up in $LAB_DIR"
  t0=$(now_ms)
  start_corosync "$h"; wait_corosync "$h"; start_pacemakerd "$h"
  echo "$h: cluster stack started in $(secs_since "$t0")s"
}

usage() { sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; exit 2; }

case ${1:-} in
  up) [ $# = 1 ] || die "usage: $0 up"; cmd_up ;;
  down) cmd_down ;;
  exec) shift; exec "$LAB" exec "$@" ;;
  crm) shift; [ $# -ge 1 ] || die "usage: $0 crm HOST ARGS..."; h=$1; shift; require_host "$h"; in_host "$h" crm "$@" ;;
  status) cmd_status ;;
  state) shift; cmd_state "$@" ;;
  wait-started) shift; cmd_wait_started "$@" ;;
  wait-online) shift; cmd_wait_online "$@" ;;
  wait-idle) shift; cmd_wait_idle "$@" ;;
  poweroff) shift; cmd_poweroff "$@" ;;
  poweron) shift; cmd_poweron "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  start) shift; cmd_start "$@" ;;
  _mount) inner_mount "$2" ;;
  _umount) inner_umount "$2" ;;
  _wipe) inner_wipe "$2" ;;
  -h|--help|help|"") usage ;;
  *) log "unknown command '$1'"; usage ;;
esac
