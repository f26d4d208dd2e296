#!/bin/bash
# Build the ferry Linux test guest: OUTDIR/vmlinuz + OUTDIR/initrd.img.
#
#   linux/build.sh OUTDIR
#
# Uses the current Debian kernel (the dependency of linux-image-amd64, found
# with apt-cache) and busybox-static, fetched with `apt-get download` into
# OUTDIR/cache/linux/debs and unpacked with dpkg-deb.  The initramfs holds
# busybox, /init, the static ferry-guestd and the kernel modules needed for
# the ACPI power button and the virtio NIC (those not built in).  A second run with the debs
# cached needs no network, and does nothing when everything is up to date.
# Environment: FERRY_KERNEL_PKG=linux-image-X overrides the kernel package.
set -euo pipefail

die() { echo "linux/build.sh: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: linux/build.sh OUTDIR"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1" || die "cannot create $1"
out=$(cd "$1" && pwd)
cache=$out/cache/linux
debs=$cache/debs
mkdir -p "$debs"

# stale TARGET DEP...: true if TARGET is missing or older than any DEP
stale() {
  local t=$1 d; shift
  [ -e "$t" ] || return 0
  for d in "$@"; do [ "$d" -nt "$t" ] && return 0; done
  return 1
}

# fetch PKG: make sure exactly one PKG_*.deb is in the cache; prints its path
fetch() {
  local pkg=$1 f log
  f=$(find "$debs" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
  if [ -z "$f" ]; then
    log=$(cd "$debs" && apt-get download "$pkg" 2>&1) || die "apt-get download $pkg failed: $log"
    f=$(find "$debs" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
    [ -n "$f" ] || die "apt-get download $pkg left no ${pkg}_*.deb in $debs"
  fi
  echo "$f"
}

# the kernel package: what linux-image-amd64 depends on (apt-cache is local,
# works offline); fall back to a cached deb if apt-cache knows nothing
kpkg=${FERRY_KERNEL_PKG:-}
if [ -z "$kpkg" ]; then
  kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
         sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1) || true
fi
if [ -z "$kpkg" ]; then
  kdeb=$(find "$debs" -maxdepth 1 -name 'linux-image-[0-9]*-amd64_*.deb' -print | sort -V | tail -n 1)
  [ -n "$kdeb" ] || die "cannot find the Debian kernel package (apt-cache depends linux-image-amd64 gave nothing; run apt-get update)"
  kpkg=$(basename "$kdeb"); kpkg=${kpkg%%_*}
fi
kver=${kpkg#linux-image-}
kdeb=$(fetch "$kpkg")
bdeb=$(fetch busybox-static)

# Kernel modules for the initramfs, in load order (each after the modules it
# depends on; checked below against the modules' own depends= field):
#   evdev, button                     the ACPI power button as an input event
#   virtio_ring .. virtio_pci         the virtio PCI transport
#   failover, net_failover, virtio_net  the virtio NIC (mkdomain.sh --nic)
# Those built into the kernel (modules.builtin) are left out.
modules=(drivers/input/evdev drivers/acpi/button
  drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
  drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci
  net/core/failover drivers/net/net_failover drivers/net/virtio_net)

# kernel: only the bits we need (vmlinuz, modules.builtin, the modules above);
# .done records the module list, so a changed list unpacks again
kx=$cache/x/$kpkg
if stale "$kx/.done" "$kdeb" || [ "$(cat "$kx/.done")" != "${modules[*]}" ]; then
  rm -rf "$kx"; mkdir -p "$kx"
  globs=()
  for m in "${modules[@]}"; do globs+=("./lib/modules/$kver/kernel/$m.ko*"); done
  # tar fails on a pattern that matches nothing: a module that is built in is then
  # missing from the deb, which is fine (checked against modules.builtin below)
  dpkg-deb --fsys-tarfile "$kdeb" |
    tar -x -C "$kx" --wildcards "./boot/vmlinuz-$kver" "./lib/modules/$kver/modules.builtin" "${globs[@]}" 2>/dev/null || true
  if [ ! -f "$kx/boot/vmlinuz-$kver" ] || [ ! -f "$kx/lib/modules/$kver/modules.builtin" ]; then
    die "cannot unpack $kdeb"
  fi
  echo "${modules[*]}" >"$kx/.done"
fi
bx=$cache/x/busybox
if stale "$bx/.done" "$bdeb"; then
  rm -rf "$bx"; mkdir -p "$bx"
  dpkg-deb -x "$bdeb" "$bx" || die "cannot unpack $bdeb"
  [ -x "$bx/bin/busybox" ] || die "no bin/busybox in $bdeb"
  touch "$bx/.done"
fi
busybox=$bx/bin/busybox

if stale "$out/vmlinuz" "$kx/.done"; then
  cp "$kx/boot/vmlinuz-$kver" "$out/vmlinuz.tmp" && mv "$out/vmlinuz.tmp" "$out/vmlinuz"
fi

guestd=$cache/ferry-guestd
if stale "$guestd" "$here/ferry-guestd.c"; then
  gcc -std=c11 -O2 -Wall -Wextra -Werror -static -o "$guestd" "$here/ferry-guestd.c" ||
    die "compiling ferry-guestd.c failed"
fi

if stale "$out/initrd.img" "$here/init" "$here/build.sh" "$guestd" "$kx/.done" "$bx/.done"; then
  root=$cache/initramfs
  rm -rf "$root"
  mkdir -p "$root"/{bin,sbin,etc,lib/modules,proc,sys,dev,tmp}
  cp "$busybox" "$root/bin/busybox"
  cp "$here/init" "$root/init"; chmod 755 "$root/init"
  cp "$guestd" "$root/sbin/ferry-guestd"
  # the modules listed above, unless built in; /init insmods them in this order
  : >"$root/etc/ferry-modules"
  builtin=$kx/lib/modules/$kver/modules.builtin
  loaded=" "
  for m in "${modules[@]}"; do
    name=$(basename "$m")
    if grep -q "^kernel/$m\.ko" "$builtin"; then loaded+="$name "; continue; fi
    ko=$(find "$kx/lib/modules/$kver/kernel/$(dirname "$m")" -maxdepth 1 -name "$name.ko*" -print -quit 2>/dev/null || true)
    [ -n "$ko" ] || die "module $m neither built in nor shipped in $kpkg"
    case $ko in
      *.ko) cp "$ko" "$root/lib/modules/" ;;
      *.ko.xz) xz -dc "$ko" >"$root/lib/modules/$name.ko" ;;
      *.ko.zst) zstd -qdc "$ko" >"$root/lib/modules/$name.ko" ;;
      *) die "unsupported module compression: $ko" ;;
    esac
    # every dependency must be built in or loaded earlier (names use _ or -)
    deps=$(tr '\0' '\n' <"$root/lib/modules/$name.ko" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' ')
    for dep in $deps; do
      [[ $loaded == *" ${dep//-/_} "* ]] || grep -Eq "/${dep//[-_]/[-_]}\.ko" "$builtin" ||
        die "module $name needs $dep, which is neither built in nor earlier in the module list"
    done
    loaded+="${name//-/_} "
    echo "$name.ko" >>"$root/etc/ferry-modules"
  done
  (cd "$root" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc 2>/dev/null | gzip -9n) >"$out/initrd.img.tmp" ||
    die "building the initramfs failed"
  mv "$out/initrd.img.tmp" "$out/initrd.img"
fi
