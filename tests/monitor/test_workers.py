"""Which partitions a live monitor worker judges: the beats, and what the API makes of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.service import MonitorConfig, MonitorService
from monitor.workers import WorkerBeat, coverage, read_beats
from tests.monitor.conftest import RegistryWith
from tests.monitor.factories import unstarted_monitor

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def beat(client_id: str, partitions: tuple[int, ...], ago_s: float, *, total: int = 4,
         stopped: bool = False) -> WorkerBeat:
    seen = NOW - timedelta(seconds=ago_s)
    return WorkerBeat(client_id, partitions, total, 30.0, seen, seen if stopped else None)


def test_a_worker_is_live_for_three_checkpoints_and_half_a_minute() -> None:
    at_limit = coverage([beat("m1", (0, 1, 2, 3), 3 * 30 + 30)], 4, NOW)
    assert (at_limit.status, at_limit.unwatched, at_limit.workers[0].state) == ("ok", (), "live")
    past = coverage([beat("m1", (0, 1, 2, 3), 3 * 30 + 31)], 4, NOW)
    assert (past.status, past.unwatched, past.workers[0].state) == (
        "down", (0, 1, 2, 3), "silent")


def test_stopped_mismatched_and_doubled_workers() -> None:
    report = coverage([beat("a", (0, 1), 5), beat("b", (1, 2), 5),
                       beat("c", (3,), 5, stopped=True), beat("d", (3,), 5, total=8)], 4, NOW)
    assert [(w.beat.client_id, w.state) for w in report.workers] == [
        ("a", "live"), ("b", "live"), ("c", "stopped"), ("d", "mismatch")]
    assert (report.status, report.unwatched, report.doubled) == ("degraded", (3,), (1,))
    assert coverage([], 4, NOW).status == "down"


def say_started(service: MonitorService) -> None:
    with service.registry.session() as session:
        service._beat(session, starting=True)


def test_the_monitor_says_which_partitions_it_watches_and_when_it_stops(
        registry_with: RegistryWith) -> None:
    registry = registry_with()
    config = MonitorConfig(client_id="m-a", partitions=[2, 0, 1], total_partitions=4)
    service = unstarted_monitor(registry, config)
    service.prepare()
    say_started(service)  # what start() does before it connects
    with registry.session() as session:
        beats = read_beats(session)
    assert [(b.client_id, b.partitions, b.total_partitions, b.stopped_at) for b in beats] == [
        ("m-a", (0, 1, 2), 4, None)]
    now = datetime.now(UTC)
    report = coverage(beats, 4, now)
    assert (report.status, report.unwatched) == ("degraded", (3,))

    service._checkpoint(stopping=True)  # stop(): its partitions are nobody's now
    with registry.session() as session:
        report = coverage(read_beats(session), 4, datetime.now(UTC))
    assert (report.status, report.workers[0].state) == ("down", "stopped")

    again = unstarted_monitor(registry, config)  # restarted: watching again
    again.prepare()
    say_started(again)
    with registry.session() as session:
        report = coverage(read_beats(session), 4, datetime.now(UTC))
    assert (report.workers[0].state, report.unwatched) == ("live", (3,))
