"""How soon can anyone tell a slow drift has left its site? A bound, not our detector.

The geofence's slowest drifts (40-60 m/h) are sometimes raised after the
dwell plus two readings (issue 5). This asks whether any detector could do
better against the GNSS error the simulator gives a machine that is not
driving (``devices/realism.py``: a walk pulled back 10% a fix with 6 m
steps, about 14 m each way for about an hour, plus Student-t errors of
3 m x HDOP). It gives an idealised detector everything ours must learn:
the exact noise model, the distance straight out to the fence, a drift in
a straight line at one speed. Its estimate of where the asset is now is
the best linear unbiased one (generalised least squares of a line through
the last ``--window-h`` hours, with the true error covariance), its
standard error exact, and it raises when that estimate is ``k`` errors
beyond the fence, without waiting for any dwell (it gets the dwell's 10
minutes for free).

Per ``k`` it prints the false alarms per 1,000 asset-days of a machine
parked on (or a little inside) its fence line, and how many drifts it
raises by the deadline, the true exit plus the dwell (10 min) plus two
readings. If no ``k`` keeps both the false alarms under the issue's 1 per
1,000 asset-days and the drifts in time, no detector working from these
fixes can, ours included.

Run: ``.venv/bin/python benchmarks/drift_bound.py [--days 2000] [--drifts 400]``
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

STEP_H = 5 / 60
PHI, STEP_SD_M = 0.9, 6.0  # the walk's pull-back and step, per fix
DEADLINE_H = (10 + 2 * 5) / 60  # dwell plus two readings
KS = (-1.0, -0.5, 0.0, 1.0, 2.0, 3.0, 4.0)
RATES_M_H = (40.0, 60.0, 120.0)


def covariance(n: int, hdop: float) -> np.ndarray:
    """The fixes' error covariance: the stationary walk plus independent t3 errors."""
    lag = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    walk = STEP_SD_M ** 2 / (1 - PHI ** 2) * PHI ** lag
    return walk + np.eye(n) * 3.0 * (3.0 * hdop) ** 2  # a t3 variable's variance is 3


def now_weights(n: int, hdop: float) -> tuple[np.ndarray, float]:
    """Weights giving the line's position at the last of ``n`` fixes, and its standard error."""
    t = (np.arange(n) - (n - 1)) * STEP_H
    x = np.column_stack([np.ones(n), t])
    inv = np.linalg.inv(covariance(n, hdop))
    beta = np.linalg.solve(x.T @ inv @ x, x.T @ inv)  # (2, n): the GLS line, rows a and b
    weights = beta[0]  # the line at t = 0, the last fix
    return weights, float(math.sqrt(weights @ covariance(n, hdop) @ weights))


def errors(rng: np.random.Generator, runs: int, steps: int, hdop: float) -> np.ndarray:
    walk = np.zeros((runs, steps))
    steps_m = rng.normal(0.0, STEP_SD_M, (runs, steps))
    w = rng.normal(0.0, STEP_SD_M / math.sqrt(1 - PHI ** 2), runs)  # start stationary
    for i in range(steps):
        w = PHI * w + steps_m[:, i]
        walk[:, i] = w
    return walk + 3.0 * hdop * rng.standard_t(3, (runs, steps))


def estimates(fixes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The estimate at each fix with a full window behind it (columns from len(weights) - 1)."""
    n = len(weights)
    windows = np.lib.stride_tricks.sliding_window_view(fixes, n, axis=1)
    estimated: np.ndarray = windows @ weights
    return estimated


def parked(rng: np.random.Generator, days: int, inside_m: float, hdop: float,
           weights: np.ndarray, se: float) -> dict[float, float]:
    """False alarms per 1,000 asset-days for each k: upward crossings of k errors out."""
    per_run = 20
    runs = max(1, days // per_run)
    steps = int(per_run * 24 / STEP_H) + len(weights)
    z = estimates(-inside_m + errors(rng, runs, steps, hdop), weights) / se
    asset_days = runs * per_run
    return {k: 1000 * float(np.sum((z[:, 1:] >= k) & (z[:, :-1] < k))) / asset_days for k in KS}


def drifts(rng: np.random.Generator, runs: int, rate: float, start_inside_m: float, hdop: float,
           weights: np.ndarray, se: float) -> dict[float, float]:
    """Share of drifts raised by the deadline, for each k."""
    n = len(weights)
    exit_h = start_inside_m / rate
    steps = n + int(math.floor((exit_h + DEADLINE_H) / STEP_H + 1e-9)) + 1
    t = (np.arange(steps) - n + 1) * STEP_H  # the drift starts at the first full window
    truth = -start_inside_m + rate * np.clip(t, 0.0, None)
    z = estimates(truth + errors(rng, runs, steps, hdop), weights) / se
    return {k: float(np.mean(np.any(z >= k, axis=1))) for k in KS}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=2000, help="parked asset-days per row")
    ap.add_argument("--drifts", type=int, default=400, help="drifts per row")
    ap.add_argument("--windows-h", type=float, nargs="+", default=[2.0, 6.0],
                    help="hours of fixes in the line; each drift starts that long before its exit")
    ap.add_argument("--hdop", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.days < 20 or args.drifts < 1 or min(args.windows_h) < 0.5 or args.hdop <= 0:
        ap.error("need --days >= 20, --drifts >= 1, --windows-h >= 0.5, --hdop > 0")
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    head = "".join(f"{'k=' + format(k, 'g'):>8}" for k in KS)
    for window_h in args.windows_h:
        weights, se = now_weights(int(round(window_h / STEP_H)), args.hdop)
        print(f"ideal detector: GLS line through {window_h:g} h of 5-min fixes, HDOP "
              f"{args.hdop:g}; its position now has a standard error of {se:.1f} m")
        print(f"{'false alarms per 1,000 asset-days':46}{head}")
        for inside in (0.0, 10.0, 20.0, 40.0):
            fa = parked(rng, args.days, inside, args.hdop, weights, se)
            print(f"{f'  parked {inside:g} m inside the fence':46}"
                  + "".join(f"{fa[k]:8.1f}" for k in KS))
        print(f"{'drifts raised by exit + dwell + 2 readings':46}{head}")
        for rate in RATES_M_H:  # straight out, at one speed for the whole window
            share = drifts(rng, args.drifts, rate, rate * window_h, args.hdop, weights, se)
            print(f"{f'  {rate:g} m/h':46}" + "".join(f"{share[k]:8.2f}" for k in KS))
        print()
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
