from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook

from collateral.receiver import WebhookReceiver
from monitor.outbox import enqueue_event
from monitor.webhooks import WebhookDispatcher
from registry import Registry, import_fleet
from registry.models import Lender, OutboxEvent

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRET_2 = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
T0 = datetime(2025, 11, 28, 12, 0, tzinfo=UTC)

Handler = Callable[[httpx.Request], httpx.Response]


def fleet(url_1: str = "http://lender-1.test/hooks?token=tok-9f8e7d",
          url_2: str = "http://lender-2.test/hooks") -> dict[str, Any]:
    return {
        "version": 1,
        "lenders": [
            {"id": "l1", "name": "Harbour Bank", "webhook_url": url_1, "webhook_secret": SECRET},
            {"id": "l2", "name": "Inland Bank", "webhook_url": url_2, "webhook_secret": SECRET_2},
        ],
        "loans": [{"id": "n1", "lender_id": "l1", "borrower": "Acme"}],
        "assets": [{"id": "a1", "kind": "truck", "name": "T1", "loan_id": "n1",
                    "site": {"lat": 31.2, "lon": 121.4, "radius_m": 500}}],
    }


@contextmanager
def fleet_registry(tmp_path: Path) -> Iterator[Registry]:
    """A registry holding ``fleet()``: the webhook tests' lenders."""
    reg = Registry(f"sqlite:///{tmp_path}/r.db")
    import_fleet(reg, fleet())
    try:
        yield reg
    finally:
        reg.close()


@pytest.fixture()
def registry(tmp_path: Path) -> Iterator[Registry]:
    with fleet_registry(tmp_path) as reg:
        yield reg


def enqueue(registry: Registry, event_id: str = "ev-1", lender_id: str = "l1",
            data: dict[str, Any] | None = None) -> None:
    with registry.session() as session:
        enqueue_event(session, lender_id=lender_id, event_type="alert.opened",
                      data=data or {"asset_id": "a1", "kind": "tamper"}, event_id=event_id,
                      occurred_at=T0 - timedelta(minutes=5), now=T0)


def outbox(registry: Registry) -> list[OutboxEvent]:
    with registry.session() as session:
        return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


def set_lender(registry: Registry, lender_id: str, **values: Any) -> None:
    with registry.session() as session:
        lender = session.get(Lender, lender_id)
        assert lender is not None
        for name, value in values.items():
            setattr(lender, name, value)


class Recorder:
    """A MockTransport handler that answers from a script and keeps every request."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer)


def dispatcher(registry: Registry, handler: Handler, **options: Any) -> WebhookDispatcher:
    return WebhookDispatcher(registry, transport=httpx.MockTransport(handler),
                             rng=random.Random(3), **options)


def utc(value: datetime | None) -> datetime:
    assert value is not None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def test_delivers_to_a_real_receiver_that_verifies_the_signature(registry: Registry) -> None:
    receiver = WebhookReceiver({"l1": SECRET})
    base_url = receiver.start()
    try:
        set_lender(registry, "l1", webhook_url=f"{base_url}/webhooks/l1")
        enqueue(registry)
        with WebhookDispatcher(registry, timeout_s=5) as sender:
            result = sender.run_once(T0)
        stats = receiver.stats()
    finally:
        receiver.stop()
    assert (result.attempted, result.delivered) == (1, 1)
    assert (stats["delivered"], stats["signature_failures"]) == (1, 0)
    [event] = receiver.events()
    assert (event.webhook_id, event.type, event.body["data"]["asset_id"]) == (
        "ev-1", "alert.opened", "a1")
    [row] = outbox(registry)
    assert (row.status, row.attempts, row.last_status) == ("delivered", 1, 204)
    assert utc(row.delivered_at) == T0


def test_signature_and_headers_follow_the_spec(registry: Registry) -> None:
    recorder = Recorder(200)
    enqueue(registry)
    with dispatcher(registry, recorder) as sender:
        sender.run_once(T0)
    [request] = recorder.requests
    assert request.url.host == "lender-1.test"
    assert request.headers["webhook-id"] == "ev-1"
    assert request.headers["content-type"] == "application/json"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    assert request.headers["webhook-signature"].startswith("v1,")
    body = Webhook(SECRET).verify(request.content, dict(request.headers))
    assert body["type"] == "alert.opened"
    assert request.content.decode() == outbox(registry)[0].payload


def test_5xx_is_retried_with_the_same_webhook_id(registry: Registry) -> None:
    recorder = Recorder(500, 200)
    enqueue(registry)
    with dispatcher(registry, recorder) as sender:
        first = sender.run_once(T0)
        [row] = outbox(registry)
        assert (first.retrying, row.status, row.attempts, row.last_status) == (
            1, "pending", 1, 500)
        retry_at = utc(row.next_attempt_at)
        assert T0 + timedelta(seconds=4) <= retry_at <= T0 + timedelta(seconds=5)  # 5 s, jittered
        assert sender.run_once(retry_at - timedelta(milliseconds=1)).claimed == 0  # not yet due
        second = sender.run_once(retry_at)
    assert second.delivered == 1
    assert [r.headers["webhook-id"] for r in recorder.requests] == ["ev-1", "ev-1"]
    assert recorder.requests[0].content == recorder.requests[1].content
    [row] = outbox(registry)
    assert (row.status, row.attempts, row.last_status) == ("delivered", 2, 200)


@pytest.mark.parametrize("status", [408, 429, 502, 503])
def test_retryable_statuses(registry: Registry, status: int) -> None:
    enqueue(registry)
    with dispatcher(registry, Recorder(status)) as sender:
        assert sender.run_once(T0).retrying == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 301])
def test_other_4xx_and_redirects_fail_at_once(registry: Registry, status: int) -> None:
    recorder = Recorder(status)
    enqueue(registry)
    with dispatcher(registry, recorder) as sender:
        result = sender.run_once(T0)
        assert sender.run_once(T0 + timedelta(days=1)).claimed == 0
    assert (result.failed, len(recorder.requests)) == (1, 1)
    [row] = outbox(registry)
    assert (row.status, row.attempts, row.last_status) == ("failed", 1, status)


@pytest.mark.parametrize("error", [httpx.ReadTimeout("slow"), httpx.ConnectTimeout("slow"),
                                   httpx.ConnectError("refused"), httpx.RemoteProtocolError("x")])
def test_time_outs_and_connection_errors_are_retried(registry: Registry,
                                                     error: Exception) -> None:
    enqueue(registry)
    with dispatcher(registry, Recorder(error)) as sender:
        assert sender.run_once(T0).retrying == 1
    [row] = outbox(registry)
    assert (row.status, row.attempts, row.last_status) == ("pending", 1, None)
    assert row.last_error


def test_a_real_time_out_is_retried(registry: Registry) -> None:
    # A listening socket that never accepts: the connection opens, no answer comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        set_lender(registry, "l1", webhook_url=f"http://127.0.0.1:{port}/hooks")
        enqueue(registry)
        with WebhookDispatcher(registry, timeout_s=0.3) as sender:
            started = time.monotonic()
            result = sender.run_once(T0)
            elapsed = time.monotonic() - started
    assert result.retrying == 1 and elapsed < 3
    assert outbox(registry)[0].last_error == "time-out"


def test_backoff_grows_and_gives_up_after_max_attempts(registry: Registry) -> None:
    recorder = Recorder(503)
    enqueue(registry)
    delays: list[float] = []
    now = T0
    with dispatcher(registry, recorder, max_attempts=6,
                    retry_schedule_s=(2, 4, 8, 16, 20)) as sender:
        for _ in range(6):
            assert sender.run_once(now).claimed == 1
            row = outbox(registry)[0]
            if row.status == "pending":
                delays.append((utc(row.next_attempt_at) - now).total_seconds())
                now = utc(row.next_attempt_at)
        assert sender.run_once(now + timedelta(days=1)).claimed == 0
    assert len(delays) == 5 and len(recorder.requests) == 6
    assert all(b > a for a, b in zip(delays, delays[1:4], strict=False))  # grows until the cap
    for delay, ceiling in zip(delays, (2, 4, 8, 16, 20), strict=True):
        assert 0.8 * ceiling <= delay <= ceiling
    row = outbox(registry)[0]
    assert (row.status, row.attempts) == ("failed", 6)
    assert row.last_error is not None and "gave up after 6 attempts" in row.last_error


def test_jitter_is_reproducible_with_a_seed(registry: Registry) -> None:
    first = WebhookDispatcher(registry, rng=random.Random(11))
    second = WebhookDispatcher(registry, rng=random.Random(11))
    assert [first.backoff(n) for n in range(1, 12)] == [second.backoff(n) for n in range(1, 12)]
    assert first.backoff(30) <= timedelta(hours=10)


def test_a_receiver_down_for_a_day_still_gets_the_event(registry: Registry) -> None:
    """The default schedule (5 s ... 10 h) spans 27.6 hours; a day-long outage loses nothing."""
    back_at = T0 + timedelta(hours=24)
    now = T0
    tries: list[datetime] = []

    def handler(_request: httpx.Request) -> httpx.Response:
        tries.append(now)
        return httpx.Response(200 if now >= back_at else 503)

    enqueue(registry)
    with dispatcher(registry, handler) as sender:
        while outbox(registry)[0].status == "pending":
            assert sender.run_once(now).claimed == 1
            now = utc(outbox(registry)[0].next_attempt_at)
    row = outbox(registry)[0]
    assert (row.status, row.attempts) == ("delivered", 8)
    assert back_at <= tries[-1] < T0 + timedelta(hours=28)


def test_retry_after_is_honoured(registry: Registry) -> None:
    enqueue(registry)
    handler: Handler = lambda _r: httpx.Response(429, headers={"retry-after": "120"})  # noqa: E731
    with dispatcher(registry, handler) as sender:
        sender.run_once(T0)
    assert utc(outbox(registry)[0].next_attempt_at) == T0 + timedelta(seconds=120)


@pytest.mark.parametrize(("values", "message"), [
    ({"webhook_url": None}, "lender has no webhook_url"),
    ({"webhook_secret": None}, "lender has no webhook_secret"),
    ({"webhook_secret": "whsec_"}, "not a whsec_ base64 key"),
])
def test_lender_without_an_endpoint_fails_with_a_reason(registry: Registry,
                                                        values: dict[str, Any],
                                                        message: str) -> None:
    recorder = Recorder(200)
    set_lender(registry, "l1", **values)
    enqueue(registry)
    with dispatcher(registry, recorder) as sender:
        result = sender.run_once(T0)
    assert (result.failed, result.attempted, recorder.requests) == (1, 0, [])
    [row] = outbox(registry)
    assert (row.status, row.attempts) == ("failed", 0)
    assert row.last_error is not None and message in row.last_error


def test_a_slow_lender_does_not_hold_up_the_others(registry: Registry) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "lender-1.test":
            time.sleep(0.4)  # as long as the time-out, then gives up
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(204)

    for n in range(4):
        enqueue(registry, f"slow-{n}", "l1")
    enqueue(registry, "fast", "l2")
    with dispatcher(registry, handler, timeout_s=0.4) as sender:
        started = time.monotonic()
        result = sender.run_once(T0)
        elapsed = time.monotonic() - started
    assert (result.delivered, result.retrying) == (1, 4)
    assert elapsed < 1.2  # the four slow ones ran side by side: one time-out, not four


def test_one_lender_cannot_take_the_whole_batch(registry: Registry) -> None:
    for n in range(10):
        enqueue(registry, f"l1-{n}", "l1")
    enqueue(registry, "l2-0", "l2")
    with dispatcher(registry, Recorder(200), batch=5, per_lender=2) as sender:
        result = sender.run_once(T0)
    delivered = {r.event_id for r in outbox(registry) if r.status == "delivered"}
    assert result.delivered == 3 and delivered == {"l1-0", "l1-1", "l2-0"}


def test_a_claimed_event_is_not_sent_twice_by_two_dispatchers(registry: Registry) -> None:
    enqueue(registry)
    gate = threading.Event()
    recorder = Recorder(200)

    def slow(request: httpx.Request) -> httpx.Response:
        gate.wait(5)
        return recorder(request)

    with dispatcher(registry, slow) as first, dispatcher(registry, recorder) as second:
        worker = threading.Thread(target=first.run_once, args=(T0,))
        worker.start()
        time.sleep(0.2)
        assert second.run_once(T0).claimed == 0
        gate.set()
        worker.join(5)
    assert len(recorder.requests) == 1 and outbox(registry)[0].status == "delivered"


def test_run_forever_delivers_and_stops(registry: Registry) -> None:
    recorder = Recorder(200)
    with registry.session() as session:
        enqueue_event(session, lender_id="l2", event_type="t", data={}, event_id="now",
                      occurred_at=T0)  # due on the wall clock
    stop = threading.Event()
    sender = dispatcher(registry, recorder)
    worker = threading.Thread(target=sender.run_forever, args=(stop, 0.05))
    worker.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and outbox(registry)[0].status != "delivered":
        time.sleep(0.05)
    stop.set()
    worker.join(5)
    assert not worker.is_alive()
    assert outbox(registry)[0].status == "delivered"


def test_secrets_and_full_urls_never_reach_the_log(registry: Registry,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for n in range(4):
        enqueue(registry, f"ev-{n}")
    answers = Recorder(200, 500, httpx.ConnectError("refused"), 400)
    with dispatcher(registry, answers) as sender:
        sender.run_once(T0)
    text = caplog.text + " ".join(str(r.last_error) for r in outbox(registry))
    assert "lender=l1" in caplog.text and "host=lender-1.test" in caplog.text
    assert len([r for r in caplog.records if r.name == "monitor.webhooks"]) == 4
    for secret in (SECRET, SECRET.removeprefix("whsec_"), "tok-9f8e7d", "/hooks"):
        assert secret not in text


@pytest.mark.parametrize("options", [{"jitter": 0.5}, {"max_attempts": 0}, {"batch": 0},
                                     {"timeout_s": 0}, {"retry_schedule_s": ()},
                                     {"retry_schedule_s": (5, 0)}, {"keep_days": 0}])
def test_bad_settings_are_refused(registry: Registry, options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        WebhookDispatcher(registry, **options)


def test_old_delivered_and_failed_events_are_deleted_pending_ones_never(
        registry: Registry) -> None:
    day = timedelta(days=1)
    for event_id, made, status in (("old-delivered", T0 - 100 * day, "delivered"),
                                   ("old-failed", T0 - 91 * day, "failed"),
                                   ("old-pending", T0 - 100 * day, "pending"),
                                   ("recent-delivered", T0 - 89 * day, "delivered")):
        with registry.session() as session:
            enqueue_event(session, lender_id="l1", event_type="alert.opened", data={},
                          event_id=event_id, occurred_at=made, now=made)
            session.execute(update(OutboxEvent).where(OutboxEvent.event_id == event_id)
                            .values(status=status, next_attempt_at=T0 + day))
    with dispatcher(registry, Recorder(200)) as sender:
        assert sender.run_once(T0).claimed == 0  # the first round prunes
        assert sender.prune(T0) == 0  # nothing left to delete
    assert sorted(row.event_id for row in outbox(registry)) == ["old-pending",
                                                                "recent-delivered"]


def test_a_lender_gets_only_the_event_types_it_subscribes_to(registry: Registry) -> None:
    set_lender(registry, "l1", webhook_events=["alert.opened", "loan.warning_changed"])
    recorder = Recorder(200)
    enqueue(registry, "ev-opened")
    with registry.session() as session:
        enqueue_event(session, lender_id="l1", event_type="alert.reminder", data={},
                      event_id="ev-reminder", occurred_at=T0, now=T0)
    with dispatcher(registry, recorder) as sender:
        result = sender.run_once(T0)
    assert (result.delivered, result.skipped, result.attempted) == (1, 1, 1)
    assert [r.headers["webhook-id"] for r in recorder.requests] == ["ev-opened"]
    rows = {row.event_id: row for row in outbox(registry)}
    assert (rows["ev-reminder"].status, rows["ev-reminder"].attempts) == ("skipped", 0)
    assert rows["ev-opened"].status == "delivered"


def test_the_subscribable_event_types_are_every_type_the_platform_sends() -> None:
    from monitor.alerts import AlertEventType
    from monitor.coverage_watch import COVERAGE_EVENT
    from registry.models import WEBHOOK_EVENT_TYPES

    assert set(WEBHOOK_EVENT_TYPES) == {t.value for t in AlertEventType} | {
        "loan.warning_changed", "loan.status_changed", COVERAGE_EVENT}
