from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from ingest.durable import DurableWriter
from ingest.metrics import IngestMetrics
from ingest.spool import Spool
from ingest.store import Point, StoreError, StoreUnavailable


class FlakyStore:
    """Records what it was given; ``down`` raises StoreUnavailable, ``refuse`` StoreError."""

    def __init__(self) -> None:
        self.down = False
        self.refuse = False
        self.points: list[Point] = []

    def write(self, points: Sequence[Point]) -> None:
        if self.down:
            raise StoreUnavailable("connection refused")
        if self.refuse:
            raise StoreError("400 bad line")
        self.points.extend(points)


def batch(first: int, n: int = 2) -> list[Point]:
    return [Point("a", "d", 10_000 + s, s, {"speed_kmh": 1.0}) for s in range(first, first + n)]


@pytest.fixture()
def parts(tmp_path: Path) -> Iterator[tuple[FlakyStore, Spool, IngestMetrics]]:
    with Spool(tmp_path / "spool", 1 << 20) as spool:
        yield FlakyStore(), spool, IngestMetrics()


def value(metrics: IngestMetrics, name: str) -> float:
    got = metrics.registry.get_sample_value(name)
    assert got is not None, name
    return got


def test_store_down_spools_then_replays_in_order_before_new_batches(
        parts: tuple[FlakyStore, Spool, IngestMetrics], monkeypatch: pytest.MonkeyPatch) -> None:
    store, spool, metrics = parts
    writer = DurableWriter(store, spool, metrics, on_refused=lambda *_: None)
    store.down = True
    assert writer.write(batch(1)).spooled
    assert writer.write(batch(3)).spooled
    assert value(metrics, "cw_ingest_spool_depth_readings") == 4
    store.down = False
    monkeypatch.setattr(writer, "_retry_at", 0.0)  # the back-off has passed
    outcome = writer.write(batch(5))
    assert not outcome.spooled and outcome.refused is None
    assert [p.seq for p in store.points] == [1, 2, 3, 4, 5, 6]
    assert spool.empty and value(metrics, "cw_ingest_spool_depth_readings") == 0
    assert value(metrics, "cw_ingest_readings_stored_total") == 6
    assert value(metrics, "cw_ingest_readings_spooled_total") == 4


def test_full_spool_blocks_until_the_store_is_back(
        parts: tuple[FlakyStore, Spool, IngestMetrics], tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    store, _, metrics = parts
    spool = Spool(tmp_path / "small", max_bytes=200)
    request.addfinalizer(spool.close)
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the store comes back after the third wait
        waits.append(seconds)
        assert metrics.registry.get_sample_value("cw_ingest_spool_full") == 1
        store.down = len(waits) < 3

    writer = DurableWriter(store, spool, metrics, on_refused=lambda *_: None, sleep=sleep)
    store.down = True
    assert writer.write(batch(1)).spooled
    assert not writer.write(batch(3, 5)).spooled  # did not fit: waited for the store
    assert len(waits) == 3
    assert [p.seq for p in store.points] == [1, 2, 3, 4, 5, 6, 7]
    assert value(metrics, "cw_ingest_spool_full") == 0


def test_refused_batches_are_reported_not_retried(
        parts: tuple[FlakyStore, Spool, IngestMetrics], monkeypatch: pytest.MonkeyPatch) -> None:
    store, spool, metrics = parts
    refused: list[tuple[list[Point], str]] = []
    writer = DurableWriter(store, spool, metrics,
                           on_refused=lambda p, why: refused.append((list(p), why)))
    store.down = True
    writer.write(batch(1))
    store.down, store.refuse = False, True
    monkeypatch.setattr(writer, "_retry_at", 0.0)
    assert writer.write(batch(3)).refused == "400 bad line"
    assert refused == [(batch(1), "400 bad line")]  # the spooled one, via the callback
    assert spool.empty and store.points == []
