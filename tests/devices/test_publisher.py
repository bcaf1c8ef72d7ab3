"""The MQTT edge against a real Mosquitto: what is published is what a subscriber gets."""

from __future__ import annotations

import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.fleet import generate_fleet
from devices.malformed import malformed_messages
from devices.publisher import PublishError, PublishOptions, PublishStats, run_simulation
from devices.schema import fleet_devices
from devices.simulator import Simulator
from tests.servers import MOSQUITTO, require_binary, start_mosquitto

SEED = 4


class Recorder:
    """A QoS 1 subscriber that keeps everything it receives, in order."""

    def __init__(self, host: str, port: int, client_id: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        assert self._ready.wait(10), "subscriber did not connect"

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, _rc: object,
                    _p: object) -> None:
        client.subscribe([("telemetry/+", 1), ("status/+", 1)])
        time.sleep(0.2)  # let SUBACK land before publishers start
        self._ready.set()

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload)))

    def of(self, topics: set[str]) -> list[tuple[str, bytes]]:
        with self._lock:
            return [m for m in self.messages if m[0] in topics]

    def wait_for(self, topics: set[str], count: int, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.of(topics)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # anything extra would show up now

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def recorder(mosquitto: Any, request: pytest.FixtureRequest) -> Iterator[Recorder]:
    rec = Recorder(mosquitto.host, mosquitto.port, f"rec-{request.node.name}"[:60])
    yield rec
    rec.close()


def _fleet(tag: str, n: int = 12) -> dict[str, Any]:
    """A fleet whose device ids are unique to one test (the broker is shared)."""
    fleet = generate_fleet(n, seed=SEED)
    for asset in fleet["assets"]:
        asset["device_id"] = f"{tag}-{asset['device_id']}"
    return fleet


def _topics(fleet: dict[str, Any], prefix: str = "telemetry") -> set[str]:
    return {f"{prefix}/{d}" for d, _ in fleet_devices(fleet)}


def _play(fleet: dict[str, Any], mosquitto: Any, tag: str, **kwargs: Any) -> PublishStats:
    kwargs.setdefault("start_ms", time.time_ns() // 1_000_000 - 2 * 3600 * 1000)
    kwargs.setdefault("duration_s", 2.0)
    return run_simulation(fleet, seed=SEED, speed=3600, host=mosquitto.host, port=mosquitto.port,
                          client_id_prefix=f"{tag}-sim", **kwargs)


@pytest.mark.integration
def test_subscriber_receives_exactly_what_was_published(mosquitto: Any,
                                                        recorder: Recorder) -> None:
    fleet = _fleet("pub1")
    stats = _play(fleet, mosquitto, "pub1")
    expected = Simulator(fleet, SEED, stats.sim_start_ms).advance(stats.sim_end_ms)
    recorder.wait_for(_topics(fleet), len(expected))
    got = recorder.of(_topics(fleet))
    assert len(expected) > 200
    assert stats.published == stats.acked == len(expected) == len(got)
    assert sorted(got) == sorted(expected)
    by_topic_got: dict[str, list[bytes]] = defaultdict(list)
    by_topic_expected: dict[str, list[bytes]] = defaultdict(list)
    for topic, payload in got:
        by_topic_got[topic].append(payload)
    for topic, payload in expected:
        by_topic_expected[topic].append(payload)
    assert by_topic_got == by_topic_expected  # each device's messages arrive in order
    assert sum(stats.by_kind.values()) == stats.published
    assert {i.device_id for i in stats.incidents} <= {d for d, _ in fleet_devices(fleet)}
    assert stats.malformed_injected == 0 and stats.unacked == 0


@pytest.mark.integration
def test_presence_is_announced_and_withdrawn(mosquitto: Any, recorder: Recorder) -> None:
    fleet = _fleet("pub2")
    stats = _play(fleet, mosquitto, "pub2", duration_s=1.0)
    statuses = _topics(fleet, "status")
    recorder.wait_for(statuses, 2 * len(statuses))
    seen: dict[str, list[bytes]] = defaultdict(list)
    for topic, payload in recorder.of(statuses):
        seen[topic].append(payload)
    assert set(seen) == statuses
    assert all(states[0] == b"online" and states[-1] == b"offline" for states in seen.values())
    assert stats.status_published >= 2 * len(statuses)


@pytest.mark.integration
def test_malformed_messages_are_injected_once(mosquitto: Any, recorder: Recorder) -> None:
    fleet = _fleet("pub3")
    stats = _play(fleet, mosquitto, "pub3", duration_s=1.5, inject_malformed=True)
    ids = [d for d, _ in fleet_devices(fleet)]
    bad_topics = {topic for topic, _, _ in malformed_messages(SEED, ids, 0)}
    expected = set(Simulator(fleet, SEED, stats.sim_start_ms).advance(stats.sim_end_ms))
    topics = _topics(fleet) | bad_topics
    recorder.wait_for(topics, stats.published + 9)
    extra = [m for m in recorder.of(topics) if m not in expected]
    assert stats.malformed_injected == len(extra) == 9
    assert {topic for topic, _ in extra} == bad_topics


@pytest.mark.integration
def test_mqtt5_works_too(mosquitto: Any, recorder: Recorder) -> None:
    fleet = _fleet("pub4", n=6)
    stats = _play(fleet, mosquitto, "pub4", duration_s=1.0,
                  options=PublishOptions(mqtt_protocol=5, connections=1))
    recorder.wait_for(_topics(fleet), stats.published)
    assert stats.published > 0 and stats.acked == stats.published
    assert len(recorder.of(_topics(fleet))) == stats.published


@pytest.mark.integration
def test_device_time_never_runs_ahead_of_the_wall_clock(mosquitto: Any) -> None:
    fleet = _fleet("pub5", n=4)
    start_ms = time.time_ns() // 1_000_000 - 20_000
    stats = _play(fleet, mosquitto, "pub5", start_ms=start_ms, duration_s=1.5)
    assert stats.sim_end_ms <= time.time_ns() // 1_000_000
    assert stats.sim_end_ms >= start_ms + 20_000  # it did catch up with "now"


@pytest.mark.integration
def test_stop_event_ends_an_open_ended_run(mosquitto: Any) -> None:
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    began = time.monotonic()
    stats = _play(_fleet("pub6", n=4), mosquitto, "pub6", duration_s=None, stop_event=stop)
    assert time.monotonic() - began < 5
    assert stats.published == stats.acked


@pytest.mark.integration
def test_a_broker_restart_loses_nothing(tmp_path: Any) -> None:
    """paho reconnects and resends what the broker had not acknowledged."""
    with start_mosquitto(tmp_path, binary=require_binary(MOSQUITTO)) as broker:
        result: list[PublishStats] = []
        worker = threading.Thread(target=lambda: result.append(
            _play(_fleet("pub7", n=20), broker, "pub7", duration_s=5.0)))
        worker.start()
        time.sleep(1.5)
        broker.stop()
        time.sleep(1.0)
        broker.start()
        worker.join(60)
    stats = result[0]
    assert stats.reconnects >= 1
    assert stats.published > 0 and stats.acked == stats.published


def test_unreachable_broker_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(PublishError, match=f"cannot connect to MQTT broker 127.0.0.1:{port}"):
        run_simulation(generate_fleet(2, seed=1), seed=1, speed=10, host="127.0.0.1", port=port,
                       duration_s=1, options=PublishOptions(connect_timeout_s=1.0))
