"""The ingest writer's CPU per reading, without broker or database: decode -> dedup ->
points -> line protocol -> hand-off -> ledger, as ``IngestService._accept`` and the store do
it, for batches of 100 messages x 50 readings (the "50/msg" case of bench_ingest.py).

Each configuration runs in its own process (garbage-collector settings are process-wide):
``default gc`` is CPython's, ``tune_gc`` what ``collateral.cli ingest`` sets. Prints
microseconds of wall time per reading, median of --runs, with the ratio to the default.

    PYTHONPATH=. python benchmarks/bench_writer.py --runs 7
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import deque
from typing import Any

T0 = 1764331200000
DEVICES, PER_MESSAGE = 100, 50


def reading(seq: int) -> dict[str, object]:  # as bench_ingest.py sends them
    return {"seq": seq, "ts_ms": T0 + seq * 1000, "lat": 31.2 + seq % 97 * 1e-5,
            "lon": 121.4 - seq % 89 * 1e-5, "speed_kmh": float(seq % 60), "heading_deg": 90.0,
            "gnss_fix": 3, "hdop": 0.9, "sats": 11, "ignition": seq % 2 == 0,
            "battery_v": 12.6, "ext_power": True, "tamper": False}


def one_run(rounds: int, tune: bool) -> float:
    """Microseconds per reading for ``rounds`` batches of DEVICES messages."""
    from ingest.dedup import SeqLedger
    from ingest.handoff import encode_handoff_groups, partition_of
    from ingest.receive import Received
    from ingest.service import IngestConfig, IngestService, _Batch, tune_gc
    from ingest.store.influx import _decoded_lines

    batches = []
    for r in range(rounds):
        first = r * PER_MESSAGE + 1
        batches.append([Received(
            f"telemetry/dev-{d:03d}",
            json.dumps({"v": 1, "device_id": f"dev-{d:03d}",
                        "readings": [reading(s) for s in range(first, first + PER_MESSAGE)]},
                       separators=(",", ":")).encode(), d + 1, 1, False)
            for d in range(DEVICES)])
    service: Any = IngestService.__new__(IngestService)  # the writer's state, no I/O
    service.config, service._writing, service._pending = IngestConfig(), None, deque()
    service._ledger, service._clock_ms = SeqLedger(), lambda: T0 + 10**9
    service._devices = {f"dev-{d:03d}": f"asset-{d:03d}" for d in range(DEVICES)}
    service._devices_loaded_at = time.monotonic() + 1e9
    if tune:
        tune_gc()
    start = time.perf_counter()
    for messages in batches:
        batch = _Batch()
        service._accept_all(1, messages, batch)
        _decoded_lines(batch.points)
        by_partition: dict[int, dict[tuple[str, str], list[dict[str, Any]]]] = {}
        for key, wire in batch.handoff.items():
            by_partition.setdefault(partition_of(key[0], 16), {})[key] = wire
        for group in by_partition.values():
            encode_handoff_groups(group)
        service._ledger.record_many(batch.seen)
    return (time.perf_counter() - start) / (rounds * DEVICES * PER_MESSAGE) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=40, help="batches of 5,000 per run")
    parser.add_argument("--one", choices=["default", "tuned"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(one_run(args.rounds, args.one == "tuned"))
        return
    results: dict[str, list[float]] = {"default": [], "tuned": []}
    for _ in range(args.runs):  # alternate, so both see the same machine load
        for mode in results:
            out = subprocess.run([sys.executable, __file__, "--one", mode, "--rounds",
                                  str(args.rounds)], check=True, capture_output=True, text=True)
            results[mode].append(float(out.stdout))
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    base = statistics.median(results["default"])
    print(f"\n| writer gc | µs / reading (median of {args.runs}) | runs | x default |")
    print("| --- | ---: | --- | ---: |")
    for mode, label in (("default", "default gc"), ("tuned", "tune_gc")):
        median = statistics.median(results[mode])
        runs = ", ".join(f"{v:.2f}" for v in results[mode])
        print(f"| {label} | {median:.2f} | {runs} | {median / base:.2f} |")
    print(f"\nload average at the end: {load}")


if __name__ == "__main__":
    main()
