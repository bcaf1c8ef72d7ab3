"""Readings per second through enrichment and every detector, and memory per asset.

Run: ``.venv/bin/python benchmarks/bench_monitor.py [--assets 10000] [--rounds 20]
[--warm-rounds 0]``

Two pipelines side by side in one run, on the same readings: the spine's
four detectors (geofence exit, idle, tracker dark, tamper; the baseline)
and the full pipeline (noise filters, then all ten detectors). Each run
alternates the two, so machine load hits both alike, and is timed in this
process's CPU time (``time.process_time``), not wall time: the machine is
shared, and waiting for a core is not the monitor's cost.

A seeded fleet: half the assets on circle sites, half on polygon sites. Most
park inside their site with GPS noise (some right on the boundary), a few
are towed away, engines run on a duty cycle. Readings arrive round-robin,
the way a fleet's traffic interleaves. One core, median of 5 runs. By
default the timed readings are each asset's 2nd to 20th: its detectors'
warm-up (the geofence learns a tracker's scatter over its first 96 fixes,
eight hours at a 5-minute cadence), the dearer path. ``--warm-rounds 100``
feeds 100 readings per asset untimed first and times the steady state a
running monitor spends its life in.
The monitor runs compiled (``monitor.compiled``: mypyc, built by ``make
compiled``) when its build is fresh, as the platform does; the first line
says which. ``COLLATERAL_PURE_PYTHON=1`` runs it as plain Python, the
baseline for the compiled build's ratio.
Memory is what tracemalloc sees (Python objects: states, fences, dict
entries); GEOS's own allocations for polygon sites are outside it.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

from ingest.wire import Reading
from monitor import compiled
from monitor.detectors.base import Detector
from monitor.engine import DetectionEngine, default_detectors, spine_detectors
from monitor.model import Pledge, Site

T0 = 1_764_331_200_000
CADENCE_MS = 300_000
M_PER_DEG = 111_195.0


def make_site(rng: random.Random, lat: float, lon: float, polygon: bool) -> Site:
    if not polygon:
        return Site(lat, lon, radius_m=rng.uniform(150, 600))
    k = M_PER_DEG * math.cos(math.radians(lat))
    ring = []
    for i in range(12):  # an irregular 12-gon of 200-600 m "radius"
        angle, r = 2 * math.pi * i / 12, rng.uniform(200, 600)
        ring.append((lon + r * math.cos(angle) / k, lat + r * math.sin(angle) / M_PER_DEG))
    ring.append(ring[0])
    return Site(lat, lon, polygon=tuple(ring))


def make_fleet(n: int, seed: int = 7) -> list[Pledge]:
    rng = random.Random(seed)
    pledges = []
    for i in range(n):
        lat, lon = rng.uniform(-50, 60), rng.uniform(-120, 150)
        site = make_site(rng, lat, lon, polygon=i % 2 == 1)
        pledges.append(Pledge(f"asset-{i:05d}", f"loan-{i // 4}", "lender-1", "truck", site))
    return pledges


Batch = list[tuple[Reading, Pledge]]


def make_readings(pledges: Sequence[Pledge], rounds: int, seed: int = 11) -> Batch:
    rng = random.Random(seed)
    roles = [rng.random() for _ in pledges]  # <0.9 parked, <0.95 on the boundary, else towed
    out = []
    for k in range(rounds):
        ts = T0 + k * CADENCE_MS
        for i, (pledge, role) in enumerate(zip(pledges, roles, strict=True)):
            site = pledge.site
            assert site is not None
            offset_m = 0.0 if role < 0.9 else 250.0 if role < 0.95 else 400.0 * k
            lat = site.lat + (offset_m + rng.gauss(0, 15)) / M_PER_DEG
            lon = site.lon + rng.gauss(0, 15) / (M_PER_DEG * math.cos(math.radians(site.lat)))
            running = (k + i) % 8 < 3
            out.append((Reading(
                f"dev-{i:05d}", k, ts + rng.randrange(30_000), lat=lat, lon=lon,
                speed_kmh=0.0, gnss_fix=3, hdop=rng.uniform(0.6, 2.5), sats=9,
                ignition=running, engine_rpm=1500.0 if running else 0.0,
                power_kw=40.0 if running else 0.0,
                vibration_mm_s=round(3.0 + rng.gauss(0, 0.3), 2) if running else 0.1,
                temp_c=round(30.0 + 10.0 * running + rng.gauss(0, 0.5), 1),
                fuel_pct=round(70.0 - 0.2 * k + rng.gauss(0, 0.3), 1),
                battery_v=12.6, ext_power=True, tamper=False), pledge))
    return out


Pipeline = Callable[[], list[Detector[Any]]]


def run_once(readings: Batch, detectors: Pipeline, warm: int) -> tuple[float, int]:
    """CPU seconds for ``readings[warm:]``; the first ``warm`` build the state."""
    engine = DetectionEngine(detectors())
    observe = engine.observe
    for reading, pledge in readings[:warm]:
        observe(reading, pledge)
    readings = readings[warm:]
    gc.collect()
    started = time.process_time()  # CPU time: other engineers' jobs share the two cores
    findings = 0
    for reading, pledge in readings:
        findings += len(observe(reading, pledge))
    return time.process_time() - started, findings


def time_tick(pledges: Sequence[Pledge], readings: Batch, detectors: Pipeline) -> float:
    engine = DetectionEngine(detectors())
    for reading, pledge in readings:
        engine.observe(reading, pledge)
    by_id = {p.asset_id: p for p in pledges}
    started = time.perf_counter()
    engine.tick(T0 + 10**9, by_id)
    return time.perf_counter() - started


def memory_per_asset(pledges: Sequence[Pledge], detectors: Pipeline) -> tuple[float, float]:
    """Bytes per asset the engine keeps after one reading of each asset, and in a snapshot.

    The readings are made inside the measured window and dropped before it
    closes, as a live monitor decodes each one and lets it go: only what the
    states keep counts (a kept reading would hide the objects a state shares
    with it, such as its timestamp, which a compiled state holds unshared).
    """
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    engine = DetectionEngine(detectors())
    one_round = make_readings(pledges, 1)
    for reading, pledge in one_round:
        engine.observe(reading, pledge)
    del one_round, reading, pledge
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    used = sum(s.size_diff for s in after.compare_to(before, "filename"))
    snapshot_bytes = len(json.dumps(engine.snapshot()))
    return used / len(pledges), snapshot_bytes / len(pledges)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warm-rounds", type=int, default=0,
                        help="readings per asset fed untimed before the timed rounds (100 "
                             "passes every detector's warm-up: the steady state)")
    args = parser.parse_args()
    if args.assets < 1 or args.rounds < 2 or args.runs < 1 or args.warm_rounds < 0:
        parser.error("need --assets >= 1, --rounds >= 2, --runs >= 1, --warm-rounds >= 0")
    pledges = make_fleet(args.assets)
    readings = make_readings(pledges, args.warm_rounds + args.rounds)
    warm = args.assets * (args.warm_rounds + 1)
    pipelines: dict[str, Pipeline] = {"spine (4 detectors)": spine_detectors,
                                      "full (filters + 10 detectors)": default_detectors}
    times: dict[str, list[float]] = {name: [] for name in pipelines}
    findings: dict[str, int] = {}
    load_before = os.getloadavg()
    for _ in range(args.runs):
        for name, detectors in pipelines.items():
            seconds, findings[name] = run_once(readings, detectors, warm)
            times[name].append(seconds)
    load_after = os.getloadavg()
    circles, polygons = (args.assets + 1) // 2, args.assets // 2
    timed = len(readings) - warm
    print(f"monitor: {compiled.describe()}")
    print(f"assets {args.assets:,} ({circles:,} circle / {polygons:,} polygon sites), "
          f"{timed:,} readings timed per run (after {args.warm_rounds + 1} per asset build "
          f"its state and fence), median of {args.runs} runs, CPU time of one core")
    header = ["pipeline", "readings/s", "µs/reading", "min-max s", "findings", "tick all",
              "memory/asset", "snapshot/asset"]
    rows = [header]
    for name, detectors in pipelines.items():
        median = statistics.median(times[name])
        mem, snap = memory_per_asset(pledges, detectors)
        rows.append([name, f"{timed / median:,.0f}",
                     f"{median / timed * 1e6:.2f}",
                     f"{min(times[name]):.2f}-{max(times[name]):.2f}", f"{findings[name]:,}",
                     f"{time_tick(pledges, readings, detectors) * 1000:.0f} ms",
                     f"{mem:,.0f} B", f"{snap:,.0f} B"])
    spine, full = (statistics.median(times[n]) for n in pipelines)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print(f"full / spine time per reading: {full / spine:.2f}x")
    # CPU time still stretches when the other core's jobs share caches and memory bandwidth.
    print("load average (1, 5, 15 min) before the runs: "
          f"{', '.join(f'{x:.2f}' for x in load_before)}; after: "
          f"{', '.join(f'{x:.2f}' for x in load_after)}")


if __name__ == "__main__":
    main()
