"""Ground truth on disk: every published message, the labels of every played scenario, the fleet.

``collateral simulate --record DIR`` (and ``record_offline``) write:

- ``DIR/messages.jsonl``: one line per MQTT message, ``{"topic", "qos", "retain",
  "payload", "wall_ms"}``; ``payload`` is the wire-v1 object, or the text
  as published when it is not JSON (presence, injected malformed messages).
- ``DIR/labels.jsonl``: one ``devices.scenarios.Label`` per line.
- ``DIR/fleet.yaml``: the fleet file the run used, importable by the registry.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from devices.scenarios import Label, iso_ms

__all__ = ["Recorder", "RecordError", "record_offline"]

log = logging.getLogger(__name__)


class RecordError(OSError):
    """The record directory cannot be written."""


class Recorder:
    """Appends messages as they are published; labels and fleet are written on ``close``."""

    def __init__(self, directory: str | Path, fleet: dict[str, Any]) -> None:
        self.dir = Path(directory)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._messages: IO[str] = (self.dir / "messages.jsonl").open("w", encoding="utf-8")
        except OSError as exc:
            raise RecordError(f"cannot record into {self.dir}: {exc}") from None
        self._fleet = fleet
        self.count = 0

    def message(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False,
                wall_ms: int | None = None) -> None:
        body: Any
        try:
            body = json.loads(payload)
        except ValueError:
            body = payload.decode("utf-8", errors="replace")
        line = {"topic": topic, "qos": qos, "retain": retain, "payload": body,
                "wall_ms": time.time_ns() // 1_000_000 if wall_ms is None else wall_ms}
        self._messages.write(json.dumps(line, separators=(",", ":")) + "\n")
        self.count += 1

    def close(self, labels: Iterable[Label]) -> None:
        from devices.fleet import dump_fleet

        self._messages.close()
        with (self.dir / "labels.jsonl").open("w", encoding="utf-8") as out:
            for label in labels:
                out.write(json.dumps(label.as_json(), separators=(",", ":")) + "\n")
        dump_fleet(self._fleet, self.dir / "fleet.yaml")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if not self._messages.closed:
            self._messages.close()


def record_offline(fleet: dict[str, Any], seed: int, start_ms: int, end_ms: int,
                   directory: str | Path, realism: str = "clean") -> int:
    """Simulate without a broker and record; ``wall_ms`` is then the device time sent.

    Returns the number of messages written.
    """
    from devices.simulator import Simulator

    sim = Simulator(fleet, seed, start_ms, realism)
    step_ms = max(3_600_000, (end_ms - start_ms) // 20)
    next_report = start_ms + step_ms
    with Recorder(directory, fleet) as recorder:
        for topic, payload, t_ms in sim.messages(end_ms):
            recorder.message(topic, payload, wall_ms=t_ms)
            if t_ms >= next_report:  # a long run shows how far it got
                log.info("recorded %d messages, device time %s (%.0f%%)", recorder.count,
                         iso_ms(t_ms), 100 * (t_ms - start_ms) / (end_ms - start_ms))
                next_report += step_ms
        recorder.close(sim.labels(end_ms))
        return recorder.count
