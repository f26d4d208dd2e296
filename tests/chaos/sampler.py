#!/usr/bin/env python3
"""sampler.py -- the chaos checker's eyes: samples every lab host, independent of the agent.

    sampler.py LAB_DIR OUT_DIR [PERIOD_MS]

Every PERIOD_MS (default 200: 5 samples/s) it reads, for every host:
  - /proc: every qemu-system process living in the host's network namespace
    and the guest it runs (-name guest=NAME), from the root namespace;
  - libvirt's state of each of those guests, from libvirtd's status file
    (/run/libvirt/qemu/NAME.xml inside the host: see status_states());
and appends one JSON line to OUT_DIR/samples.jsonl:
  {"t": start_ms, "d": duration_ms, "v": {host: {dom: state}}, "q": {host: {dom: pid}},
   "m": [rsc, ...], "l": {host: {dom: state} | null}}
"l" (when present) is `virsh list --all` inside a host, asked about once a second
without waiting for it (null: libvirtd did not answer in 5 s). "m" is the
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
import re
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

LAB = sys.argv[1]
OUT = sys.argv[2]
PERIOD = int(sys.argv[3]) / 1000.0 if len(sys.argv) > 3 else 0.2
RUN = True
STATUS = re.compile(r"<domstatus state='([a-z]+)'[^>]*pid='(\d+)'")


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


def status_states(h, q, netns):
    """{dom: state} from libvirt's own status files of HOST (/run/libvirt/qemu/NAME.xml,
    rewritten by libvirtd at every state change), read through the host's mount
    namespace: a file read, not an RPC, so the 3 hosts fit in a few ms, and a dead or
    SIGSTOPped libvirtd does not blind us. A status file whose QEMU pid is not alive
    in the host is stale (ignored). Adds the live QEMU pids to q[HOST]."""
    p = holder(h)
    doms = {}
    if p is None:
        return doms
    d = "/proc/%d/root/run/libvirt/qemu" % p
    try:
        names = os.listdir(d)
    except OSError:
        names = []
    for n in names:
        if not n.endswith(".xml"):
            continue
        try:
            with open(os.path.join(d, n)) as f:
                head = f.read(1024)
        except OSError:
            continue
        m = STATUS.search(head)
        if not m:
            continue
        pid = int(m.group(2))
        try:
            with open("/proc/%d/comm" % pid) as f:
                alive = f.read().startswith("qemu-system")
            alive = alive and os.readlink("/proc/%d/ns/net" % pid) == netns
        except OSError:
            alive = False
        if alive:
            doms[n[:-4]] = m.group(1)
            q.setdefault(h, {})[n[:-4]] = pid
    return doms


def main():
    hs = hosts()
    onf = os.path.join(OUT, "sampler.on")
    samples = open(os.path.join(OUT, "samples.jsonl"), "a")
    cibf = open(os.path.join(OUT, "cib.jsonl"), "a")
    seen = set()
    pend = set()
    shared = {"pend": set()}

    def cib_loop():
        # the CIB once a second, in a thread of its own (cibadmin takes 0.6 s under load)
        while RUN and os.path.exists(onf):
            t = time.time()
            p2, inflight = cib_poll(hs, seen, cibf)
            if p2 is not None:
                shared["pend"] = p2
                tmp = os.path.join(OUT, "inflight.tmp")
                with open(tmp, "w") as f:
                    for r in inflight:
                        f.write("%s %s %s\n" % r)
                os.replace(tmp, os.path.join(OUT, "inflight"))
            time.sleep(max(0.0, 1.0 - (time.time() - t)))

    threading.Thread(target=cib_loop, daemon=True).start()
    last_scan = 0.0
    lv, lv_proc, lv_t = {}, {}, {}
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
        # the whole of /proc once a second (a QEMU libvirt does not know of: "unknown");
        # in between, the pids of libvirt's status files (a scan of /proc takes 0.15 s
        # on this box under load)
        if time.time() - last_scan >= 1.0:
            last_scan = time.time()
            q = qemu_procs(netns)
        else:
            q = {h: {} for h in hs}
        byhost = {h: ns for ns, h in netns.items()}
        v = {h: status_states(h, q, byhost.get(h)) for h in hs}
        for h in hs:
            for dom in q.get(h, {}):
                v[h].setdefault(dom, "unknown")
        # libvirtd's own answer (virsh list), about once a second per host, not waited for
        for h in hs:
            p = lv_proc.get(h)
            if p is not None and p.poll() is not None:
                out = p.stdout.read()
                lv[h] = None
                if p.returncode == 0:
                    lv[h] = {}
                    for line in out.decode(errors="replace").splitlines():
                        f = line.split(None, 2)
                        if len(f) >= 3:
                            lv[h][f[1]] = f[2].strip()
                lv_proc[h] = None
            elif p is not None and time.time() - lv_t[h] > 5:
                p.kill()
                p.wait()
                lv[h] = None
                lv_proc[h] = None
            if lv_proc.get(h) is None and time.time() - lv_t.get(h, 0) >= 1.0:
                argv = in_host(h, ["virsh", "-q", "-c", "qemu:///system", "list", "--all"])
                if argv is not None:
                    lv_t[h] = time.time()
                    lv_proc[h] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        rec = {"t": int(t0 * 1000), "d": int((time.time() - t0) * 1000), "v": v, "q": q, "m": sorted(pend)}
        if lv:
            rec["l"] = lv
            lv = {}
        samples.write(json.dumps(rec, separators=(",", ":")) + "\n")
        samples.flush()
        pend = shared["pend"]
        left = PERIOD - (time.time() - t0)
        if left > 0:
            time.sleep(left)
    for p in lv_proc.values():
        if p is not None:
            p.kill()
            p.wait()


main()
