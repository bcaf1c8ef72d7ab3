"""InfluxDB alone as a baseline: the store's ceiling, with no MQTT in front of it.

The same readings as the drains (as the naive subscriber's line protocol),
built before the clock starts, are POSTed to ``/write`` in 5,000-line bodies
by ``writers`` threads, each with its own HTTP connection. InfluxDB answers a
write once the points are queryable, so the clock runs from the first
request until the last answer; a COUNT afterwards confirms they are all there.
"""

from __future__ import annotations

import queue
import resource
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import httpx

__all__ = ["BATCH", "bodies", "drain", "write_all"]

BATCH = 5000


def line(device: str, r: dict[str, object]) -> str:
    """One reading as the naive subscriber writes it."""
    fields = ",".join(f"{k}={'true' if v is True else 'false' if v is False else v}"
                      for k, v in r.items() if k not in ("seq", "ts_ms"))
    return f"telemetry,asset_id={device},device_id={device} seq={r['seq']}i,{fields} {r['ts_ms']}"


def bodies(devices: int, per_device: int,
           reading: Callable[[int], dict[str, object]]) -> Iterator[bytes]:
    """The drain's readings, device by device, as /write bodies of BATCH lines."""
    lines = [line(f"dev-{d:03d}", reading(s)) for d in range(devices)
             for s in range(1, per_device + 1)]
    for i in range(0, len(lines), BATCH):
        yield "\n".join(lines[i:i + BATCH]).encode()


def drain(url: str, batches: list[bytes], writers: int) -> dict[str, float]:
    """Write the batches to a fresh database; the bench's result row (rate 0 if any is missing)."""
    total = sum(body.count(b"\n") + 1 for body in batches)
    db = f"bench_{uuid.uuid4().hex[:8]}"
    httpx.post(f"{url}/query", params={"q": f"CREATE DATABASE {db}"}).raise_for_status()
    result = write_all(url, db, batches, writers)
    r = httpx.get(f"{url}/query", params={"db": db, "q": 'SELECT COUNT("seq") FROM "telemetry"'},
                  timeout=30)
    series = r.json()["results"][0].get("series")
    stored = int(series[0]["values"][0][1]) if series else 0
    return {"rate": stored / result["elapsed"] if stored >= total else 0.0, "stored": stored,
            "cpu_ms_per_1k": result["cpu"] / total * 1000 * 1000, "elapsed": result["elapsed"]}


def write_all(url: str, db: str, batches: list[bytes], writers: int) -> dict[str, float]:
    """POST every batch with ``writers`` concurrent connections; seconds and CPU seconds."""
    work: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    for body in batches:
        work.put(body)
    errors: list[str] = []

    def writer() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            while True:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                r = http.post("/write", params={"db": db, "precision": "ms"}, content=body)
                if r.status_code != 204:
                    errors.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    cpu0 = _cpu_self()
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"InfluxDB refused {len(errors)} writes, first: {errors[0]}")
    return {"elapsed": elapsed, "cpu": _cpu_self() - cpu0}


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
