#!/bin/bash
# Print libvirt domain XML for a ferry test guest on stdout.
#
#   mkdomain.sh --name N [--os bm|linux] [--type kvm|qemu|auto] [--mem MiB]
#               [--dirty MiB] [--rate MiB/s] [--tick ms] [--acpi-ignore]
#               [--artifacts DIR] [--collector IP:PORT] [--uuid U]
#               [--id ID] [--console-log PATH] [--disk PATH]
#               [--nic MAC [--ip ADDR/PREFIX] [--bridge BR]] [--lease DIR]
#
#   --os          bm (ferry-bm.elf, default) or linux (vmlinuz + initrd.img)
#   --type        auto (default): kvm for bm when /dev/kvm is usable, else
#                 qemu (TCG); linux is always qemu (an unmodified kernel does
#                 not boot under kvm-pvm)
#   --mem         default 64 (bm) / 192 (linux)
#   --dirty/--rate/--tick   guest workload (default 0 / 0 = unlimited / 20)
#   --acpi-ignore the guest ignores the ACPI power button (bm always does)
#   --artifacts   directory holding ferry-bm.elf / vmlinuz / initrd.img; must
#                 be the same path on every host (default: this directory's out/)
#   --collector   COM2/ttyS1 heartbeats go by UDP to IP:PORT (default: nowhere)
#   --id          heartbeat id g=<id> (default: the name)
#   --console-log COM1/ttyS0 log file (default /var/log/libvirt/qemu/N-console.log)
#   --disk PATH   add a virtio disk (qcow2, cache='none') at PATH; the guests do
#                 not use it, it is there for the migration's storage checks
#   --nic MAC     (linux only) add a virtio NIC with this MAC, plugged into the
#                 host bridge BR (--bridge, default br-guest: the lab's guest
#                 segment, the same L2 segment on every lab host)
#   --ip A/P      (with --nic) the guest configures A/P on it (kernel command
#                 line ferry.ip=A/P; no gateway).  Lab convention: 203.0.113.101-150
#                 /24 with MAC 52:54:00:fe:00:XX, XX = the last octet in hex
#   --lease DIR   a lock manager lease: lockspace "ferry", key = the name, target DIR
#                 (libvirt's lockd locks DIR/ferry/NAME, which is created here; the lab's
#                 FERRY_LAB_LOCKS=1 sets file_lockspace_dir to DIR/ferry on every host)
#
# Without --disk the guest has no disk, so it live-migrates without --unsafe; without --nic it
# has no NIC.  The bare-metal guest (bm) never has a NIC: it has no network stack.
set -euo pipefail

die() { echo "mkdomain.sh: $*" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

name="" os=bm type=auto mem="" dirty=0 rate=0 tick=20 acpi_ignore=0
lease="" artifacts=$here/out collector="" uuid="" id="" console_log="" disk="" nic="" nic_ip="" bridge=br-guest
need() { if [ $# -lt 2 ] || [ -z "$2" ]; then die "option $1 needs a value"; fi; }
uint() { [[ $2 =~ ^[0-9]+$ ]] || die "$1 wants a non-negative integer, got '$2'"; }
while [ $# -gt 0 ]; do
  case $1 in
    --name) need "$@"; name=$2; shift 2 ;;
    --os) need "$@"; os=$2; shift 2 ;;
    --type) need "$@"; type=$2; shift 2 ;;
    --mem) need "$@"; uint "$1" "$2"; mem=$2; shift 2 ;;
    --dirty) need "$@"; uint "$1" "$2"; dirty=$2; shift 2 ;;
    --rate) need "$@"; uint "$1" "$2"; rate=$2; shift 2 ;;
    --tick) need "$@"; uint "$1" "$2"; tick=$2; shift 2 ;;
    --acpi-ignore) acpi_ignore=1; shift ;;
    --artifacts) need "$@"; artifacts=$2; shift 2 ;;
    --collector) need "$@"; collector=$2; shift 2 ;;
    --uuid) need "$@"; uuid=$2; shift 2 ;;
    --id) need "$@"; id=$2; shift 2 ;;
    --console-log) need "$@"; console_log=$2; shift 2 ;;
    --disk) need "$@"; disk=$2; shift 2 ;;
    --nic) need "$@"; nic=$2; shift 2 ;;
    --ip) need "$@"; nic_ip=$2; shift 2 ;;
    --bridge) need "$@"; bridge=$2; shift 2 ;;
    --lease) need "$@"; lease=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

[ -n "$name" ] || die "--name is required"
[[ $name =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "--name '$name': use letters, digits, '.', '_', '-'"
id=${id:-$name}
[[ $id =~ ^[A-Za-z0-9._-]{1,32}$ ]] || die "--id '$id': 1-32 of letters, digits, '.', '_', '-'"
[ "$tick" -ge 1 ] || die "--tick must be >= 1"
case $os in bm|linux) ;; *) die "--os bm|linux, got '$os'" ;; esac
case $type in
  auto)
    if [ "$os" = bm ] && [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then type=kvm; else type=qemu; fi ;;
  kvm) [ "$os" = bm ] || echo "mkdomain.sh: warning: --os linux under kvm: an unmodified kernel does not boot on a kvm-pvm host" >&2 ;;
  qemu) ;;
  *) die "--type kvm|qemu|auto, got '$type'" ;;
esac
if [ -z "$mem" ]; then if [ "$os" = bm ]; then mem=64; else mem=192; fi; fi
# bm: working set from 4 MiB up, 1 MiB kept free at the top; linux: leave the kernel ~64 MiB
if [ "$os" = bm ]; then reserve=6; else reserve=64; fi
[ "$dirty" -le $((mem - reserve)) ] || die "--dirty $dirty does not fit in --mem $mem (max $((mem - reserve)))"
if [ -n "$uuid" ]; then
  [[ $uuid =~ ^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$ ]] ||
    die "--uuid '$uuid' is not a UUID"
fi
case $artifacts in /*) ;; *) die "--artifacts must be an absolute path (the same on every host)" ;; esac
[[ $artifacts =~ ^[A-Za-z0-9/._+-]+$ ]] || die "--artifacts: unusual characters in '$artifacts'"
lease_xml=""
if [ -n "$lease" ]; then
  [[ $lease =~ ^/[A-Za-z0-9/._+-]+$ ]] || die "--lease must be an absolute plain path"
  mkdir -p "$lease/ferry" && touch "$lease/ferry/$name" || die "--lease: cannot create $lease/ferry/$name"
  lease_xml="    <lease>
      <lockspace>ferry</lockspace>
      <key>$name</key>
      <target path='$lease'/>
    </lease>
"
fi
console_log=${console_log:-/var/log/libvirt/qemu/$name-console.log}
[[ $console_log =~ ^/[A-Za-z0-9/._+-]+$ ]] || die "--console-log must be an absolute plain path"

if [ -n "$nic" ]; then
  [ "$os" = linux ] || die "--nic: only the linux guest has a network stack (--os linux)"
  nic=$(printf '%s' "$nic" | tr 'A-F' 'a-f')
  [[ $nic =~ ^[0-9a-f]{2}(:[0-9a-f]{2}){5}$ ]] || die "--nic wants a MAC address like 52:54:00:fe:00:65, got '$nic'"
  (( (16#${nic:0:2} & 1) == 0 )) || die "--nic $nic is a multicast address"
  [[ $bridge =~ ^[A-Za-z0-9._-]{1,15}$ ]] || die "--bridge '$bridge' is not an interface name"
fi
if [ -n "$nic_ip" ]; then
  [ -n "$nic" ] || die "--ip needs --nic"
  [[ $nic_ip =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2})$ ]] ||
    die "--ip wants IPv4/PREFIX like 203.0.113.101/24, got '$nic_ip'"
  for o in 1 2 3 4; do [ "${BASH_REMATCH[$o]}" -le 255 ] || die "--ip $nic_ip: octet out of range"; done
  if [ "${BASH_REMATCH[5]}" -lt 1 ] || [ "${BASH_REMATCH[5]}" -gt 32 ]; then die "--ip $nic_ip: prefix out of range"; fi
fi

if [ -n "$collector" ]; then
  [[ $collector =~ ^([0-9]{1,3}(\.[0-9]{1,3}){3}):([0-9]{1,5})$ ]] || die "--collector wants IPv4:PORT, got '$collector'"
  cip=${BASH_REMATCH[1]} cport=${BASH_REMATCH[3]}
  if [ "$cport" -lt 1 ] || [ "$cport" -gt 65535 ]; then die "--collector port out of range"; fi
  com2="    <serial type='udp'>
      <source mode='connect' host='$cip' service='$cport'/>
      <target port='1'/>
    </serial>"
else
  com2="    <serial type='null'>
      <target port='1'/>
    </serial>"
fi

case $os in
  bm)
    [ -e "$artifacts/ferry-bm.elf" ] || echo "mkdomain.sh: warning: $artifacts/ferry-bm.elf does not exist (here)" >&2
    boot="    <kernel>$artifacts/ferry-bm.elf</kernel>
    <cmdline>id=$id dirty=$dirty rate=$rate tick=$tick</cmdline>" ;;
  linux)
    for f in vmlinuz initrd.img; do
      [ -e "$artifacts/$f" ] || echo "mkdomain.sh: warning: $artifacts/$f does not exist (here)" >&2
    done
    acpi=""
    [ "$acpi_ignore" = 1 ] && acpi=" ferry.acpi=ignore"
    netarg=""
    [ -z "$nic_ip" ] || netarg=" ferry.ip=$nic_ip"
    boot="    <kernel>$artifacts/vmlinuz</kernel>
    <initrd>$artifacts/initrd.img</initrd>
    <cmdline>console=ttyS0 loglevel=4 panic=-1 ferry.id=$id ferry.dirty=$dirty ferry.rate=$rate ferry.tick=$tick$acpi$netarg</cmdline>" ;;
esac

uuid_xml=""
[ -z "$uuid" ] || uuid_xml="  <uuid>$uuid</uuid>
"
disk_xml=""
if [ -n "$disk" ]; then
  case $disk in /*) ;; *) die "--disk wants an absolute path, got '$disk'" ;; esac
  disk_xml="    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='$disk'/>
      <target dev='vda' bus='virtio'/>
    </disk>
"
fi
nic_xml=""
if [ -n "$nic" ]; then
  nic_xml="    <interface type='bridge'>
      <mac address='$nic'/>
      <source bridge='$bridge'/>
      <model type='virtio'/>
    </interface>
"
fi
acpi_mode=poweroff
if [ "$os" = bm ] || [ "$acpi_ignore" = 1 ]; then acpi_mode=ignore; fi

cat <<EOF
<domain type='$type'>
  <name>$name</name>
${uuid_xml}  <description>ferry test guest: os=$os id=$id dirty=$dirty rate=$rate tick=$tick acpi=$acpi_mode${nic:+ nic=$nic}${nic_ip:+ ip=$nic_ip}</description>
  <memory unit='MiB'>$mem</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
$boot
  </os>
  <features>
    <acpi/>
  </features>
  <cpu mode='custom' match='exact' check='none'>
    <model fallback='forbid'>qemu64</model>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <controller type='usb' model='none'/>
${lease_xml}${disk_xml}${nic_xml}    <serial type='pty'>
      <log file='$console_log' append='on'/>
      <target port='0'/>
    </serial>
$com2
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
