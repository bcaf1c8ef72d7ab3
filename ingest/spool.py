"""A durable local spool for points the store could not take yet.

While the store is unreachable, ingest appends each batch here, fsyncs, and
only then acknowledges it to the broker; when the store returns, the spool is
replayed oldest first. A batch is one record: length, CRC-32, then the points
as JSON. A crash can leave a torn last record; opening the spool drops it
(it was never acknowledged, so the broker still holds those messages).

Replaying is idempotent (a point is keyed by asset, device and time), so the
spool remembers no read position across restarts: it replays from its start.

>>> import tempfile, pathlib
>>> from ingest.store import Point
>>> path = pathlib.Path(tempfile.mkdtemp()) / "spool"
>>> with Spool(path, max_bytes=1 << 20) as spool:
...     spool.append([Point("a", "d", 1000, 1, {"lat": 1.5})])
...     spool.depth, spool.peek()
True
(1, [Point(asset_id='a', device_id='d', ts_ms=1000, seq=1, fields={'lat': 1.5})])
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import orjson

from ingest.store.base import ClosingStore, Point

__all__ = ["Spool"]

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">II")  # payload length, CRC-32 of the payload


class Spool(ClosingStore):
    """An append-only file of point batches, read back in the order written."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path, self.max_bytes = path, max_bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a+b")
        self._records = self._scan()  # (offset, length, points) of what is not replayed
        self._read = 0  # index of the oldest record not yet replayed
        if self._records:
            log.warning("spool %s holds %d points from before a restart; replaying them",
                        path, self.depth)

    @property
    def size_bytes(self) -> int:
        return self._file.seek(0, os.SEEK_END)

    @property
    def depth(self) -> int:
        """Points waiting to be replayed."""
        return sum(count for _, count in self._records[self._read:])

    @property
    def empty(self) -> bool:
        return self._read >= len(self._records)

    def append(self, points: Sequence[Point]) -> bool:
        """Write a batch durably; False (nothing written) when the spool is full."""
        body = orjson.dumps([[p.asset_id, p.device_id, p.ts_ms, p.seq, dict(p.fields)]
                             for p in points])
        end = self.size_bytes
        if end + _HEADER.size + len(body) > self.max_bytes:
            return False
        self._file.write(_HEADER.pack(len(body), zlib.crc32(body)) + body)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._records.append((end, len(points)))
        return True

    def peek(self) -> list[Point] | None:
        """The oldest batch not yet replayed, or None."""
        if self.empty:
            return None
        offset, _ = self._records[self._read]
        self._file.seek(offset)
        length, _crc = _HEADER.unpack(self._file.read(_HEADER.size))
        return [Point(a, d, t, s, f) for a, d, t, s, f in orjson.loads(self._file.read(length))]

    def pop(self) -> None:
        """The oldest batch is in the store; once all are, the file starts over empty."""
        self._read += 1
        if self.empty:
            self._file.truncate(0)
            os.fsync(self._file.fileno())
            self._records, self._read = [], 0

    def close(self) -> None:
        self._file.close()

    def _scan(self) -> list[tuple[int, int]]:
        records: list[tuple[int, int]] = []
        self._file.seek(0)
        data = self._file.read()
        offset = 0
        while offset + _HEADER.size <= len(data):
            length, crc = _HEADER.unpack_from(data, offset)
            body = data[offset + _HEADER.size: offset + _HEADER.size + length]
            if len(body) < length or zlib.crc32(body) != crc:
                break
            records.append((offset, len(orjson.loads(body))))
            offset += _HEADER.size + length
        if offset < len(data):
            log.warning("spool %s: dropping a torn record of %d bytes at its end (it was never "
                        "acknowledged)", self.path, len(data) - offset)
            self._file.truncate(offset)
            os.fsync(self._file.fileno())
        return records
