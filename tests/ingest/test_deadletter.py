"""Dead letters: every bad message kept once, a broker redelivery not counted twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ingest.deadletter import (
    DeadLetterRecord,
    dead_letter_counts,
    prune_dead_letters,
    save_dead_letters,
)
from ingest.mqtt import MqttEndpoint
from ingest.service import IngestConfig, IngestService
from ingest.store.embedded import EmbeddedStore
from ingest.wire import Rejection, RejectReason
from registry import Registry
from registry.models import DeadLetter


def record(payload: bytes, redelivered: bool = False, topic: str = "telemetry/trk-1",
           reason: RejectReason = RejectReason.NOT_JSON) -> DeadLetterRecord:
    return DeadLetterRecord(topic, Rejection(reason, "bad", payload, "trk-1"), redelivered)


def test_redelivery_of_a_kept_message_is_not_kept_again(registry_url: str) -> None:
    registry = Registry(registry_url)
    try:
        assert len(save_dead_letters(registry, [record(b"{bad"), record(b"{worse")])) == 2
        kept = save_dead_letters(registry, [record(b"{bad", redelivered=True),
                                            record(b"{new", redelivered=True)])
        assert [r.rejection.raw for r in kept] == [b"{new"]
        assert dead_letter_counts(registry) == {"not_json": 3}
    finally:
        registry.close()


def test_identical_bad_messages_sent_anew_are_all_kept(registry_url: str) -> None:
    registry = Registry(registry_url)
    try:
        save_dead_letters(registry, [record(b"{bad")])
        save_dead_letters(registry, [record(b"{bad"), record(b"{bad")])
        assert dead_letter_counts(registry) == {"not_json": 3}
    finally:
        registry.close()


def test_digest_tells_topic_reason_and_bytes_apart() -> None:
    base = record(b"x")
    assert base.digest == record(b"x", redelivered=True).digest
    assert base.digest != record(b"y").digest
    assert base.digest != record(b"x", topic="telemetry/trk-2").digest
    assert base.digest != record(b"x", reason=RejectReason.OVERSIZED).digest
    # Length-prefixed parts: moving bytes between topic and payload changes the digest.
    assert record(b"b", topic="a").digest != record(b"", topic="ab").digest


def test_empty_batch_writes_nothing(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        assert save_dead_letters(registry, []) == []
        assert dead_letter_counts(registry) == {}
    finally:
        registry.close()


def test_dead_letters_past_their_keeping_are_deleted(registry_url: str) -> None:
    registry = Registry(registry_url)
    try:
        save_dead_letters(registry, [record(b"{old"), record(b"{new")])
        with registry.session() as session:
            old = session.scalars(select(DeadLetter).where(DeadLetter.payload == b"{old")).one()
            old.received_at = datetime.now(UTC) - timedelta(days=91)
        assert prune_dead_letters(registry, datetime.now(UTC) - timedelta(days=90)) == 1
        with registry.session() as session:
            assert session.scalars(select(DeadLetter.payload)).all() == [b"{new"]
        assert prune_dead_letters(registry, datetime.now(UTC) - timedelta(days=90)) == 0
    finally:
        registry.close()


def test_the_ingest_prunes_hourly_and_refuses_no_keeping(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    store = EmbeddedStore(tmp_path / "t.db")
    try:
        with pytest.raises(ValueError, match="dead_letter_keep_days"):
            IngestService(MqttEndpoint("127.0.0.1", 9), store, registry,
                          IngestConfig(spool_dir=tmp_path, dead_letter_keep_days=0))
        service = IngestService(MqttEndpoint("127.0.0.1", 9), store, registry,
                                IngestConfig(spool_dir=tmp_path, dead_letter_keep_days=1))
        save_dead_letters(registry, [record(b"{a"), record(b"{b")])
        with registry.session() as session:
            for row in session.scalars(select(DeadLetter)):
                row.received_at = datetime.now(UTC) - timedelta(days=2)
        service._prune_dead_letters()  # the writer's first round
        assert dead_letter_counts(registry) == {}
        save_dead_letters(registry, [record(b"{c")])
        with registry.session() as session:
            session.scalars(select(DeadLetter)).one().received_at = (
                datetime.now(UTC) - timedelta(days=2))
        service._prune_dead_letters()  # within the hour: not again
        assert dead_letter_counts(registry) == {"not_json": 1}
        service.stop()  # never started: closes the spool and the metrics
    finally:
        store.close()
        registry.close()
