"""Per-device sequence windows: which (device, seq) pairs have been seen.

A redelivered MQTT message or a replayed store-and-forward batch carries
sequence numbers already seen; it must not be counted twice downstream.

>>> w = SeqWindow(size=4)
>>> [w.admit(s) for s in (1, 2, 2, 5, 3, 1)]
[True, True, False, True, True, False]
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["SeqWindow", "Deduplicator", "SeqLedger"]


class SeqWindow:
    """Remembers the last ``size`` sequence numbers below the highest seen."""

    __slots__ = ("size", "high", "_seen")

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.high = -1
        self._seen: set[int] = set()

    def admit(self, seq: int) -> bool:
        """True the first time ``seq`` is offered; False for a repeat or one too old to tell."""
        if seq > self.high:
            self.high = seq
            self._seen.add(seq)
            if len(self._seen) > 2 * self.size:
                floor = self.high - self.size
                self._seen = {s for s in self._seen if s > floor}
            return True
        if seq <= self.high - self.size or seq in self._seen:
            return False
        self._seen.add(seq)
        return True


class Deduplicator:
    def __init__(self, window: int = 4096) -> None:
        self._window = window
        self._devices: dict[str, SeqWindow] = {}

    def admit(self, device_id: str, seq: int) -> bool:
        window = self._devices.get(device_id)
        if window is None:
            window = self._devices[device_id] = SeqWindow(self._window)
        return window.admit(seq)


class SeqLedger:
    """Per device, the device time of each recent sequence number ingest has acknowledged.

    It tells a broker redelivery (same seq, same time: drop it quietly) from a
    device replaying a sequence number for a different reading (a dead letter).

    >>> ledger = SeqLedger(size=8)
    >>> ledger.record("d", 1, 1000)
    >>> ledger.seen("d", 1), ledger.seen("d", 2)
    (1000, None)
    """

    __slots__ = ("size", "_devices")

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._devices: dict[str, tuple[list[int], dict[int, int]]] = {}

    def seen(self, device_id: str, seq: int) -> int | None:
        entry = self._devices.get(device_id)
        return None if entry is None else entry[1].get(seq)

    def recent(self, device_id: str) -> Mapping[int, int] | None:
        """The device's recorded seq -> ts_ms (a live view), or None if none is."""
        entry = self._devices.get(device_id)
        return None if entry is None else entry[1]

    def record(self, device_id: str, seq: int, ts_ms: int) -> None:
        self.record_many({(device_id, seq): ts_ms})

    def record_many(self, seen: Mapping[tuple[str, int], int]) -> None:
        """``record`` for every ((device id, seq), ts_ms) item, in one call per batch."""
        devices, size = self._devices, self.size
        for (device_id, seq), ts_ms in seen.items():
            entry = devices.get(device_id)
            if entry is None:
                entry = devices[device_id] = ([seq], {})
            high, seqs = entry
            seqs[seq] = ts_ms
            if seq > high[0]:
                high[0] = seq
            if len(seqs) > 2 * size:  # keep the newest `size`: memory stays bounded
                floor = high[0] - size
                kept = {s: t for s, t in seqs.items() if s > floor}
                seqs.clear()
                seqs.update(kept)
