from __future__ import annotations

from pathlib import Path

from ingest.spool import Spool
from ingest.store import Point


def batch(first: int, n: int = 3) -> list[Point]:
    return [Point("a", "d", 1_000 + s, s, {"lat": 1.5, "ignition": True, "sats": 7})
            for s in range(first, first + n)]


def test_batches_come_back_in_order_and_the_file_empties(tmp_path: Path) -> None:
    with Spool(tmp_path / "s", max_bytes=1 << 20) as spool:
        assert spool.empty and spool.peek() is None
        for first in (1, 4, 7):
            assert spool.append(batch(first))
        assert spool.depth == 9
        got = []
        while not spool.empty:
            got.extend(spool.peek() or [])
            spool.pop()
        assert got == batch(1, 9)
        assert spool.size_bytes == 0


def test_a_restart_replays_everything_not_yet_emptied(tmp_path: Path) -> None:
    with Spool(tmp_path / "s", max_bytes=1 << 20) as spool:
        spool.append(batch(1))
        spool.append(batch(4))
        spool.pop()  # the store took the first batch, then the process died
    with Spool(tmp_path / "s", max_bytes=1 << 20) as spool:
        assert spool.depth == 6  # replaying the first batch again is idempotent in the store
        assert spool.peek() == batch(1)


def test_a_torn_last_record_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with Spool(path, max_bytes=1 << 20) as spool:
        spool.append(batch(1))
        whole = spool.size_bytes
        spool.append(batch(4))
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size - 5)  # a crash in the middle of the second write
    with Spool(path, max_bytes=1 << 20) as spool:
        assert spool.depth == 3 and spool.peek() == batch(1)
        assert spool.size_bytes == whole


def test_a_full_spool_refuses_and_writes_nothing(tmp_path: Path) -> None:
    with Spool(tmp_path / "s", max_bytes=400) as spool:
        assert spool.append(batch(1))
        size = spool.size_bytes
        assert not spool.append(batch(4, 10))
        assert spool.size_bytes == size and spool.depth == 3
