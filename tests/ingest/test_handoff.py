from __future__ import annotations

from ingest.dedup import Deduplicator, SeqWindow
from ingest.handoff import AssetReading, decode_handoff, encode_handoff, partition_of
from ingest.wire import Reading

NOW = 1_764_331_200_000


def test_handoff_round_trip_keeps_asset_and_every_field() -> None:
    items = [
        AssetReading("a1", Reading("d1", 1, NOW, lat=31.0, lon=121.0, ignition=True, sats=9)),
        AssetReading("a1", Reading("d1", 2, NOW + 1, tamper=True)),
        AssetReading("a2", Reading("d2", 5, NOW, power_kw=3.5)),
    ]
    assert list(decode_handoff(encode_handoff(items))) == items


def test_partitions_are_stable_and_spread() -> None:
    parts = {partition_of(f"asset-{i:04d}", 16) for i in range(500)}
    assert parts == set(range(16))
    assert partition_of("asset-0001", 16) == 3  # pinned: workers in other processes agree


def test_seq_window_rejects_repeats_and_accepts_late_unseen() -> None:
    window = SeqWindow(size=100)
    assert all(window.admit(s) for s in range(1, 51))
    assert not any(window.admit(s) for s in range(1, 51))
    assert window.admit(60) and window.admit(55)  # a late reading that was never seen
    assert not window.admit(55)


def test_seq_window_memory_is_bounded() -> None:
    window = SeqWindow(size=10)
    for s in range(10_000):
        window.admit(s)
    assert len(window._seen) <= 20
    assert not window.admit(5)  # too old to tell: treated as a replay


def test_deduplicator_is_per_device() -> None:
    dedup = Deduplicator()
    assert dedup.admit("a", 1) and dedup.admit("b", 1)
    assert not dedup.admit("a", 1)
