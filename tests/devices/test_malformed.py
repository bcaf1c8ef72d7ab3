"""The injected bad messages: ingest rejects each one for the reason it is labelled with."""

from __future__ import annotations

import json

import pytest

from devices.fleet import generate_fleet
from devices.malformed import malformed_messages
from devices.schema import fleet_devices
from ingest.wire import Limits, RejectReason, decode_message

NOW_MS = 1_764_547_200_000
LABELS = {"not_json", "non_finite", "out_of_range", "wrong_type", "topic_mismatch",
          "unknown_device", "future_time", "oversized"}


@pytest.fixture(scope="module")
def device_ids() -> list[str]:
    return [d for d, _ in fleet_devices(generate_fleet(20, seed=2))]


@pytest.fixture(scope="module")
def bad(device_ids: list[str]) -> list[tuple[str, bytes, str]]:
    return malformed_messages(7, device_ids, NOW_MS)


def test_every_reason_is_covered_by_a_real_reject_reason(bad: list[tuple[str, bytes, str]]) -> None:
    labels = {reason for _, _, reason in bad}
    assert labels == LABELS
    assert labels <= {r.value for r in RejectReason}


def test_each_message_is_rejected_for_its_label(bad: list[tuple[str, bytes, str]],
                                               device_ids: list[str]) -> None:
    for topic, payload, reason in bad:
        assert topic.startswith("telemetry/")
        decoded = decode_message(topic, payload, NOW_MS)
        if reason == "unknown_device":  # well-formed: only the registry can tell
            assert decoded.rejections == [] and len(decoded.readings) == 1
            assert decoded.device_id not in device_ids
            assert topic == f"telemetry/{decoded.device_id}"
            continue
        assert decoded.readings == [], reason
        assert [r.reason.value for r in decoded.rejections] == [reason]


def test_nan_literal_is_labelled_not_json_and_huge_number_non_finite(
        bad: list[tuple[str, bytes, str]]) -> None:
    assert any(b"NaN" in payload and reason == "not_json" for _, payload, reason in bad)
    assert any(b"1e999" in payload and reason == "non_finite" for _, payload, reason in bad)
    assert json.loads(next(p for _, p, r in bad if r == "non_finite"))  # valid JSON, infinite


def test_topic_mismatch_names_two_fleet_devices(bad: list[tuple[str, bytes, str]],
                                                device_ids: list[str]) -> None:
    topic, payload, _ = next(m for m in bad if m[2] == "topic_mismatch")
    carried = json.loads(payload)["device_id"]
    assert carried in device_ids and topic.removeprefix("telemetry/") in device_ids
    assert topic != f"telemetry/{carried}"


def test_oversized_is_over_the_limit(bad: list[tuple[str, bytes, str]]) -> None:
    payload = next(p for _, p, r in bad if r == "oversized")
    assert len(payload) > Limits().max_payload_bytes


def test_deterministic_per_seed(device_ids: list[str]) -> None:
    assert malformed_messages(7, device_ids, NOW_MS) == malformed_messages(7, device_ids, NOW_MS)
    assert malformed_messages(8, device_ids, NOW_MS) != malformed_messages(7, device_ids, NOW_MS)


def test_works_with_a_single_device() -> None:
    bad = malformed_messages(1, ["trk-0001"], NOW_MS)
    for topic, payload, reason in bad:
        rejections = decode_message(topic, payload, NOW_MS).rejections
        assert reason == "unknown_device" or rejections[0].reason.value == reason


def test_needs_devices() -> None:
    with pytest.raises(ValueError):
        malformed_messages(1, [], NOW_MS)
