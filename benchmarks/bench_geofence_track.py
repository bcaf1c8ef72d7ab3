"""What the geofence costs for assets parked near their fence, where its track rule works.

``bench_monitor.py`` times a fleet parked near its anchors, far inside the
fence, where the geofence's track (the line through six hours of fixes)
is never kept. This times the worst case: every asset parked 0-150 m inside
a 200 m circle, so every fix is added to the track, and those within about
three noise widths of the line are fitted. Prints readings/s and memory per
asset through the geofence detector alone; run it on two checkouts to
compare (CPU time of one core, median of ``--runs``). The first line says
whether the geofence ran compiled (``monitor.compiled``); compare like with
like (``COLLATERAL_PURE_PYTHON=1`` on both, or both compiled).

    .venv/bin/python benchmarks/bench_geofence_track.py
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import statistics
import time
from math import cos, radians

from ingest.wire import Reading
from monitor import compiled
from monitor.detectors.geofence_exit import GeofenceExitDetector
from monitor.model import Pledge, Site

T0 = 1_764_547_200_000
STEP_MS = 300_000
M_PER_DEG = 111_195.0


def fleet(assets: int, seed: int) -> tuple[list[Pledge], list[list[Reading]]]:
    """Pledges and a day of 5-minute fixes per asset, parked 50-200 m from a 200 m circle's
    centre with 10 m of noise."""
    rng = random.Random(seed)
    pledges, rounds = [], [[] for _ in range(288)]  # type: list[Pledge], list[list[Reading]]
    for i in range(assets):
        lat0, lon0 = 30.0 + i * 0.01, 120.0
        pledges.append(Pledge(f"a{i}", "l1", "b1", "construction", Site(lat0, lon0, radius_m=200)))
        north = rng.uniform(50, 200)
        for k in range(288):
            dy, dx = north + rng.gauss(0, 10), rng.gauss(0, 10)
            rounds[k].append(Reading(f"d{i}", k, T0 + k * STEP_MS, lat=lat0 + dy / M_PER_DEG,
                                     lon=lon0 + dx / (M_PER_DEG * cos(radians(lat0))),
                                     gnss_fix=3, hdop=1.0))
    return pledges, rounds


def run_once(pledges: list[Pledge], rounds: list[list[Reading]], timed_from: int) -> tuple[
        float, int, int]:
    det = GeofenceExitDetector()
    states = [det.initial_state() for _ in pledges]
    found = 0
    started = 0.0
    for k, batch in enumerate(rounds):
        if k == timed_from:
            started = time.process_time()
        for j, reading in enumerate(batch):
            states[j], out = det.on_reading(states[j], reading, pledges[j])
            found += len(out)
    seconds = time.process_time() - started
    size = len(pickle.dumps([det.dump_state(s) for s in states])) // len(states)
    return seconds, found, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    pledges, rounds = fleet(args.assets, seed=7)
    timed_from = 144  # after half a day: the track holds its full six hours
    n = args.assets * (len(rounds) - timed_from)
    results = [run_once(pledges, rounds, timed_from) for _ in range(args.runs)]
    seconds = statistics.median(r[0] for r in results)
    print(f"geofence: {compiled.describe()}")
    print(f"assets {args.assets:,} parked 0-150 m inside a 200 m fence, {n:,} readings timed "
          f"per run (the second half of a day of 5-min fixes), median of {args.runs}, CPU "
          "time of one core")
    print(f"geofence exit: {n / seconds:,.0f} readings/s, {seconds / n * 1e6:.2f} µs/reading, "
          f"findings {results[0][1]}, state snapshot {results[0][2]:,} B/asset")
    print("load average (1, 5, 15 min) after: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
