"""The geofence's false alarms where they are hardest to avoid, and its timing on slow drifts.

``collateral evaluate`` parks its fleet's machines near their anchors, far
inside the fence; this puts them on the fence line, where every rule of
the geofence (every fix clear of the margin, the evidence of the fixes,
the track) is tempted. Each scenario runs ``--days`` of 5-minute fixes per
asset on a 200 m circle, through the geofence detector alone, and counts
the alarms by the rule that raised them (``details["rule"]``):

- ``plain noise``: parked 0-40 m inside the line, independent Gaussian
  errors of 5-30 m;
- ``wander A m``: parked A m inside, the fix swinging A m each way over
  hours (slow multipath, 5.3 h and 3.7 h periods) plus 10 m of noise;
- ``correlated``: parked 5-40 m inside with a GNSS receiver's correlated
  error (a random walk pulled back 10% a fix, 6 m steps: about 14 m each
  way, for about an hour) plus heavy-tailed errors (Student t, 3 degrees)
  of 3 m x HDOP, HDOP 1.0-1.8;
- ``correlated, work spots, course C``: the same, driven every ~3 hours to
  another spot 5-60 m inside the line (a machine working along its yard's
  edge), half the drives caught by a fix on the way; the course the tracker
  reports while parked is held from the last drive, absent, or random;
- ``drift N m/h``: the same errors on a machine creeping straight out from
  80 m inside at N m/h: not false alarms but the other side of the trade,
  how many are raised within the dwell (10 min) plus two readings of the
  true position leaving.

Run: ``.venv/bin/python benchmarks/stress_geofence.py [--days 20] [--seeds 6]``
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator

from ingest.wire import Reading
from monitor.detectors.fences import to_latlon
from monitor.detectors.geofence_exit import GeofenceExitDetector
from monitor.model import Pledge, Site

T0 = 1_764_547_200_000
MIN, HOUR = 60_000, 3_600_000
STEP_MS = 5 * MIN
RADIUS_M = 200.0
DWELL_S = 600.0
LAT0, LON0 = 30.0, 120.0
PLEDGE = Pledge("a1", "l1", "b1", "construction", Site(LAT0, LON0, radius_m=RADIUS_M),
                cadence_s=STEP_MS / 1000, geofence_dwell_s=DWELL_S)

#: (north_m, east_m, hdop, speed_kmh, heading_deg) of the fix at each step, seeded.
Path = Iterator[tuple[float, float, float, float, float | None]]


def _reading(i: int, north: float, east: float, hdop: float, speed: float,
             heading: float | None) -> Reading:
    lat, lon = to_latlon(LAT0, LON0, east, north)
    return Reading("d1", i, T0 + i * STEP_MS, lat=lat, lon=lon, gnss_fix=3, hdop=hdop,
                   speed_kmh=speed, heading_deg=heading)


def plain(rng: random.Random, steps: int, sigma: float, inside: float) -> Path:
    for _ in range(steps):
        yield RADIUS_M - inside + rng.gauss(0, sigma), rng.gauss(0, sigma), 1.0, 0.0, 90.0


def wander(rng: random.Random, steps: int, amplitude: float) -> Path:
    phase = rng.uniform(0, 2 * math.pi)
    for i in range(steps):
        h = i * STEP_MS / HOUR
        yield (RADIUS_M - amplitude + amplitude * math.sin(2 * math.pi * h / 5.3 + phase)
               + rng.gauss(0, 10), amplitude * math.sin(2 * math.pi * h / 3.7 + 1.0)
               + rng.gauss(0, 10), 1.0, 0.0, 90.0)


def _t3(rng: random.Random) -> float:
    return rng.gauss(0, 1) / math.sqrt(sum(rng.gauss(0, 1) ** 2 for _ in range(3)) / 3)


def correlated(rng: random.Random, steps: int, spots: bool = False,
               drift_m_h: float = 0.0, course: str = "held") -> Path:
    """A receiver's correlated error and heavy tails; optionally moved between work spots
    (half the moves are caught by a fix on the way, reporting 3 km/h), or creeping north
    from 80 m inside at ``drift_m_h`` (too slow to show any speed). The course reported
    while parked is ``held`` from the last drive (most trackers), ``none``, or ``random``
    (a receiver's raw course at standstill)."""
    heading = rng.uniform(0, 360)
    hdop = rng.choice((1.0, 1.2, 1.5, 1.8))
    north, east = (RADIUS_M - 80.0, 0.0) if drift_m_h else (RADIUS_M - rng.uniform(5, 40), 0.0)
    wx = wy = 0.0
    bound: tuple[float, float] | None = None  # where a move seen on the way is going
    for i in range(steps):
        speed = 0.0
        if bound is not None:
            (north, east), bound = bound, None
        elif spots and rng.random() < 1 / 36:
            to = (RADIUS_M - rng.uniform(5, 60), rng.uniform(-40, 40))
            if rng.random() < 0.5:  # this fix is on the way
                north, east, speed, bound = (north + to[0]) / 2, (east + to[1]) / 2, 3.0, to
            else:
                north, east = to
            wx, wy, heading = 0.0, 0.0, rng.uniform(0, 360)
        wx, wy = 0.9 * wx + rng.gauss(0, 6), 0.9 * wy + rng.gauss(0, 6)
        truth = north + drift_m_h * i * STEP_MS / HOUR
        said = (heading if course == "held" else None if course == "none"
                else rng.uniform(0, 360))
        yield (truth + wy + 3 * hdop * _t3(rng), east + wx + 3 * hdop * _t3(rng), hdop, speed,
               said)


def run(path: Path) -> list[tuple[int, str]]:
    """(step, rule) of every alarm raised along ``path``."""
    detector = GeofenceExitDetector()
    state = detector.initial_state()
    raised = []
    for i, fix in enumerate(path):
        state, found = detector.on_reading(state, _reading(i, *fix), PLEDGE)
        raised += [(i, str(f.details.get("rule"))) for f in found if f.active]
    return raised


def false_alarms(name: str, paths: list[Callable[[], Path]], days: float) -> dict[str, object]:
    rules: Counter[str] = Counter()
    for make in paths:
        rules.update(rule for _, rule in run(make()))
    asset_days = len(paths) * days
    total = sum(rules.values())
    return {"scenario": name, "runs": len(paths), "asset_days": asset_days, "alarms": total,
            "per_1000_asset_days": round(1000 * total / asset_days, 2), "by_rule": dict(rules)}


def drift_timing(rate: float, seeds: int) -> dict[str, object]:
    """Raised within the dwell plus two readings of the truth leaving (80 m at ``rate``)."""
    exit_step = math.ceil(80.0 / rate * HOUR / STEP_MS)
    steps = exit_step + 24
    within = late = missed = 0
    for seed in range(seeds):
        raised = run(correlated(random.Random(9000 + seed), steps, drift_m_h=rate))
        first = raised[0][0] if raised else None
        if first is None:
            missed += 1
        elif (first - exit_step) * STEP_MS <= DWELL_S * 1000 + 2 * STEP_MS:
            within += 1
        else:
            late += 1
    return {"scenario": f"drift {rate:g} m/h", "runs": seeds, "within": within, "late": late,
            "missed": missed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=float, default=20.0)
    parser.add_argument("--seeds", type=int, default=6, help="runs per scenario (x4 for plain)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.days <= 0 or args.seeds <= 0:
        parser.error("--days and --seeds must be positive")
    steps = int(args.days * 24 * HOUR / STEP_MS)
    started = time.process_time()
    rows = [false_alarms("plain noise", [
        (lambda s=s, sigma=sigma, inside=inside: plain(random.Random(s), steps, sigma, inside))
        for sigma in (5, 10, 20, 30) for inside in (0, 10, 20, 40)
        for s in range(max(1, args.seeds // 2))], args.days)]
    for amplitude in (10, 20, 40):
        rows.append(false_alarms(f"wander {amplitude} m", [
            (lambda s=s, a=amplitude: wander(random.Random(s), steps, a))
            for s in range(args.seeds)], args.days))
    rows.append(false_alarms("correlated", [
        (lambda s=s: correlated(random.Random(500 + s), steps))
        for s in range(2 * args.seeds)], args.days))
    for course in ("held", "none", "random"):
        rows.append(false_alarms(f"correlated, work spots, course {course}", [
            (lambda s=s, c=course: correlated(random.Random(500 + s), steps, spots=True,
                                              course=c))
            for s in range(2 * args.seeds)], args.days))
    timing = [drift_timing(rate, 4 * args.seeds) for rate in (40, 60, 120)]
    if args.json:
        print(json.dumps({"false_alarms": rows, "drifts": timing}, indent=2))
        return
    print(f"geofence alone, 200 m circle, a fix every 5 min, {args.days:g} days a run "
          f"({time.process_time() - started:.0f} s CPU)")
    print(f"{'scenario':<36}{'runs':>6}{'asset-days':>12}{'alarms':>8}"
          f"{'per 1,000 asset-days':>22}  by rule")
    for row in rows:
        print(f"{row['scenario']:<36}{row['runs']:>6}{row['asset_days']:>12g}{row['alarms']:>8}"
              f"{row['per_1000_asset_days']:>22}  {row['by_rule'] or '-'}")
    print(f"\n{'drift':<36}{'runs':>6}{'within dwell+2':>16}{'late':>6}{'missed':>8}")
    for row in timing:
        print(f"{row['scenario']:<36}{row['runs']:>6}{row['within']:>16}{row['late']:>6}"
              f"{row['missed']:>8}")


if __name__ == "__main__":
    main()
