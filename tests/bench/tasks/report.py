#!/usr/bin/env python3
"""report.py TMP: the summary of tests/bench/tasks/run.sh from the files it left in TMP."""
import glob
import json
import os
import statistics
import sys

tmp = sys.argv[1]


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


def ratio(a, b):
    return a / b if b else float("nan")


def hyperfine(path):
    """Times (ms) per command of hyperfine's JSON at `path`, or merged over the rounds
    `path`.1, `path`.2, ... that run.sh's hf_rounds writes."""
    files = sorted(glob.glob(path + ".*")) or ([path] if os.path.exists(path) else [])
    merged = {}
    for name in files:
        for r in json.load(open(name))["results"]:
            merged.setdefault(r["command"], []).extend(t * 1000 for t in r["times"])
    return merged


def latency(title, path):
    print(title)
    run = hyperfine(path)
    for name, times in run.items():
        print(f"{name:>12}: median {pct(times, .5):7.1f}   p95 {pct(times, .95):7.1f}   "
              f"min {min(times):7.1f}   n={len(times)}")
    if "berth" in run and "containerd" in run:
        b, c = run["berth"], run["containerd"]
        print(f"ratio berth/containerd: median {ratio(pct(b, .5), pct(c, .5)):.3f}   "
              f"p95 {ratio(pct(b, .95), pct(c, .95)):.3f}   (goal <= 0.333)")
        if "ctr version" in run:
            v = pct(run["ctr version"], .5)
            print(f"  less ctr's own start ({v:.1f} ms, `ctr version`): berth "
                  f"{pct(b, .5) - v:.1f} vs containerd {pct(c, .5) - v:.1f} ms, ratio "
                  f"{ratio(pct(b, .5) - v, pct(c, .5) - v):.3f}")


latency("\n-- 1. ctr run --rm IMAGE id /bin/true (ms), back to back",
        os.path.join(tmp, "run.json"))
if hyperfine(os.path.join(tmp, "paced.json")):
    latency("\n-- 1b. the same, paced (sleep 0.2 before each run; not timed)",
            os.path.join(tmp, "paced.json"))

print("\n-- 2. phases through ctr, median ms (each includes one ctr start)")
rows = [line.rstrip("\n").split("\t") for line in open(os.path.join(tmp, "phases.tsv"))]
header, rows = rows[0], rows[1:]
medians = {}
for col in dict.fromkeys(r[0] for r in rows):
    mine = [r for r in rows if r[0] == col]
    medians[col] = [statistics.median(float(r[i]) for r in mine) for i in range(1, len(header))]
print(f"{'':>12}  " + "  ".join(f"{h:>8}" for h in header[1:]))
for col, m in medians.items():
    print(f"{col:>12}  " + "  ".join(f"{v:8.1f}" for v in m))
if "berth" in medians and "containerd" in medians:
    print(f"{'ratio':>12}  " + "  ".join(
        f"{ratio(b, c):8.3f}" for b, c in zip(medians["berth"], medians["containerd"])))

print("\n-- 3. sleeping containers (kB; shim figures per shim)")
dens = {}
for line in open(os.path.join(tmp, "density.tsv")):
    col, secs, daemon_rss, shims = line.rstrip("\n").split("\t")
    shims = [tuple(int(x) for x in s.split(",")) for s in shims.split(";") if s]
    dens[col] = (float(secs), int(daemon_rss), shims)
    if not shims:
        print(f"{col:>12}: no shims found")
        continue
    rss, pss, anon, threads = zip(*shims)
    print(f"{col:>12}: {len(shims)} shims, started in {float(secs):.1f} s; shim VmRSS median "
          f"{statistics.median(rss):.0f} total {sum(rss)}; Pss median {statistics.median(pss):.0f} "
          f"total {sum(pss)}; RssAnon median {statistics.median(anon):.0f}; threads "
          f"{statistics.median(threads):.0f}; daemon VmRSS {daemon_rss}")
if "berth" in dens and "containerd" in dens and dens["berth"][2] and dens["containerd"][2]:
    b, c = dens["berth"], dens["containerd"]
    med = lambda d, i: statistics.median(s[i] for s in d[2])
    print(f"ratio berth/containerd: shim VmRSS {ratio(med(b, 0), med(c, 0)):.3f} (goal < 0.125)   "
          f"Pss {ratio(med(b, 1), med(c, 1)):.3f}   daemon VmRSS {ratio(b[1], c[1]):.3f}   "
          f"time to start all {ratio(b[0], c[0]):.3f}")

floor = hyperfine(os.path.join(tmp, "floor.json"))
if floor:
    print("\n-- 4. floor (ms)")
    for name, times in floor.items():
        print(f"{name:>12}: median {pct(times, .5):7.2f}   p95 {pct(times, .95):7.2f}")
    if "floor" in floor and "berthctl run" in floor:
        print(f"ratio berthctl run / floor: "
              f"{ratio(pct(floor['berthctl run'], .5), pct(floor['floor'], .5)):.2f} (goal <= 4)")
