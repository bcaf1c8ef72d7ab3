"""bench_monitor's pipelines with this checkout's geofence and another, alternating in one process.

Separate runs of ``bench_monitor.py`` on a shared machine differ by 2x from
one minute to the next; alternating the two geofence versions in one
process, on the same readings, gives a ratio that noise does not swamp.
The other version is a file, e.g. the geofence before the track rule::

    git show 0d22329:monitor/detectors/geofence_exit.py > /tmp/old_geofence.py
    .venv/bin/python benchmarks/bench_geofence_ab.py --other /tmp/old_geofence.py

It must import what this checkout provides (``monitor.detectors.fences`` etc.).
The other file runs as Python, so this checkout must too: run with
``COLLATERAL_PURE_PYTHON=1`` (it refuses a compiled monitor, ``monitor.compiled``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
from collections.abc import Callable
from typing import Any

import bench_monitor as bm

from monitor import compiled
from monitor.detectors.base import Detector
from monitor.engine import default_detectors, spine_detectors

Pipeline = Callable[[], list[Detector[Any]]]


def load_other(path: str) -> type:
    if not os.path.isfile(path):
        raise SystemExit(f"--other {path}: no such file")
    spec = importlib.util.spec_from_file_location("other_geofence", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"--other {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules["other_geofence"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    detector = getattr(module, "GeofenceExitDetector", None)
    if not isinstance(detector, type):
        raise SystemExit(f"--other {path}: defines no GeofenceExitDetector class")
    return detector


def swapped(make: Pipeline, other: type) -> Pipeline:
    def build() -> list[Detector[Any]]:
        return [other() if d.kind.value == "geofence_exit" else d for d in make()]
    return build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--other", required=True, help="another geofence_exit.py to compare")
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if compiled.active():
        parser.error(f"this checkout's monitor runs compiled and the other file as Python: "
                     f"set {compiled.PURE_ENV}=1 for a fair ratio")
    other = load_other(args.other)
    pledges = bm.make_fleet(args.assets)
    readings = bm.make_readings(pledges, args.rounds)
    n = len(readings) - args.assets
    pipelines: dict[str, Pipeline] = {
        "spine, this": spine_detectors, "spine, other": swapped(spine_detectors, other),
        "full, this": default_detectors, "full, other": swapped(default_detectors, other)}
    times: dict[str, list[float]] = {name: [] for name in pipelines}
    for run in range(args.runs):
        for name, make in pipelines.items():
            seconds, _ = bm.run_once(readings, make, args.assets)
            times[name].append(seconds / n * 1e6)
        print(f"run {run + 1} of {args.runs} done", file=sys.stderr)
    print(f"{args.assets:,} assets, {n:,} readings timed per run, medians of {args.runs} "
          "alternating runs, CPU time of one core")
    print(f"{'pipeline':14} {'µs/reading':>10}  runs")
    for name, values in times.items():
        print(f"{name:14} {statistics.median(values):10.2f}  "
              + ", ".join(f"{v:.2f}" for v in values))
    for kind in ("spine", "full"):
        ratio = statistics.median(times[f"{kind}, this"]) / statistics.median(
            times[f"{kind}, other"])
        print(f"{kind}: this / other CPU per reading = {ratio:.2f}x")
    print("load average (1, 5, 15 min) after: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
