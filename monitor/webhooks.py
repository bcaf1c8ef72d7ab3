"""Webhook delivery from the durable outbox (``monitor.outbox``).

The ``WebhookDispatcher`` POSTs each pending event to its lender, signed and
judged per ``monitor.webhook_protocol``, and records the outcome.

- Connection errors and time-outs are retried like 5xx, on ``RETRY_SCHEDULE_S``
  (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: Svix's, whose authors wrote the
  Standard Webhooks spec), jittered: eight attempts over 27.6 hours, so a
  receiver down for a day misses nothing. What is given up stays in the
  outbox as ``failed``; the lender can send it again (``webhook/redeliver``).
  Redirects are not followed: a signed body must go only where the lender
  registered.
- A lender that subscribes to some event types only (``webhook_events``) has
  the others marked ``skipped``, never sent.
- Delivered, failed and skipped events are kept ``keep_days`` (90), then
  deleted, once an hour, so the outbox does not grow for ever; pending ones
  are never.
- Never logged: the secret, the full URL (it may carry a token), the body.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Final, Self

import httpx
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import EmptyWebhookSecretError

from monitor.coverage_watch import CoverageWatch
from monitor.webhook_protocol import Verdict, retry_after_s, signed_headers, verdict_for_status
from registry import Registry
from registry.db import as_utc
from registry.models import Lender, OutboxEvent
from registry.ssrf import Resolver, UnsafeUrl, check_webhook_url, pinned_target

__all__ = ["DispatchResult", "RETRY_SCHEDULE_S", "WebhookDispatcher"]

log = logging.getLogger(__name__)

#: Seconds to wait before each retry; one attempt more than retries.
RETRY_SCHEDULE_S: Final = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
_MAX_ERROR_CHARS = 300
_PRUNE_EVERY = timedelta(hours=1)
_THREAD_PREFIX = "webhook"


class _NoUrlsFromDeliveryThreads(logging.Filter):
    """Drop httpx's per-request INFO line (it carries the full URL) in delivery threads only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.threadName or "").startswith(_THREAD_PREFIX)


_URL_FILTER = _NoUrlsFromDeliveryThreads()


# -- outcomes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DispatchResult:
    """What one ``run_once`` round did. ``failed`` counts events given up for good."""

    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0  # not subscribed to

    @property
    def claimed(self) -> int:
        return self.delivered + self.retrying + self.failed + self.skipped


@dataclass(frozen=True, slots=True)
class _Job:
    """A claimed event with its lender's endpoint, detached from any session."""

    row_id: int
    event_id: str
    event_type: str
    lender_id: str
    payload: str
    attempts: int  # made before this one
    url: str | None
    secret: str | None
    previous_secret: str | None = None  # still signing during a rotation
    subscribed: frozenset[str] | None = None  # the event types the lender wants; None: all


@dataclass(frozen=True, slots=True)
class _Outcome:
    job: _Job
    verdict: Verdict
    attempted: bool
    status: int | None = None
    error: str | None = None
    retry_after_s: float | None = None
    unreachable: bool = False  # no connection made: another of the name's addresses may do


# -- the dispatcher ------------------------------------------------------------------------


class WebhookDispatcher:
    """Deliver due outbox events, each lender's independently of the others.

    ``now`` (passed to ``run_once``) decides what is due and schedules retries;
    ``clock`` gives the signature's timestamp, which receivers check against
    their wall clock, so tests may move ``now`` freely. ``rng`` draws the jitter.
    ``per_lender`` caps one lender's share of a round so a backlog for one
    lender cannot crowd out the others.
    """

    def __init__(
        self,
        registry: Registry,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 10.0,
        retry_schedule_s: Sequence[float] = RETRY_SCHEDULE_S,
        max_attempts: int | None = None,  # None: one more than the schedule's retries
        batch: int = 50,
        per_lender: int = 4,
        jitter: float = 0.2,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] | None = None,
        allow_private: bool = True,
        resolve: Resolver | None = None,
        keep_days: float = 90.0,
        coverage: CoverageWatch | None = None,
    ) -> None:
        max_attempts = len(retry_schedule_s) + 1 if max_attempts is None else max_attempts
        _check_settings(timeout_s, retry_schedule_s, max_attempts, batch, per_lender, jitter,
                        keep_days)
        self.registry = registry
        # Checked again at delivery (a name can resolve elsewhere than when it was set),
        # and the request goes to the address that passed (registry.ssrf.pinned_target).
        self.allow_private = allow_private
        self._resolve = resolve  # host name -> addresses; None: the system's resolver
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.retry_schedule_s = tuple(retry_schedule_s)
        self.batch = batch
        self.per_lender = per_lender
        self.jitter = jitter
        self.keep = timedelta(days=keep_days)
        self._pruned_at: datetime | None = None
        self.coverage = coverage  # tells lenders when their collateral goes unwatched
        self._rng = rng or random.Random()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._transport = transport
        # One client per pinned host name ("" when unpinned): a kept-alive connection to
        # an address, made for one name's certificate, must not carry another name's events.
        self._clients: dict[str, httpx.Client] = {}
        self._client_lock = threading.Lock()
        # A claimed event is hidden from other dispatchers for this long; if this
        # process dies mid-round the event becomes due again (at-least-once).
        self._lease = timedelta(seconds=4 * timeout_s + 30)
        # A lender's URL may hold a token; httpx logs every request URL at INFO.
        # Filtering by thread leaves other httpx users' logs (the store's) alone.
        logging.getLogger("httpx").addFilter(_URL_FILTER)  # no-op if already added

    # -- public -------------------------------------------------------------------------

    def run_once(self, now: datetime) -> DispatchResult:
        """Deliver every due pending event (up to ``batch``) and record the outcomes."""
        now = as_utc(now)
        if self._pruned_at is None or now - self._pruned_at >= _PRUNE_EVERY:
            self.prune(now)
        if self.coverage is not None:
            try:
                self.coverage.maybe_check(now)
            except SQLAlchemyError:  # deliveries go on; the next check tries again
                log.exception("cannot check the monitor's coverage")
        jobs = self._claim(now)
        if not jobs:
            return DispatchResult()
        outcomes = self._deliver_all(jobs)
        statuses = self._record(outcomes, now)
        return _summarise(outcomes, statuses)

    def prune(self, now: datetime) -> int:
        """Delete delivered, failed and skipped events made more than ``keep`` before ``now``."""
        self._pruned_at = now
        with self.registry.session() as session:
            result = session.execute(
                delete(OutboxEvent)
                .where(OutboxEvent.status.in_(("delivered", "failed", "skipped")),
                       OutboxEvent.created_at < now - self.keep)
                .execution_options(synchronize_session=False))
        pruned = int(getattr(result, "rowcount", 0) or 0)
        if pruned:
            log.info("webhook outbox: %d events older than %s deleted", pruned, self.keep)
        return pruned

    def run_forever(self, stop: threading.Event, interval_s: float = 0.5) -> None:
        """Rounds on the wall clock until ``stop`` is set; a failing round is logged, not fatal."""
        log.info("webhook dispatcher started (batch %d, time-out %.1f s)",
                 self.batch, self.timeout_s)
        try:
            while not stop.is_set():
                result = self._run_round()
                # Anything claimed means there may be more due (per_lender caps a
                # round below ``batch``): go on at once; sleep only when idle.
                if result.claimed == 0:
                    stop.wait(interval_s)
        finally:
            self.close()
            log.info("webhook dispatcher stopped")

    def backoff(self, attempts: int) -> timedelta:
        """Delay before the next try after ``attempts`` failed ones: the schedule's, jittered
        (past its end, its last).

        Jitter only shortens the delay (by up to ``jitter`` < 0.5), so the
        schedule's longest delay is never exceeded and retries of many events
        that failed together spread out instead of arriving at once.
        """
        schedule = self.retry_schedule_s
        delay = schedule[min(max(attempts, 1), len(schedule)) - 1]
        return timedelta(seconds=delay * (1.0 - self.jitter * self._rng.random()))

    def close(self) -> None:
        with self._client_lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- claim ----------------------------------------------------------------------------

    def _run_round(self) -> DispatchResult:
        try:
            return self.run_once(datetime.now(UTC))
        except Exception:  # e.g. the database is locked or down: try again next round
            log.exception("webhook dispatch round failed; retrying next round")
            return DispatchResult()

    def _claim(self, now: datetime) -> list[_Job]:
        lease_until = now + self._lease
        with self.registry.session() as session:
            candidates = session.execute(_due_events(now, self.batch, self.per_lender)).all()
            claimed = [c for c in candidates if _take(session, c.id, now, lease_until)]
            endpoints = _endpoints(session, {c.lender_id for c in claimed}, now)
        return [
            _Job(c.id, c.event_id, c.event_type, c.lender_id, c.payload, c.attempts,
                 *endpoints.get(c.lender_id, (None, None, None, None)))
            for c in claimed
        ]

    # -- deliver --------------------------------------------------------------------------

    def _deliver_all(self, jobs: Sequence[_Job]) -> list[_Outcome]:
        # One thread per claimed event (at most ``batch``): a slow or dead
        # endpoint then holds the round for one time-out, never one per event.
        with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix=_THREAD_PREFIX) as pool:
            return list(pool.map(self._deliver_safely, jobs))

    def _deliver_safely(self, job: _Job) -> _Outcome:
        try:
            outcome = self._deliver(job)
        except Exception as exc:  # a bug must cost one attempt, not the round
            log.exception("webhook lender=%s event=%s: unexpected error", job.lender_id,
                          job.event_id)
            outcome = _Outcome(job, Verdict.RETRY, True, error=f"internal: {type(exc).__name__}")
        return outcome

    def _deliver(self, job: _Job) -> _Outcome:
        if job.subscribed is not None and job.event_type not in job.subscribed:
            return _Outcome(job, Verdict.SKIPPED, False)
        if not job.url or not job.secret:
            missing = "webhook_url" if not job.url else "webhook_secret"
            return _Outcome(job, Verdict.FAILED, False, error=f"lender has no {missing}")
        try:
            if self.allow_private:
                check_webhook_url(job.url, allow_private=True)
                urls, name, extensions, pinned_host = [job.url], "", {}, ""
            else:
                # Resolved once, checked, and sent to those addresses under the URL's name.
                target = pinned_target(job.url, resolve=self._resolve)
                parsed = httpx.URL(job.url)
                urls = [str(parsed.copy_with(host=a)) for a in target.addresses]
                name = target.host
                extensions = {"sni_hostname": target.host} if target.https else {}
                pinned_host = parsed.netloc.decode("ascii")  # the Host header: name[:port]
        except UnsafeUrl as exc:
            return _Outcome(job, Verdict.FAILED, False, error=f"unsafe target: {exc}")
        try:
            headers = signed_headers(job.event_id, job.payload, job.secret, self._clock(),
                                     job.previous_secret)
        except (ValueError, EmptyWebhookSecretError):
            return _Outcome(job, Verdict.FAILED, False,
                            error="lender's webhook_secret is not a whsec_ base64 key")
        if pinned_host:
            headers = {**headers, "host": pinned_host}
        # An address that cannot be reached (IPv6 from an IPv4-only host) gives way to the next.
        for url in urls[:-1]:
            outcome = self._post(job, url, headers, name, extensions)
            if not outcome.unreachable:
                return outcome
        return self._post(job, urls[-1], headers, name, extensions)

    def _post(self, job: _Job, url: str, headers: Mapping[str, str], name: str = "",
              extensions: dict[str, Any] | None = None) -> _Outcome:
        try:
            # Streamed and never read: a lender's reply body is not ours to download.
            with self._http(name).stream("POST", url, content=job.payload.encode(),
                                         headers=headers,
                                         extensions=extensions or {}) as response:
                return _response_outcome(job, response)
        except httpx.TimeoutException as exc:
            return _Outcome(job, Verdict.RETRY, True, error="time-out",
                            unreachable=isinstance(exc, httpx.ConnectTimeout))
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return _Outcome(job, Verdict.FAILED, True, error=_scrub(exc, url, job.url or ""))
        except httpx.TransportError as exc:
            return _Outcome(job, Verdict.RETRY, True, error=_scrub(exc, url, job.url or ""),
                            unreachable=isinstance(exc, httpx.ConnectError))

    def _http(self, name: str = "") -> httpx.Client:
        with self._client_lock:
            client = self._clients.get(name)
            if client is None:
                client = self._clients[name] = httpx.Client(
                    transport=self._transport, timeout=self.timeout_s, follow_redirects=False,
                    headers={"user-agent": "collateral-watch-webhooks/1"})
            return client

    # -- record ---------------------------------------------------------------------------

    def _record(self, outcomes: Iterable[_Outcome], now: datetime) -> list[str]:
        """Write each outcome; return each event's new status ('pending' while retrying)."""
        statuses: list[str] = []
        with self.registry.session() as session:
            for outcome in outcomes:
                changes = self._changes(outcome, now)
                session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id == outcome.job.row_id)
                    .values(changes)
                    .execution_options(synchronize_session=False))
                statuses.append(changes.get("status", "pending"))
                _log_attempt(outcome, changes, self.max_attempts)
        return statuses

    def _changes(self, outcome: _Outcome, now: datetime) -> dict[str, Any]:
        attempts = outcome.job.attempts + int(outcome.attempted)
        changes: dict[str, Any] = {"attempts": attempts, "last_status": outcome.status,
                                   "last_error": outcome.error, "next_attempt_at": now}
        if outcome.verdict is Verdict.DELIVERED:
            changes.update(status="delivered", delivered_at=now)
        elif outcome.verdict is Verdict.SKIPPED:
            changes["status"] = "skipped"
        elif outcome.verdict is Verdict.RETRY and attempts < self.max_attempts:
            changes.update(next_attempt_at=now + self._retry_delay(attempts, outcome))
        else:
            changes["status"] = "failed"
            if outcome.verdict is Verdict.RETRY:
                changes["last_error"] = f"gave up after {attempts} attempts: {outcome.error}"
        return changes

    def _retry_delay(self, attempts: int, outcome: _Outcome) -> timedelta:
        delay = self.backoff(attempts)
        if outcome.retry_after_s is not None:  # the lender asked to wait longer (429/503)
            asked = timedelta(seconds=min(outcome.retry_after_s, max(self.retry_schedule_s)))
            delay = max(delay, asked)
        return delay


# -- helpers -------------------------------------------------------------------------------


def _check_settings(timeout_s: float, retry_schedule_s: Sequence[float], max_attempts: int,
                    batch: int, per_lender: int, jitter: float, keep_days: float) -> None:
    if timeout_s <= 0 or keep_days <= 0 or max_attempts < 1 or batch < 1 or per_lender < 1:
        raise ValueError("timeout_s and keep_days must be > 0; max_attempts, batch, "
                         "per_lender >= 1")
    if not retry_schedule_s or min(retry_schedule_s) <= 0:
        raise ValueError("retry_schedule_s must hold one or more delays, each > 0 s")
    if not 0.0 <= jitter < 0.5:
        raise ValueError(f"jitter must be in [0, 0.5) so delays keep growing, not {jitter}")


def _due_events(now: datetime, batch: int, per_lender: int) -> Select[Any]:
    """Due pending events, oldest first, at most ``per_lender`` for any one lender."""
    order = (OutboxEvent.next_attempt_at, OutboxEvent.id)
    ranked = (
        select(OutboxEvent.id, OutboxEvent.event_id, OutboxEvent.event_type,
               OutboxEvent.lender_id,
               OutboxEvent.payload, OutboxEvent.attempts, OutboxEvent.next_attempt_at,
               func.row_number().over(partition_by=OutboxEvent.lender_id, order_by=order)
               .label("rank"))
        .where(OutboxEvent.status == "pending", OutboxEvent.next_attempt_at <= now)
        .subquery()
    )
    return (select(ranked).where(ranked.c.rank <= per_lender)
            .order_by(ranked.c.next_attempt_at, ranked.c.id).limit(batch))


def _take(session: Session, row_id: int, now: datetime, lease_until: datetime) -> bool:
    # Re-checking "due" in the UPDATE makes the claim atomic: of two dispatchers
    # that saw the same row, only the first to write moves it past ``now``.
    result = session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id == row_id, OutboxEvent.status == "pending",
               OutboxEvent.next_attempt_at <= now)
        .values(next_attempt_at=lease_until)
        .execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0) == 1)


#: url, secret, previous secret, subscribed event types (None: all)
Endpoint = tuple[str | None, str | None, str | None, frozenset[str] | None]


def _endpoints(session: Session, lender_ids: set[str], now: datetime) -> dict[str, Endpoint]:
    if not lender_ids:
        return {}
    rows = session.execute(select(Lender.id, Lender.webhook_url, Lender.webhook_secret,
                                  Lender.webhook_previous_secret, Lender.webhook_previous_until,
                                  Lender.webhook_events)
                           .where(Lender.id.in_(lender_ids))).all()
    return {row.id: (row.webhook_url, row.webhook_secret,
                     row.webhook_previous_secret if _still(row.webhook_previous_until, now)
                     else None,
                     frozenset(row.webhook_events) if row.webhook_events is not None else None)
            for row in rows}


def _still(until: datetime | None, now: datetime) -> bool:
    return until is not None and as_utc(until) > now


def _response_outcome(job: _Job, response: httpx.Response) -> _Outcome:
    verdict = verdict_for_status(response.status_code)
    error = None if verdict is Verdict.DELIVERED else f"HTTP {response.status_code}"
    if 300 <= response.status_code < 400:
        error = f"HTTP {response.status_code}: redirects are not followed"
    return _Outcome(job, verdict, True, status=response.status_code, error=error,
                    retry_after_s=retry_after_s(response))


def _scrub(exc: Exception, *urls: str) -> str:
    """An error message safe to log and store: each URL (and any token in it) reduced to its
    host."""
    message = f"{type(exc).__name__}: {exc}"
    for url in urls:
        message = message.replace(url, _host(url))
    return message[:_MAX_ERROR_CHARS]


def _host(url: str | None) -> str:
    if not url:
        return "-"
    try:
        return httpx.URL(url).host or "-"
    except (httpx.InvalidURL, ValueError):
        return "?"


def _log_attempt(outcome: _Outcome, changes: Mapping[str, Any], max_attempts: int) -> None:
    job, status = outcome.job, changes.get("status", "retrying")
    level = {"delivered": logging.INFO, "skipped": logging.DEBUG}.get(status, logging.WARNING)
    log.log(level, "webhook lender=%s event=%s attempt=%d/%d host=%s: %s (%s)",
            job.lender_id, job.event_id, changes["attempts"], max_attempts, _host(job.url),
            status, outcome.status if outcome.status is not None else outcome.error)


def _summarise(outcomes: Sequence[_Outcome], statuses: Sequence[str]) -> DispatchResult:
    return DispatchResult(attempted=sum(1 for o in outcomes if o.attempted),
                          delivered=statuses.count("delivered"),
                          retrying=statuses.count("pending"), failed=statuses.count("failed"),
                          skipped=statuses.count("skipped"))

