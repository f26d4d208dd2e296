#!/bin/bash
# Build the ferry test guests and tools into OUTDIR:
#
#   build.sh OUTDIR
#
#   OUTDIR/ferry-bm.elf   bare-metal multiboot guest (bm/)
#   OUTDIR/ferry-ticks    heartbeat collector / analyser (ferry-ticks.c)
#   OUTDIR/ferry-probe    client-side ICMP probe / outage analyser (ferry-probe.c)
#   OUTDIR/vmlinuz, OUTDIR/initrd.img   Linux guest (linux/build.sh)
#
# Rebuilds only what is out of date; silent on success.
set -euo pipefail

die() { echo "build.sh: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: build.sh OUTDIR"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1" || die "cannot create $1"
out=$(cd "$1" && pwd)

for tool in gcc ld apt-get apt-cache dpkg-deb tar gzip; do
  command -v "$tool" >/dev/null || die "'$tool' not found"
done

# stale TARGET DEP...: true if TARGET is missing or older than any DEP
stale() {
  local t=$1 d; shift
  [ -e "$t" ] || return 0
  for d in "$@"; do [ "$d" -nt "$t" ] && return 0; done
  return 1
}

cflags_host=(-std=c11 -O2 -Wall -Wextra -Werror)
# freestanding 32-bit: no libgcc here, no SSE (the guest never enables it)
cflags_bm=(-m32 -std=gnu11 -O2 -Wall -Wextra -Werror -ffreestanding -nostdlib -fno-pic -fno-pie
           -fno-stack-protector -fno-asynchronous-unwind-tables -fcf-protection=none -mgeneral-regs-only)

bm=$here/bm
if stale "$out/ferry-bm.elf" "$bm/ferry-bm.c" "$bm/entry.S" "$bm/ferry-bm.ld" "$here/build.sh"; then
  obj=$out/cache/bm
  mkdir -p "$obj"
  gcc "${cflags_bm[@]}" -c "$bm/ferry-bm.c" -o "$obj/ferry-bm.o" || die "compiling bm/ferry-bm.c failed"
  gcc -m32 -fno-pic -c "$bm/entry.S" -o "$obj/entry.o" || die "assembling bm/entry.S failed (gcc -m32 support?)"
  ld -m elf_i386 -nostdlib --build-id=none -z noexecstack --no-warn-rwx-segments -T "$bm/ferry-bm.ld" \
    -o "$obj/ferry-bm.elf" "$obj/entry.o" "$obj/ferry-bm.o" || die "linking ferry-bm.elf failed"
  # multiboot: the header must be in the first 8 KiB of the file
  hdr=$(od -A d -t x4 -v -N 8192 "$obj/ferry-bm.elf" | grep -cw 1badb002 || true)
  [ "$hdr" -ge 1 ] || die "ferry-bm.elf: multiboot header not in the first 8 KiB"
  mv "$obj/ferry-bm.elf" "$out/ferry-bm.elf"
fi

for tool in ferry-ticks ferry-probe; do
  if stale "$out/$tool" "$here/$tool.c" "$here/build.sh"; then
    gcc "${cflags_host[@]}" -o "$out/$tool.tmp" "$here/$tool.c" || die "compiling $tool.c failed"
    mv "$out/$tool.tmp" "$out/$tool"
  fi
done

"$here/linux/build.sh" "$out"
