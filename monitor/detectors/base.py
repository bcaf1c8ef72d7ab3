"""The one contract every detector follows.

A detector judges one kind of condition for one asset at a time. It holds no
per-asset data itself: the caller (``DetectionEngine``) keeps one state value
per asset and hands it in with each reading or tick; the detector returns
the next state and its findings. Time is the device time of the reading, or
the ``now_ms`` the caller passes to ``on_tick`` (the fleet's newest device
time), never the wall clock.

Rules every detector keeps (``tests/monitor/test_detector_contract.py``
checks them for all of them):

- An active ``Finding`` when the condition starts (and, optionally, again
  while it lasts with fresher details); an inactive one when it clears.
- A reading older than what the state already covers (a late
  store-and-forward batch) never corrupts the state or raises an alarm.
- ``dump_state`` gives a JSON-able dict; ``load_state(dump_state(s))``
  continues exactly as ``s`` would have.
- No I/O, nothing random.

For speed a detector may update the state it is given in place and return
that same object; the caller must only ever use the returned state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any, Generic, Protocol, Self, TypeVar, cast

from ingest.wire import Reading
from monitor.model import AlertKind, Finding, Pledge

__all__ = ["Detector", "StateRecord", "ReadingsOnly", "NO_FINDINGS"]

S = TypeVar("S")

# Returned on the hot path instead of a fresh empty list per call.
NO_FINDINGS: Sequence[Finding] = ()


class Detector(Protocol[S]):
    """One kind of condition, judged per asset over a state of type ``S``."""

    @property
    def kind(self) -> AlertKind: ...

    def initial_state(self) -> S: ...

    def on_reading(
        self, state: S, reading: Reading, pledge: Pledge
    ) -> tuple[S, Sequence[Finding]]: ...

    def on_tick(self, state: S, pledge: Pledge, now_ms: int) -> tuple[S, Sequence[Finding]]: ...

    def dump_state(self, state: S) -> dict[str, Any]: ...

    def load_state(self, data: Mapping[str, Any]) -> S: ...


class StateRecord:
    """Mixin for a state dataclass whose fields are JSON scalars.

    ``from_dict`` ignores keys it does not know and defaults the ones that are
    missing, so a checkpoint written by an older or newer version still loads.
    """

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-able data; lists are copied, the state goes on changing."""
        out = {f.name: getattr(self, f.name) for f in fields(cast(Any, self))}
        return {k: list(v) if isinstance(v, list) else v for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        names = {f.name for f in fields(cast(Any, cls))}
        return cls(**{k: v for k, v in data.items() if k in names})


R = TypeVar("R", bound=StateRecord)


class ReadingsOnly(Generic[R]):
    """The shared half of a detector judged on readings only, over a ``StateRecord``.

    ``on_tick`` does nothing (``ticks = False`` lets the engine's clock task
    skip it); the state is created, dumped and loaded from ``state_type``.
    A subclass writes ``kind``, ``state_type`` and ``on_reading``.
    """

    state_type: type[R]
    ticks = False

    def initial_state(self) -> R:
        return self.state_type()

    def on_tick(self, state: R, pledge: Pledge, now_ms: int) -> tuple[R, Sequence[Finding]]:
        return state, NO_FINDINGS

    def dump_state(self, state: R) -> dict[str, Any]:
        return state.to_dict()

    def load_state(self, data: Mapping[str, Any]) -> R:
        return self.state_type.from_dict(data)
