"""What the monitor's pledge refresh (every 30 s, on its own thread) costs.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_pledge_refresh.py``
(``--assets 10000``, ``--runs 5``)

A generated fleet in a fresh SQLite registry; each row is the median of
``--runs`` timings, in milliseconds:

- ``first read``: a fresh ``PledgeLoader`` (every row parsed), what a monitor
  pays at start;
- ``refresh, nothing changed``: the same loader again (rows compared as text,
  nothing parsed), what it pays every 30 s;
- ``refresh, one asset changed``: one pledge's dwell edited between reads.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable

from devices.fleet import generate_fleet
from monitor.pledges import PledgeLoader
from registry import Registry, import_fleet
from registry.models import Asset


def _median_ms(runs: int, step: Callable[[], object], before: Callable[[], object] | None = None,
               ) -> float:
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        registry = Registry(f"sqlite:///{tmp}/registry.db")
        import_fleet(registry, generate_fleet(args.assets, seed=1))
        loader = PledgeLoader()
        loader.load(registry)
        first = _median_ms(args.runs, lambda: PledgeLoader().load(registry))
        unchanged = _median_ms(args.runs, lambda: loader.load(registry))
        dwell = [600.0]

        def edit_one() -> None:
            dwell[0] += 1.0
            with registry.session() as session:
                asset = session.query(Asset).order_by(Asset.id).first()
                assert asset is not None
                asset.geofence_dwell_s = dwell[0]

        one = _median_ms(args.runs, lambda: loader.load(registry), edit_one)
        registry.close()
    print(f"pledge refresh, {args.assets:,} assets, SQLite, median of {args.runs}")
    print(f"{'read':32} {'ms':>8} {'µs per asset':>13}")
    for name, ms in (("first read", first), ("refresh, nothing changed", unchanged),
                     ("refresh, one asset changed", one)):
        print(f"{name:32} {ms:8.1f} {ms * 1000 / args.assets:13.1f}")


if __name__ == "__main__":
    main()
