#!/usr/bin/env python3
"""sampler.py -- the chaos checker's eyes: samples every lab host, independent of the agent.

    sampler.py LAB_DIR OUT_DIR [PERIOD_MS]

Every PERIOD_MS (default 200: 5 samples/s) it reads, for each host at the same
time (one child per host, started together):
  - libvirt: `virsh -q list --all` inside the host (state of every domain);
  - /proc: every qemu-system process living in the host's network namespace
    and the guest it runs (-name guest=NAME), read from the root namespace, so
    it works with libvirtd dead or stopped;
and appends one JSON line to OUT_DIR/samples.jsonl:
  {"t": start_ms, "d": duration_ms, "v": {host: {dom: state} | null}, "q": {host: {dom: pid}},
   "m": [rsc, ...]}
"v"[host] is null when that host's libvirtd did not answer within 2 s. "m" is the
set of resources with a migrate_to/migrate_from pending in the CIB (read once a
second from a live host with cibadmin); every migrate_to/migrate_from/start/stop
result seen there is appended once to OUT_DIR/cib.jsonl:
  {"t": seen_ms, "node": .., "rsc": .., "op": .., "rc": .., "status": .., "call": ..,
   "target": .., "source": .., "changed": last-rc-change}
OUT_DIR/inflight holds the pending migrate_to's as "RSC SOURCE TARGET" lines (run.sh
waits on it to inject a fault during a migration). Stops when OUT_DIR/sampler.on
disappears or on SIGTERM.
"""
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

LAB = sys.argv[1]
OUT = sys.argv[2]
PERIOD = int(sys.argv[3]) / 1000.0 if len(sys.argv) > 3 else 0.2
RUN = True


def stop(*_):
    global RUN
    RUN = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)


def now_ms():
    return int(time.time() * 1000)


def hosts():
    n = 0
    with open(os.path.join(LAB, "lab.env")) as f:
        for line in f:
            if line.startswith("N="):
                n = int(line[2:])
    return ["node%d" % i for i in range(1, n + 1)]


def holder(h):
    try:
        with open(os.path.join(LAB, h, "holder.pid")) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def alive(h, daemon):
    try:
        with open(os.path.join(LAB, h, daemon + ".pid")) as f:
            pid = int(f.read().split()[0])
        os.kill(pid, 0)
        return True
    except (OSError, ValueError, IndexError):
        return False


def in_host(h, argv):
    p = holder(h)
    if p is None:
        return None
    return ["timeout", "2", "nsenter", "-t", str(p), "-n", "-m", "-u", "-i", "--",
            "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "HOME=/root"] + argv


def qemu_procs(netns):
    """{host: {guest: pid}} for every qemu-system process in a host's netns."""
    out = {h: {} for h in netns.values()}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                if not f.read().startswith("qemu-system"):
                    continue
            ns = os.readlink("/proc/%s/ns/net" % d)
            h = netns.get(ns)
            if h is None:
                continue
            with open("/proc/%s/cmdline" % d, "rb") as f:
                args = f.read().split(b"\0")
            name = None
            for i, a in enumerate(args[:-1]):
                if a == b"-name":
                    for part in args[i + 1].decode(errors="replace").split(","):
                        if part.startswith("guest="):
                            name = part[6:]
                    if name is None:
                        name = args[i + 1].decode(errors="replace").split(",")[0]
            if name:
                out[h][name] = int(d)
        except OSError:
            continue
    return out


def cib_poll(hs, seen, cibf):
    """Pending migrations (set of rsc; list of (rsc, src, dst)) from the first live host's CIB."""
    for h in hs:
        if not alive(h, "pacemakerd"):
            continue
        argv = in_host(h, ["cibadmin", "-Q", "-o", "status"])
        if argv is None:
            continue
        try:
            r = subprocess.run(argv, capture_output=True, timeout=3)
        except subprocess.TimeoutExpired:
            continue
        if r.returncode != 0:
            continue
        try:
            root = ET.fromstring(r.stdout)
        except ET.ParseError:
            continue
        pend, inflight = set(), []
        t = now_ms()
        for ns in root.iter("node_state"):
            node = ns.get("uname")
            for lr in ns.iter("lrm_resource"):
                rsc = lr.get("id")
                for op in lr.iter("lrm_rsc_op"):
                    task = op.get("operation")
                    if task not in ("migrate_to", "migrate_from", "start", "stop"):
                        continue
                    status = op.get("op-status")
                    if status == "-1" and task.startswith("migrate"):
                        pend.add(rsc)
                        if task == "migrate_to":
                            inflight.append((rsc, op.get("migrate_source") or node, op.get("migrate_target") or "-"))
                    key = (node, rsc, task, op.get("call-id"), op.get("rc-code"), status)
                    if key in seen:
                        continue
                    seen.add(key)
                    rec = {"t": t, "node": node, "rsc": rsc, "op": task, "rc": op.get("rc-code"),
                           "status": status, "call": op.get("call-id"),
                           "target": op.get("migrate_target"), "source": op.get("migrate_source"),
                           "changed": op.get("last-rc-change")}
                    cibf.write(json.dumps(rec) + "\n")
        cibf.flush()
        return pend, inflight
    return None, None


def main():
    hs = hosts()
    onf = os.path.join(OUT, "sampler.on")
    samples = open(os.path.join(OUT, "samples.jsonl"), "a")
    cibf = open(os.path.join(OUT, "cib.jsonl"), "a")
    seen = set()
    pend = set()
    last_cib = 0.0
    while RUN and os.path.exists(onf):
        t0 = time.time()
        netns = {}
        for h in hs:
            p = holder(h)
            if p is not None:
                try:
                    netns[os.readlink("/proc/%d/ns/net" % p)] = h
                except OSError:
                    pass
        procs = {}
        for h in hs:
            argv = in_host(h, ["virsh", "-q", "-c", "qemu:///system", "list", "--all"])
            if argv is not None:
                procs[h] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        q = qemu_procs(netns)
        v = {}
        for h in hs:
            v[h] = None
            p = procs.get(h)
            if p is None:
                continue
            try:
                out, _ = p.communicate(timeout=3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                continue
            if p.returncode != 0:
                continue
            doms = {}
            for line in out.decode(errors="replace").splitlines():
                f = line.split(None, 2)
                if len(f) >= 3:
                    doms[f[1]] = f[2].strip()
            v[h] = doms
        rec = {"t": int(t0 * 1000), "d": int((time.time() - t0) * 1000), "v": v, "q": q, "m": sorted(pend)}
        samples.write(json.dumps(rec, separators=(",", ":")) + "\n")
        samples.flush()
        if time.time() - last_cib >= 1.0:
            last_cib = time.time()
            p2, inflight = cib_poll(hs, seen, cibf)
            if p2 is not None:
                pend = p2
                tmp = os.path.join(OUT, "inflight.tmp")
                with open(tmp, "w") as f:
                    for r in inflight:
                        f.write("%s %s %s\n" % r)
                os.replace(tmp, os.path.join(OUT, "inflight"))
        left = PERIOD - (time.time() - t0)
        if left > 0:
            time.sleep(left)


main()
