#!/usr/bin/env python3
"""checker.py -- the chaos campaign's invariants, from the sampler's data (not the agent's logs).

    checker.py OUT_DIR [LAB_DIR] [SEED]

Reads OUT_DIR/samples.jsonl, cib.jsonl, events.tsv, ticks.log (see sampler.py and run.sh),
appends what it finds to OUT_DIR/violations.tsv ("ms<TAB>invariant<TAB>text"; run.sh
writes invariants 4 and 5 there itself), writes OUT_DIR/checker.txt (sampling rate,
restarts per cause, switch-over reads) and, for every violation in violations.tsv, a
directory OUT_DIR/violation-N/ with the seed, the time, the samples and events around
it and (with LAB_DIR, before the lab is torn down) the nodes' logs.

Invariants checked here (numbers as in issue 10):
 1  two running copies of a guest on two nodes, in two consecutive samples. The
    hosts are read in parallel, each read inside one sample's window; libvirt
    pauses the source before it resumes the target, so a read can show both
    running only if the source was read before the switch-over and the target
    after it, inside that window. The next sample starts after the previous one
    ended: a second copy seen again there is real. Also a running copy and a
    paused copy elsewhere for PAIR_MAX_MS with no migration pending in the CIB.
 2  a guest paused (and running nowhere) for more than PAUSE_MAX_MS with no
    migration of it pending in the CIB.
 3  the bare-metal guest's memory verifier reporting bad>0; heartbeat sequence
    resets are restarts, counted per cause (the last operation or fault before).
 6  a migrate_to that returned 0 whose guest is not seen running on the target
    within MIG_OK_MS, unless a fault hit that node or guest meanwhile.
"""
import json
import os
import re
import shutil
import sys
import time

OUT = sys.argv[1]
LAB = sys.argv[2] if len(sys.argv) > 2 else ""
SEED = sys.argv[3] if len(sys.argv) > 3 else "?"
PAUSE_MAX_MS = 30000
PAIR_MAX_MS = 10000
MIG_OK_MS = 30000
RESTART_CAUSE_MS = 300000


def load_jsonl(name):
    recs = []
    try:
        with open(os.path.join(OUT, name)) as f:
            for line in f:
                try:
                    recs.append(json.loads(line))
                except ValueError:
                    pass   # a line cut by the sampler's end
    except OSError:
        pass
    return recs


def load_events():
    evs = []
    try:
        with open(os.path.join(OUT, "events.tsv")) as f:
            for line in f:
                t, _, text = line.rstrip("\n").partition("\t")
                if t.isdigit():
                    evs.append((int(t), text))
    except OSError:
        pass
    return evs


def utc(ms):
    return time.strftime("%H:%M:%S", time.gmtime(ms / 1000)) + ".%03d" % (ms % 1000)


samples = load_jsonl("samples.jsonl")
cib = load_jsonl("cib.jsonl")
events = load_events()
found = []   # (ms, invariant, text)

# ---- states per sample: libvirt's, carried forward while a host's libvirtd does not answer
last = {}    # (host, dom) -> state
states = []  # per sample: {dom: {host: state}}
for s in samples:
    cur = {}
    for h, doms in s["v"].items():
        q = s["q"].get(h, {})
        if doms is None:
            # libvirtd silent: its QEMU processes keep their last known state
            for dom, _pid in q.items():
                st = last.get((h, dom), "unknown")
                cur.setdefault(dom, {})[h] = st
            continue
        for (hh, dom) in [k for k in last if k[0] == h]:
            del last[(hh, dom)]
        for dom, st in doms.items():
            last[(h, dom)] = st
            cur.setdefault(dom, {})[h] = st
    states.append(cur)

# ---- invariant 1 (two running copies) and 2 (left paused)
switch_reads = 0
pair_since = {}
pause_since = {}
reported = set()
for i, s in enumerate(samples):
    t = s["t"]
    pend = set(s.get("m", []))
    for dom, hs in states[i].items():
        run = sorted(h for h, st in hs.items() if st == "running")
        pau = sorted(h for h, st in hs.items() if st == "paused")
        if len(run) >= 2:
            nxt = states[i + 1].get(dom, {}) if i + 1 < len(states) else {}
            run2 = sorted(h for h, st in nxt.items() if st == "running")
            if len(run2) >= 2 and (dom, 1, tuple(run2)) not in reported:
                reported.add((dom, 1, tuple(run2)))
                found.append((t, "1", "%s running on %s in two consecutive samples (%s and %s)"
                              % (dom, " and ".join(run2), utc(t), utc(samples[i + 1]["t"]))))
            elif len(run2) < 2:
                switch_reads += 1
        if len(run) == 1 and pau and dom not in pend:
            pair_since.setdefault(dom, t)
            if t - pair_since[dom] > PAIR_MAX_MS and (dom, "1b") not in reported:
                reported.add((dom, "1b"))
                found.append((pair_since[dom], "1", "%s running on %s and paused on %s for %d s, no migration pending"
                              % (dom, run[0], ",".join(pau), (t - pair_since[dom]) // 1000)))
        else:
            pair_since.pop(dom, None)
            reported.discard((dom, "1b"))
        if not run and pau and dom not in pend:
            pause_since.setdefault(dom, t)
            if t - pause_since[dom] > PAUSE_MAX_MS and (dom, 2) not in reported:
                reported.add((dom, 2))
                found.append((pause_since[dom], "2", "%s paused on %s for more than %d s, no migration pending"
                              % (dom, ",".join(pau), PAUSE_MAX_MS // 1000)))
        else:
            pause_since.pop(dom, None)
            reported.discard((dom, 2))
    for dom in list(pause_since):
        if dom not in states[i]:
            pause_since.pop(dom)
    for dom in list(pair_since):
        if dom not in states[i]:
            pair_since.pop(dom)

# ---- invariant 3: memory verifier and restarts per cause
TICK = re.compile(r"^(\d+) (\S+) T(\d+) (\d+) bad=(\d+) g=(\S+)$")
prev = {}
last_seq = {}
restarts = {}
ticks = 0
try:
    with open(os.path.join(OUT, "ticks.log"), errors="replace") as f:
        for line in f:
            m = TICK.match(line.rstrip("\n"))
            if not m:
                continue
            ticks += 1
            t, src, seq, bad, g = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(5)), m.group(6)
            if bad > 0 and (g, 3) not in reported:
                reported.add((g, 3))
                found.append((t, "3", "%s: the memory verifier reports bad=%d (seq %d)" % (g, bad, seq)))
            # a restart: a new sender (QEMU process, ip:port) of a guest whose sequence
            # starts again (below 500, its first 10 s, and below the last heard); a live
            # migration continues the sequence from a new sender; two copies at once count
            # once each
            new_sender = (g, src) not in prev
            prev[(g, src)] = 1
            heard = last_seq.get(g)
            last_seq[g] = seq
            if new_sender and heard is not None and seq < 500 and seq + 50 < heard:
                cause = "-"
                for et, text in reversed(events):
                    if et <= t and t - et <= RESTART_CAUSE_MS and (text.startswith("fault-begin") or text.startswith("op ")):
                        cause = text.split()[1] if text.startswith("fault-begin") else "op-" + text.split()[1]
                        break
                restarts.setdefault(cause, []).append((t, g))
except OSError:
    pass

# ---- invariant 6: migrate_to rc 0 -> running on the target
def excused(t, node, dom):
    for et, text in events:
        if t - 5000 <= et <= t + MIG_OK_MS and text.startswith(("fault ", "op stop-start", "op restart", "op standby")):
            if node in text or ("vm=%s " % dom) in text or text.startswith("op "):
                return True
    return False


mig_ok = 0
for r in cib:
    if r.get("op") != "migrate_to" or r.get("rc") != "0" or r.get("status") != "0" or not r.get("target"):
        continue
    t, dom, tgt = r["t"], r["rsc"], r["target"]
    mig_ok += 1
    ok = any(t - 3000 <= s["t"] <= t + MIG_OK_MS and states[i].get(dom, {}).get(tgt) == "running"
             for i, s in enumerate(samples))
    if not ok and not excused(t, tgt, dom):
        found.append((t, "6", "migrate_to of %s (call %s) returned 0 at %s but %s was not running on %s within %d s"
                      % (dom, r.get("call"), utc(t), dom, tgt, MIG_OK_MS // 1000)))

with open(os.path.join(OUT, "violations.tsv"), "a") as f:
    for t, inv, text in found:
        f.write("%d\t%s\t%s\n" % (t, inv, text))
        print("chaos: VIOLATION invariant %s at %s: %s (seed %s)" % (inv, utc(t), text, SEED))

# ---- statistics
gaps = sorted(b["t"] - a["t"] for a, b in zip(samples, samples[1:]))
span = (samples[-1]["t"] - samples[0]["t"]) / 1000 if len(samples) > 1 else 0
with open(os.path.join(OUT, "checker.txt"), "w") as f:
    f.write("samples=%d\n" % len(samples))
    f.write("span_s=%.0f\n" % span)
    f.write("rate_per_s=%.2f\n" % (len(samples) / span if span else 0))
    if gaps:
        f.write("gap_ms_median=%d\ngap_ms_p99=%d\ngap_ms_max=%d\n"
                % (gaps[len(gaps) // 2], gaps[min(len(gaps) - 1, len(gaps) * 99 // 100)], gaps[-1]))
    f.write("switchover_reads=%d\n" % switch_reads)
    f.write("ticks=%d\n" % ticks)
    f.write("migrate_to_ok=%d\n" % mig_ok)
    for cause, lst in sorted(restarts.items()):
        f.write("restarts_%s=%d\n" % (cause, len(lst)))
    f.write("violations_found_here=%d\n" % len(found))

# ---- a directory per violation: seed, time, samples and events around it, the nodes' logs
allv = []
with open(os.path.join(OUT, "violations.tsv")) as f:
    for line in f:
        p = line.rstrip("\n").split("\t", 2)
        if len(p) == 3 and p[0].isdigit():
            allv.append((int(p[0]), p[1], p[2]))
for n, (t, inv, text) in enumerate(allv, 1):
    d = os.path.join(OUT, "violation-%d" % n)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "info.txt"), "w") as f:
        f.write("seed=%s\ninvariant=%s\ntime=%s UTC (%d ms)\n%s\n" % (SEED, inv, utc(t), t, text))
        f.write("replay: tests/chaos/run.sh --agent %s --seed %s (see %s/events.tsv for the sequence)\n"
                % (os.path.basename(OUT).split("-")[1] if "-" in os.path.basename(OUT) else "?", SEED, OUT))
    with open(os.path.join(d, "samples.jsonl"), "w") as f:
        for s in samples:
            if t - 15000 <= s["t"] <= t + 15000:
                f.write(json.dumps(s, separators=(",", ":")) + "\n")
    with open(os.path.join(d, "events.tsv"), "w") as f:
        for et, text in events:
            if t - 120000 <= et <= t + 60000:
                f.write("%d\t%s\t%s\n" % (et, utc(et), text))
    if LAB and os.path.isdir(LAB):
        for h in sorted(os.listdir(LAB)):
            hd = os.path.join(LAB, h)
            if not re.match(r"^node\d$", h):
                continue
            for src in [os.path.join(hd, "cluster", "log-pacemaker", "pacemaker.log"),
                        os.path.join(hd, "cluster", "fence.log"),
                        os.path.join(hd, "cluster", "log-corosync", "corosync.log")] + \
                    [os.path.join(hd, "log", x) for x in (os.listdir(os.path.join(hd, "log"))
                                                          if os.path.isdir(os.path.join(hd, "log")) else [])]:
                if os.path.isfile(src):
                    dst = os.path.join(d, "%s-%s" % (h, os.path.basename(src)))
                    if os.path.exists(dst):
                        continue
                    with open(src, "rb") as fi:
                        fi.seek(0, 2)
                        size = fi.tell()
                        fi.seek(max(0, size - (4 << 20)))
                        with open(dst, "wb") as fo:
                            shutil.copyfileobj(fi, fo)
