#!/bin/bash
# Boot the ferry test guests with plain qemu-system-x86_64 (no libvirt) and
# check them with ferry-ticks.  Loopback only; cleans up everything it starts.
#
#   selftest.sh OUTDIR [bm-kvm] [bm-tcg] [bm-migrate] [linux] [linux-ignore] [probe-report]
#                                                                        (default: all)
#
# OUTDIR is where build.sh put ferry-bm.elf, ferry-ticks, ferry-probe, vmlinuz, initrd.img.
# The linux case gives the guest a virtio NIC on a QEMU hub with no other port (no
# packet leaves QEMU) and checks that /init configured ferry.ip= on it; probe-report
# checks ferry-probe's analysis on a made-up log (the real probe needs the lab).
# bm-kvm is skipped (not failed) when /dev/kvm is not usable.
set -euo pipefail

die() { echo "selftest: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: selftest.sh OUTDIR [bm-kvm] [bm-tcg] [bm-migrate] [linux] [linux-ignore] [probe-report]"
out=$(cd "$1" && pwd) || die "no such directory: $1"
shift
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(bm-kvm bm-tcg bm-migrate linux linux-ignore probe-report)
for f in ferry-bm.elf ferry-ticks ferry-probe vmlinuz initrd.img; do
  [ -e "$out/$f" ] || die "$out/$f missing: run build.sh $out first"
done
ticks=$out/ferry-ticks

work=$(mktemp -d /tmp/ferry-selftest.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
now_ms() { date +%s%3N; }
# stop PID (ours), reap it and forget it, so cleanup never signals a reused pid
stop() {
  local p keep=()
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# kv FILE KEY: value of KEY=... in a report
kv() { sed -n "s/^$2=//p" "$1"; }

# the collector, on a free loopback port
port=
for _ in 1 2 3 4 5 6 7 8; do
  p=$((20000 + RANDOM % 30000))
  "$ticks" listen 127.0.0.1 "$p" "$work/ticks.log" 2>"$work/collector.err" &
  cpid=$!
  sleep 0.2
  if kill -0 "$cpid" 2>/dev/null; then port=$p; pids+=("$cpid"); break; fi
  wait "$cpid" 2>/dev/null || true
done
[ -n "$port" ] || die "collector did not start: $(cat "$work/collector.err")"

# qemu_start NAME ACCEL ARGS...: starts QEMU in the background, sets $qpid;
# QMP on the pipe chardev $work/NAME-qmp.{in,out}
qemu_start() {
  local name=$1 accel=$2; shift 2
  mkfifo "$work/$name-qmp.in" "$work/$name-qmp.out"
  local cpu=()
  [ "$accel" = kvm ] && cpu=(-cpu qemu64)
  qemu-system-x86_64 -accel "$accel" "${cpu[@]}" -nodefaults -no-user-config -display none \
    -serial "file:$work/$name-console.log" -serial "udp:127.0.0.1:$port" \
    -chardev "pipe,id=qmp,path=$work/$name-qmp" -mon chardev=qmp,mode=control \
    "$@" >"$work/$name-qemu.log" 2>&1 &
  qpid=$!
  pids+=("$qpid")
}

# qmp NAME CMD: send one QMP command
qmp() {
  printf '{"execute":"qmp_capabilities"}\n{"execute":"%s"}\n' "$2" >"$work/$1-qmp.in"
}

# alive PID: running (a zombie child, exited but not yet reaped, is not)
alive() {
  local st
  st=$(cut -d" " -f3 "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# exited_within PID MS: true if PID exits within MS milliseconds; sets $waited_ms
exited_within() {
  local t0; t0=$(now_ms)
  while alive "$1"; do
    waited_ms=$(($(now_ms) - t0))
    [ "$waited_ms" -lt "$2" ] || return 1
    sleep 0.1
  done
  waited_ms=$(($(now_ms) - t0))
  return 0
}

# run_bm ACCEL: boot, first tick, ~5 s of ticks at ~50/s, bad=0
run_bm() {
  local accel=$1 id=bm-$1 t0 n
  t0=$(now_ms)
  qemu_start "$id" "$accel" -m 64 -kernel "$out/ferry-bm.elf" -append "id=$id dirty=16 tick=20"
  if ! "$ticks" wait "$work/ticks.log" "$id" --count 1 --timeout-ms 30000 --since "$t0"; then
    fail "$id: no tick within 30 s"; cat "$work/$id-qemu.log"; stop "$qpid"; return
  fi
  "$ticks" report "$work/ticks.log" "$id" --since "$t0" >"$work/$id.r1"
  local first; first=$(kv "$work/$id.r1" first_ms)
  sleep 5
  stop "$qpid"
  "$ticks" report "$work/ticks.log" "$id" --since "$t0" >"$work/$id.r2"
  n=$(kv "$work/$id.r2" ticks)
  local span=$(( $(kv "$work/$id.r2" last_ms) - first ))
  local rate=$(( span > 0 ? (n - 1) * 1000 / span : 0 ))
  echo "$id: boot-to-first-tick $((first - t0)) ms, $n ticks in $span ms (${rate}/s)," \
       "max_gap $(kv "$work/$id.r2" max_gap_ms) ms, bad=$(kv "$work/$id.r2" bad)," \
       "continuous=$(kv "$work/$id.r2" continuous) missing=$(kv "$work/$id.r2" missing)"
  if [ "$rate" -lt 40 ] || [ "$rate" -gt 60 ]; then fail "$id: tick rate ${rate}/s, want ~50"; fi
  [ "$(kv "$work/$id.r2" bad)" = 0 ] || fail "$id: bad pages"
  [ "$(kv "$work/$id.r2" continuous)" = 1 ] || fail "$id: seq not continuous"
  grep -q "^ferry-bm: id=$id dirty=16MiB" "$work/$id-console.log" || fail "$id: no banner on COM1"
}

# run_migrate ACCEL: live-migrate a dirtying bm guest between two local QEMUs
# (loopback TCP); heartbeats must continue from a new endpoint with bad=0
run_migrate() {
  local accel=$1 id=mig-$1 t0 src dst mport=$((port + 1))
  t0=$(now_ms)
  qemu_start "$id-dst" "$accel" -m 64 -kernel "$out/ferry-bm.elf" -append "id=$id dirty=16 tick=20" \
    -incoming "tcp:127.0.0.1:$mport"
  dst=$qpid
  qemu_start "$id" "$accel" -m 64 -kernel "$out/ferry-bm.elf" -append "id=$id dirty=16 tick=20"
  src=$qpid
  if ! "$ticks" wait "$work/ticks.log" "$id" --count 100 --timeout-ms 30000 --since "$t0"; then
    fail "$id: no ticks before migration"; stop "$src"; stop "$dst"; return
  fi
  printf '{"execute":"qmp_capabilities"}\n{"execute":"migrate","arguments":{"uri":"tcp:127.0.0.1:%s"}}\n' "$mport" \
    >"$work/$id-qmp.in"
  local n0; n0=$("$ticks" report "$work/ticks.log" "$id" --since "$t0" | sed -n 's/^ticks=//p')
  if ! "$ticks" wait "$work/ticks.log" "$id" --count $((n0 + 150)) --timeout-ms 30000 --since "$t0"; then
    fail "$id: ticks stopped after migration"
  fi
  stop "$src"; stop "$dst"
  "$ticks" report "$work/ticks.log" "$id" --since "$t0" >"$work/$id.r"
  echo "$id: ticks=$(kv "$work/$id.r" ticks) endpoint_changes=$(kv "$work/$id.r" endpoint_changes)" \
       "max_gap $(kv "$work/$id.r" max_gap_ms) ms, bad=$(kv "$work/$id.r" bad), continuous=$(kv "$work/$id.r" continuous)"
  [ "$(kv "$work/$id.r" endpoint_changes)" = 1 ] || fail "$id: expected one endpoint change (source -> destination QEMU)"
  [ "$(kv "$work/$id.r" bad)" = 0 ] || fail "$id: bad pages after migration"
  [ "$(kv "$work/$id.r" continuous)" = 1 ] || fail "$id: seq reset"
}

# run_linux IGNORE(0|1): TCG boot, ticks, then ACPI power button
run_linux() {
  local ign=$1 id t0 extra="" nic=()
  id=linux
  if [ "$ign" = 1 ]; then
    id=linux-ign; extra=" ferry.acpi=ignore"
  else
    # a virtio NIC on a hub of its own: nothing it sends goes anywhere
    # shellcheck disable=SC2054  # QEMU's option syntax, not array separators
    nic=(-netdev hubport,id=n0,hubid=7 -device virtio-net-pci,netdev=n0,mac=52:54:00:fe:00:65)
    extra=" ferry.ip=203.0.113.101/24"
  fi
  t0=$(now_ms)
  qemu_start "$id" tcg -m 192 -kernel "$out/vmlinuz" -initrd "$out/initrd.img" "${nic[@]}" \
    -append "console=ttyS0 loglevel=4 panic=-1 ferry.id=$id ferry.dirty=32 ferry.tick=20$extra"
  if ! "$ticks" wait "$work/ticks.log" "$id" --count 1 --timeout-ms 60000 --since "$t0"; then
    fail "$id: no tick within 60 s"; tail -n 20 "$work/$id-console.log"; stop "$qpid"; return
  fi
  if [ "$ign" = 0 ]; then
    if grep -q '^ferry-init: eth0 52:54:00:fe:00:65 203.0.113.101/24' "$work/$id-console.log"; then
      echo "$id: virtio NIC eth0 52:54:00:fe:00:65 configured with ferry.ip=203.0.113.101/24"
    else
      fail "$id: ferry.ip not configured on the virtio NIC: $(grep 'ferry-init' "$work/$id-console.log" | tr '\n' ' ')"
    fi
  fi
  "$ticks" report "$work/ticks.log" "$id" --since "$t0" >"$work/$id.r1"
  local first; first=$(kv "$work/$id.r1" first_ms)
  # the power button watcher must be armed before we press
  for _ in $(seq 100); do grep -q 'watching .* power button' "$work/$id-console.log" && break; sleep 0.1; done
  "$ticks" wait "$work/ticks.log" "$id" --count 100 --timeout-ms 20000 --since "$t0" || true
  qmp "$id" system_powerdown
  if [ "$ign" = 0 ]; then
    if exited_within "$qpid" 20000; then
      echo "$id: ACPI shutdown: QEMU exited ${waited_ms} ms after system_powerdown"
    else
      fail "$id: still running 20 s after system_powerdown"
    fi
  else
    if exited_within "$qpid" 10000; then
      fail "$id: exited after system_powerdown despite ferry.acpi=ignore"
    else
      echo "$id: ignored system_powerdown (still running after 10 s)"
    fi
    grep -q 'power button pressed, ignored' "$work/$id-console.log" || fail "$id: button press not seen by the guest"
  fi
  stop "$qpid"
  "$ticks" report "$work/ticks.log" "$id" --since "$t0" >"$work/$id.r2"
  echo "$id: boot-to-first-tick $((first - t0)) ms, $(kv "$work/$id.r2" ticks) ticks," \
       "max_gap $(kv "$work/$id.r2" max_gap_ms) ms, bad=$(kv "$work/$id.r2" bad)," \
       "continuous=$(kv "$work/$id.r2" continuous)"
  [ "$(kv "$work/$id.r2" bad)" = 0 ] || fail "$id: bad pages"
  [ "$(kv "$work/$id.r2" continuous)" = 1 ] || fail "$id: seq not continuous"
}

# run_probe_report: ferry-probe's analysis of a made-up log: 10 ms probes, replies
# stop for 300 ms (30 lost), come back; one reply from a foreign MAC
run_probe_report() {
  local log=$work/probe.log r=$work/probe.r i t=1000000000000000 m=52:54:00:fe:00:65 mm
  {
    echo "# $t ferry-probe ping 203.0.113.101 interval_ms=10 pid=1"
    for i in $(seq 0 99); do
      echo "$((t + i * 10000)) S $i"
      if [ "$i" -lt 40 ] || [ "$i" -ge 70 ]; then
        [ "$i" = 90 ] && mm=52:54:00:00:00:01 || mm=$m
        echo "$((t + i * 10000 + 500)) R $i 203.0.113.101 $mm 500"
      fi
    done
  } >"$log"
  if ! "$out/ferry-probe" report "$log" --mac "$m" >"$r"; then fail "probe-report: exit $?"; return; fi
  echo "probe-report: $(tr '\n' ' ' <"$r")"
  [ "$(kv "$r" sent)" = 100 ] || fail "probe-report: sent $(kv "$r" sent), want 100"
  if [ "$(kv "$r" lost)" != 30 ] || [ "$(kv "$r" lost_run_max)" != 30 ]; then fail "probe-report: want 30 lost in one run"; fi
  [ "$(kv "$r" max_gap_ms)" = 310 ] || fail "probe-report: max_gap_ms $(kv "$r" max_gap_ms), want 310"
  [ "$(kv "$r" max_gap_open)" = 0 ] || fail "probe-report: gap should be closed"
  [ "$(kv "$r" foreign)" = 1 ] || fail "probe-report: foreign $(kv "$r" foreign), want 1"
  "$out/ferry-probe" report "$log" --since $(( (t + 80 * 10000) / 1000 )) --until $(( (t + 2000000) / 1000 )) >"$r" || true
  if [ "$(kv "$r" max_gap_open)" != 1 ] || [ "$(kv "$r" max_gap_ms)" != 1010 ]; then
    fail "probe-report: window past the end: want an open gap of 1010 ms: $(tr '\n' ' ' <"$r")"
  fi
  "$out/ferry-probe" wait "$log" --count 69 --timeout-ms 100 --mac "$m" || fail "probe-report: wait for 69 replies from $m"
  ! "$out/ferry-probe" wait "$log" --count 70 --timeout-ms 100 --mac "$m" || fail "probe-report: only 69 replies are from $m"
}

for c in "${cases[@]}"; do
  case $c in
    bm-kvm)
      if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then run_bm kvm; else echo "bm-kvm: skipped, /dev/kvm not usable"; fi ;;
    bm-tcg) run_bm tcg ;;
    bm-migrate)
      if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then run_migrate kvm; else run_migrate tcg; fi ;;
    linux) run_linux 0 ;;
    linux-ignore) run_linux 1 ;;
    probe-report) run_probe_report ;;
    *) die "unknown case '$c'" ;;
  esac
done
[ "$fails" = 0 ] || die "$fails check(s) failed"
echo "selftest: ok"
