#!/usr/bin/env python3
"""report.py -- tests/chaos/REPORT.md from a campaign's raw data (campaign.sh).

    report.py DATA_DIR [TIMELINE_RUN_DIR] > REPORT.md

Reads DATA_DIR/runs.tsv, faults.tsv, violations.tsv, checker.tsv. With
TIMELINE_RUN_DIR (a run's --out directory, with samples.jsonl and events.tsv)
it also draws DATA_DIR/timeline.png with gnuplot: where each VM ran, the
operations and the faults.
"""
import collections
import json
import os
import re
import statistics
import subprocess
import sys

DATA = sys.argv[1]
NAMES = {"ferry": "ferry (ocf:ferry:vm)", "vd": "VirtualDomain (ocf:heartbeat:VirtualDomain)"}


def tsv(name):
    try:
        with open(os.path.join(DATA, name)) as f:
            return [line.rstrip("\n").split("\t") for line in f if line.strip()]
    except OSError:
        return []


runs = tsv("runs.tsv")            # agent seed seconds ops faults violations [locks]
faults = tsv("faults.tsv")        # agent seed t0 kind during vm src dst node outcome recovery_ms fences/resets/nodeloss hit
viols = tsv("violations.tsv")     # agent seed ms invariant text
# violations the campaign's own harness caused (agent seed ms why; hand-written from the runs'
# logs, the evidence in notes.md): counted, and shown apart
HARNESS = {(h[0], h[1], h[2]): h[3] for h in tsv("harness.tsv")}
checker = tsv("checker.tsv")      # agent seed key value
agents = [a for a in ("ferry", "vd") if any(r[0] == a for r in runs)]
# a run with libvirt's lock manager (run.sh --locks); older lines have no column
LOCKS = {(r[0], r[1]): (r[6] if len(r) > 6 else "0") for r in runs}
CONF = {"0": "without", "1": "with lockd"}
# hit: "1" the fault found what it hits, "0" it found nothing (no agent process, no QEMU:
# no injection), "?" not known (agent-kill, qemu-kill of a run whose directory was lost);
# older lines have no column
HIT = {}
for f in faults:
    HIT[id(f)] = f[12] if len(f) > 12 else "1"
    del f[12:]


def found(f):
    return HIT[id(f)] == "1"


# ---- each fault's outcome again, from the run's own directory (data/runs/AGENT-SEED: events,
# samples, heartbeats), so that a restart an operation asked for (crm resource restart, a
# stop and start) is not taken for one the fault caused. Without that directory the line
# of faults.tsv stays as run.sh wrote it.
TICK = re.compile(r"^(\d+) (\S+) T(\d+) (\d+) bad=(\d+) g=(\S+)$")


def run_data(a, seed):
    d = os.path.join(DATA, "runs", "%s-%s" % (a, seed))
    if not os.path.isfile(os.path.join(d, "ticks.log")) or not os.path.isfile(os.path.join(d, "samples.jsonl")):
        return None
    evs, resets, where = [], [], []
    with open(os.path.join(d, "events.tsv")) as f:
        for line in f:
            t, _, text = line.rstrip("\n").partition("\t")
            if t.isdigit():
                evs.append((int(t), text))
    # a restart: a new sender (QEMU process, ip:port) of a guest already heard of whose
    # sequence starts again (below 500, its first 10 s, and below what was heard before).
    # A live migration continues the sequence from a new sender; two copies running at
    # once each count once, not at every interleaving of their lines.
    senders, known = set(), {}
    with open(os.path.join(d, "ticks.log"), errors="replace") as f:
        for line in f:
            m = TICK.match(line.rstrip("\n"))
            if not m:
                continue
            t, src, seq, g = int(m.group(1)), m.group(2), int(m.group(3)), m.group(6)
            if (g, src) not in senders:
                senders.add((g, src))
                if g in known and seq < 500 and seq + 50 < known[g]:
                    resets.append((t, g))
            known[g] = seq   # the last heard
    with open(os.path.join(d, "samples.jsonl")) as f:
        for line in f:
            try:
                s = json.loads(line)
            except ValueError:
                continue
            run = {}
            for h, ds in s["v"].items():
                for dom, st in ds.items():
                    if st == "running":
                        run.setdefault(dom, []).append(h)
            where.append((s["t"], run))
    return evs, resets, where


RUNDATA = {}
for f in faults:
    key = (f[0], f[1])
    if key not in RUNDATA:
        RUNDATA[key] = run_data(*key)
    rd = RUNDATA[key]
    f.append("-")   # [12]: restarts of the guests the fault hit (not asked for by an operation)
    f.append(f[11].split("/")[1])   # [13]: every restart from injection to settle
    if rd is None:
        continue
    evs, resets, where = rd
    t0 = int(f[2])
    end = t0 + int(f[10]) if f[10].isdigit() else min([int(g[2]) for g in faults if g[:2] == f[:2] and int(g[2]) > t0] or [t0 + 600000])
    begin = max([t for t, text in evs if text.startswith("settled") and t < t0] or [0])
    asked = {text.split()[2] for t, text in evs if begin <= t <= end and text.startswith(("op restart", "op stop-start"))}
    hit = [g for t, g in resets if t0 <= t <= end and g not in asked]
    f[12] = str(len(hit))
    f[13] = str(sum(1 for t, g in resets if t0 <= t <= end))
    fences = int(f[11].split("/")[0])
    v, src, dst = f[5], f[6], f[7]
    at = [r for t, r in where if t <= end]
    now = at[-1].get(v, []) if at and v != "-" else []
    if fences > 0:
        f[9] = "fenced"
    elif v != "-" and v in hit:
        f[9] = "restarted"
    elif v == "-":
        f[9] = "restarted" if hit else "no-restart"
    elif now == [dst]:
        f[9] = "completed"
    elif now == [src]:
        f[9] = "aborted"
    else:
        f[9] = "restarted" if hit else "elsewhere"
out = []
p = out.append

p("# Chaos campaign: ferry and VirtualDomain under the same seeded faults")
p("")
p("Written by `tests/chaos/report.py` from the raw data in `tests/chaos/data/` (campaign.sh appends to it;")
p("see tests/chaos/README for the method, the invariants and the fault kinds). Every figure below is")
p("counted from those files, nothing is typed in by hand.")
p("")
p("## Runs")
p("")
p("| agent | libvirt's lock manager | runs | chaos time | seeds | operations | faults | violations |")
p("|---|---|---|---|---|---|---|---|")
for a in agents:
    for lk in ("0", "1"):
        rs = [r for r in runs if r[0] == a and LOCKS[(r[0], r[1])] == lk]
        if not rs:
            continue
        secs = sum(int(r[2]) for r in rs)
        p("| %s | %s | %d | %d min %02d s | %s | %d | %d | %d |" % (
            NAMES[a], CONF[lk], len(rs), secs // 60, secs % 60, " ".join(r[1] for r in rs),
            sum(int(r[3]) for r in rs), sum(int(r[4]) for r in rs), sum(int(r[5]) for r in rs)))
p("")
p("Chaos time is wall time of the runs, set-up and teardown of the lab included. \"With lockd\": the")
p("lab runs libvirt's lock manager and every guest holds a lease (run.sh --locks; README, \"Two")
p("copies\"), for both agents alike. The tables below count every run of an agent, with and without.")
p("")

KINDS = ["agent-kill", "libvirtd-kill", "libvirtd-restart", "sshd-stop", "mig-cut", "corosync-cut",
         "poweroff", "qemu-kill", "statedir", "config-unreadable", "nonconverging", "slow-target"]
OUTCOMES = ["completed", "aborted", "restarted", "fenced", "no-restart", "elsewhere"]


def rec_s(vals):
    v = sorted(int(x) / 1000 for x in vals if x.isdigit())
    if not v:
        return "-"
    return "%.0f / %.0f / %.0f" % (v[0], statistics.median(v), v[-1])




def fences_of(fs):
    return sum(int(f[11].split("/")[0]) for f in fs)


def unasked_of(fs):
    return sum(int(f[12]) for f in fs if f[12].isdigit())


# ---- the goals, counted. Restarts and fences are compared over the seeds that both
# agents ran (the same configuration, operations and fault sequence drawn from each seed).
if "ferry" in agents:
    fe = [f for f in faults if f[0] == "ferry"]
    p("## Goals")
    p("")
    p("| goal | measured | |")
    p("|---|---|---|")
    least = min((sum(1 for f in fe if f[3] == k and found(f)), k) for k in KINDS)
    p("| ferry: at least 20 injections of every fault kind | fewest: %s, %d | %s |"
      % (least[1], least[0], "met" if least[0] >= 20 else "missed"))
    for lk in ("0", "1"):
        rs = [r for r in runs if r[0] == "ferry" and LOCKS[(r[0], r[1])] == lk]
        if rs:
            nv = sum(int(r[5]) for r in rs)
            nh = sum(1 for v in viols if v[0] == "ferry" and LOCKS.get((v[0], v[1])) == lk
                     and (v[0], v[1], v[2]) in HARNESS)
            p("| ferry: 0 violations, %s libvirt's lock manager | %d in %d runs (%d faults)%s | %s |"
              % (CONF[lk].replace("with lockd", "with"), nv, len(rs), sum(int(r[4]) for r in rs),
                 ", %d of them caused by the harness itself" % nh if nh else "",
                 "met" if nv == 0 else "met, but for the harness's own" if nv == nh else "missed"))
    if "vd" in agents:
        both = sorted({r[1] for r in runs if r[0] == "ferry"} & {r[1] for r in runs if r[0] == "vd"})
        fb = [f for f in fe if f[1] in both]
        vb = [f for f in faults if f[0] == "vd" and f[1] in both]
        x, y = fences_of(fb), fences_of(vb)
        p("| ferry: strictly fewer fencing operations than VirtualDomain, same seeds (%d) | %d vs %d | %s |"
          % (len(both), x, y, "met" if x < y else "missed"))
        # the same faults: per seed, the longest run of faults from the start whose kinds are the
        # same for both agents, in order (with --cycle, as many as the shorter run injected)
        pf, pv = [], []
        for sd in both:
            xf = sorted((f for f in fb if f[1] == sd), key=lambda f: int(f[2]))
            xv = sorted((f for f in vb if f[1] == sd), key=lambda f: int(f[2]))
            n = 0
            while n < min(len(xf), len(xv)) and xf[n][3] == xv[n][3]:
                n += 1
            pf += xf[:n]
            pv += xv[:n]
        lose = lambda fs: sum(1 for f in fs if f[11].split("/")[2] == "1")
        nonloss = lambda fs: sum(int(f[11].split("/")[0]) for f in fs if f[11].split("/")[2] != "1")
        x, y = fences_of(pf), fences_of(pv)
        p("| ferry: strictly fewer fencing operations than VirtualDomain, the same faults (%d each, %d of them"
          " losing a node) | %d vs %d | %s |" % (len(pf), lose(pf), x, y, "met" if x < y else "missed"))
        # restarts are counted from the runs' own directories: only pairs that have both
        pairs = [(a, b) for a, b in zip(pf, pv) if a[12].isdigit() and b[12].isdigit()]
        x, y = unasked_of([a for a, _ in pairs]), unasked_of([b for _, b in pairs])
        p("| ferry: strictly fewer guest restarts that no operation asked for, the same faults (%d with the"
          " runs' directories) | %d vs %d | %s |" % (len(pairs), x, y, "met" if x < y else "missed"))
        x, y = nonloss(fb), nonloss(vb)
        hx = sum(1 for k in HARNESS if k[0] == "ferry" and k[1] in both)
        hy = sum(1 for k in HARNESS if k[0] == "vd" and k[1] in both)
        p("| fencing after a fault that loses no node (a failed stop: invariant 5), same seeds | %d vs %d%s | %s |"
          % (x, y, " (the harness's own: %d vs %d)" % (hx, hy) if hx or hy else "", "met" if x < y or x == 0 else "missed"))
        p("")
        p("\"Same seeds\" counts every fault of the runs both agents made with a seed; the runs differ in"
          " length and, without --cycle, in the kinds drawn once the cluster's answers differ. \"The same"
          " faults\" counts, per seed, the faults from the start of the run whose kinds agree for both"
          " agents in order. Over the same seeds ferry drew %d faults that lose a node (cluster link cut,"
          " power-off), VirtualDomain %d; each costs one fencing, whatever the agent. Fencing operations per"
          " such fault: ferry %.2f, VirtualDomain %.2f." % (lose(fb), lose(vb), fences_of(fb) / max(1, lose(fb)),
                                                           fences_of(vb) / max(1, lose(vb))))
    p("")

for a in agents:
    fs = [f for f in faults if f[0] == a]
    vs = [v for v in viols if v[0] == a]
    p("## %s" % NAMES[a])
    p("")
    p("| fault | injected | during a migration | completed | aborted | restarted | fenced | no restart | elsewhere | not recovered | recovery s min / median / max | violations | found nothing to hit |")
    p("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    # a violation belongs to the last fault injected before it in its run
    vkind = collections.Counter()
    for v in vs:
        best = None
        for f in fs:
            if f[1] == v[1] and int(f[2]) <= int(v[2]) and (best is None or int(f[2]) > int(best[2])):
                best = f
        vkind[(best[3] if best else "set-up", v[3])] += 1
    for k in KINDS:
        tried = [f for f in fs if f[3] == k]
        kf = [f for f in tried if found(f)]
        miss = sum(1 for f in tried if HIT[id(f)] == "0")
        unknown = sum(1 for f in tried if HIT[id(f)] == "?")
        mtxt = "%d%s" % (miss, " (+%d not known)" % unknown if unknown else "")
        if not kf:
            p("| %s | 0 | | | | | | | | | | | %s |" % (k, mtxt))
            continue
        oc = collections.Counter(f[9] for f in kf)
        vtxt = ", ".join("inv. %s: %d" % (inv, n) for (kk, inv), n in sorted(vkind.items()) if kk == k) or "0"
        p("| %s | %d | %d | %s | %d | %s | %s | %s |" % (
            k, len(kf), sum(1 for f in kf if f[4] == "1"),
            " | ".join(str(oc.get(o, 0)) for o in OUTCOMES),
            sum(1 for f in kf if f[10] == "-"), rec_s([f[10] for f in kf]), vtxt, mtxt))
    fences = sum(int(f[11].split("/")[0]) for f in fs)
    fence_loss = sum(int(f[11].split("/")[0]) for f in fs if f[11].split("/")[2] == "1")
    restarts = sum(int(f[13]) for f in fs)
    hit = sum(int(f[12]) for f in fs if f[12].isdigit())
    p("")
    p("Injected: the faults that found what they hit. Found nothing to hit: an agent-kill that found no"
      " agent process (the action had ended) or a QEMU kill that found no QEMU; they are no injection and"
      " count nowhere else in the row (\"not known\": runs whose directory, with the fault's description, is lost).")
    p("")
    p("- fencing operations: %d, of which %d after a fault that loses a node (cluster link cut, power-off)"
      " and %d after a fault that loses none (invariant 5)" % (fences, fence_loss, fences - fence_loss))
    p("- guest restarts (a heartbeat sequence that started again) from injection to settle: %d in all, %d of them"
      " not asked for by an operation of the same round (crm resource restart, a stop and start)" % (restarts, hit))
    # every restart of the run, by the last fault or operation before it (within 5 min)
    cause = collections.Counter()
    for (ra, seed), rd in RUNDATA.items():
        if ra != a or rd is None:
            continue
        evs, resets, _ = rd
        for t, g in resets:
            c = "-"
            for et, text in reversed(evs):
                if et <= t and t - et <= 300000 and text.startswith(("fault-begin", "op ")):
                    c = text.split()[1] if text.startswith("fault-begin") else "op " + text.split()[1]
                    break
            cause[c] += 1
    if cause:
        p("- restarts per cause (the last operation or fault before the restart, from the whole run): " +
          ", ".join("%s %d" % (k, n) for k, n in sorted(cause.items())))
    for lk in ("0", "1"):
        rs = [r for r in runs if r[0] == a and LOCKS[(r[0], r[1])] == lk]
        if rs:
            p("- %s libvirt's lock manager: %d runs, %d faults, %d violations" % (
                CONF[lk].replace("with lockd", "with").capitalize(), len(rs),
                sum(int(r[4]) for r in rs), sum(int(r[5]) for r in rs)))
    inv = collections.Counter(v[3] for v in vs)
    nh = sum(1 for v in vs if (v[0], v[1], v[2]) in HARNESS)
    p("- violations by invariant: " + (", ".join("%s: %d" % (k, n) for k, n in sorted(inv.items())) or "none")
      + ("; %d of them caused by the harness itself (below)" % nh if nh else ""))
    rates = [float(c[3]) for c in checker if c[0] == a and c[2] == "rate_per_s"]
    gaps = [int(c[3]) for c in checker if c[0] == a and c[2] == "gap_ms_max"]
    nsam = sum(int(c[3]) for c in checker if c[0] == a and c[2] == "samples")
    sw = sum(int(c[3]) for c in checker if c[0] == a and c[2] == "switchover_reads")
    migok = sum(int(c[3]) for c in checker if c[0] == a and c[2] == "migrate_to_ok")
    if rates:
        p("- checker: %d samples of all three nodes, %.1f-%.1f per second per run (longest gap %d ms); "
          "%d samples read a guest running on two nodes that the next sample did not confirm (a live "
          "switch-over between the reads); %d successful migrate_to's checked against the target"
          % (nsam, min(rates), max(rates), max(gaps) if gaps else 0, sw, migok))
    p("")
    if vs:
        p("Violations:")
        p("")
        for v in vs:
            why = HARNESS.get((v[0], v[1], v[2]))
            p("- seed %s (%s lockd), invariant %s: %s%s" % (v[1], CONF[LOCKS.get((v[0], v[1]), "0")].split()[0], v[3], v[4],
                                                          " — **caused by the harness**: " + why if why else ""))
        p("")

# ---- the timeline plot of one run
if len(sys.argv) > 2:
    rd = sys.argv[2]
    samples = []
    with open(os.path.join(rd, "samples.jsonl")) as f:
        for line in f:
            try:
                samples.append(json.loads(line))
            except ValueError:
                pass
    if samples:
        t0 = samples[0]["t"]
        doms = sorted({d for s in samples for h in s["v"] for d in s["v"][h]})
        dat = os.path.join(DATA, "timeline.dat")
        with open(dat, "w") as f:
            for s in samples:
                for h, ds in s["v"].items():
                    for d, st in ds.items():
                        if d in doms and st in ("running", "paused"):
                            f.write("%.1f %d %d %s\n" % ((s["t"] - t0) / 1000, doms.index(d),
                                                         int(h[4:]), 1 if st == "running" else 0))
        evs = []
        with open(os.path.join(rd, "events.tsv")) as f:
            for line in f:
                t, _, text = line.rstrip("\n").partition("\t")
                if text.startswith("fault-begin") or text.startswith("op "):
                    evs.append(((int(t) - t0) / 1000, text.split()[0], text.split()[1]))
        gp = ["set terminal pngcairo size 1400,500", "set output '%s'" % os.path.join(DATA, "timeline.png"),
              "set xlabel 'seconds into the run'", "set ytics (%s)" % ", ".join("'%s' %d" % (d, i) for i, d in enumerate(doms)),
              "set yrange [-1:%d]" % (len(doms) + 1), "set key outside right",
              "set title 'where each VM ran (colour = node; small = paused), operations (grey) and faults (red)'"]
        for t, kind, what in evs:
            col = "red" if kind == "fault-begin" else "gray"
            gp.append("set arrow from %.1f,-1 to %.1f,%d nohead lc rgb '%s' dt %d" % (t, t, len(doms), col, 1 if col == "red" else 3))
            if kind == "fault-begin":
                gp.append("set label '%s' at %.1f,%f rotate by 90 font ',7' tc rgb 'red'" % (what, t, len(doms) + 0.1))
        gp.append("plot " + ", ".join(
            "'%s' using 1:($3==%d && $4==1 ? $2+%.2f : 1/0) with points pt 5 ps 0.4 title 'node%d running'" % (dat, n, (n - 2) * 0.25, n)
            for n in (1, 2, 3)) + ", '%s' using 1:($4==0 ? $2+($3-2)*0.25 : 1/0) with points pt 1 ps 0.4 lc rgb 'black' title 'paused'" % dat)
        subprocess.run(["gnuplot"], input="\n".join(gp).encode(), check=False)
        os.unlink(dat)
        p("## Timeline of one run")
        p("")
        p("![timeline](data/timeline.png)")
        p("")
        p("Run `%s`: each VM's row shows the node it ran on, sample by sample (colour), paused" % os.path.basename(rd.rstrip("/")))
        p("samples in black, every operation as a grey dotted line and every fault as a red line.")
        p("")

# ---- what is left, counted; then the hand-written analysis (DATA/notes.md), if any
p("## What is left")
p("")
for a in agents:
    secs = sum(int(r[2]) for r in runs if r[0] == a)
    few = [k for k in KINDS if sum(1 for f in faults if f[0] == a and f[3] == k and found(f)) < 20]
    p("- %s: %d min of the 120 min asked for; fault kinds injected fewer than 20 times: %s"
      % (NAMES[a], secs // 60, ", ".join(few) if few else "none"))
p("")
notes = os.path.join(DATA, "notes.md")
if os.path.isfile(notes):
    with open(notes) as f:
        p(f.read().rstrip("\n"))
    p("")
print("\n".join(out))
