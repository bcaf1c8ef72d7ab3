"""Dead letters: every bad message kept once, a broker redelivery not counted twice."""

from __future__ import annotations

from pathlib import Path

from ingest.deadletter import DeadLetterRecord, dead_letter_counts, save_dead_letters
from ingest.wire import Rejection, RejectReason
from registry import Registry


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
