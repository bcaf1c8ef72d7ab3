"""Per-device sequence windows: which (device, seq) pairs have been seen.

A redelivered MQTT message or a replayed store-and-forward batch carries
sequence numbers already seen; it must not be counted twice downstream.

>>> w = SeqWindow(size=4)
>>> [w.admit(s) for s in (1, 2, 2, 5, 3, 1)]
[True, True, False, True, True, False]
"""

from __future__ import annotations

__all__ = ["SeqWindow", "Deduplicator"]


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
