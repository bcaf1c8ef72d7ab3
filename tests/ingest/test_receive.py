"""BulkClient, ingest's receive path: the bulk PUBLISH parser on crafted bytes, and the
session behaviour (acks, redelivery with DUP, reconnect) against a real Mosquitto."""

from __future__ import annotations

import socket
import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion

from ingest.mqtt import MqttEndpoint, connect_bulk_consumer
from ingest.receive import BulkClient, Received
from tests.integration.helpers import wait_for


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish(topic: str, payload: bytes, mid: int = 0, qos: int = 1, dup: bool = False,
            props: bytes | None = None) -> bytes:
    """One PUBLISH packet; ``props`` (MQTT 5) is the encoded property block."""
    name = topic.encode()
    body = len(name).to_bytes(2, "big") + name
    if qos:
        body += mid.to_bytes(2, "big")
    if props is not None:
        body += varint(len(props)) + props
    body += payload
    return bytes([0x30 | qos << 1 | (0x08 if dup else 0)]) + varint(len(body)) + body


class Fed:
    """A BulkClient whose socket is a list of byte chunks."""

    def __init__(self, version: int = 4) -> None:
        protocol = MQTTProtocolVersion.MQTTv5 if version == 5 else MQTTProtocolVersion.MQTTv311
        self.batches: list[list[Received]] = []
        self.client = BulkClient(CallbackAPIVersion.VERSION2, client_id="t", protocol=protocol,
                                 manual_ack=True, on_batch=lambda _g, m: self.batches.append(m))
        self.chunks: list[bytes] = []
        self.client._sock_recv = self._recv  # type: ignore[method-assign]

    def _recv(self, _n: int) -> bytes:
        if not self.chunks:
            raise BlockingIOError
        return self.chunks.pop(0)

    def feed(self, *chunks: bytes) -> list[MQTTErrorCode]:
        self.chunks.extend(chunks)
        return [self.client._packet_read() for _ in chunks]

    @property
    def messages(self) -> list[Received]:
        return [m for batch in self.batches for m in batch]


def test_packets_split_at_every_byte_arrive_whole_and_in_order() -> None:
    stream = b"".join(publish(f"telemetry/d{i}", b"x" * size, mid=i + 1)
                      for i, size in enumerate([0, 5, 126, 127, 128, 300, 20_000]))
    expected = Fed()
    assert expected.feed(stream) == [MQTTErrorCode.MQTT_ERR_SUCCESS]
    assert [len(m.payload) for m in expected.messages] == [0, 5, 126, 127, 128, 300, 20_000]
    for cut in [1, 2, 3, 4, 7, 130, 140, 600, len(stream) - 1]:
        fed = Fed()
        pieces = [stream[i:i + cut] for i in range(0, len(stream), cut)]
        assert set(fed.feed(*pieces)) == {MQTTErrorCode.MQTT_ERR_SUCCESS}
        assert fed.messages == expected.messages, cut
    assert expected.messages[2] == Received("telemetry/d2", b"x" * 126, 3, 1, False)


def test_qos_0_dup_and_mqtt_5_properties() -> None:
    fed = Fed(version=5)
    props = bytes([0x0B]) + varint(300) + bytes([0x26, 0, 1, 97, 0, 1, 98])  # sub id, user prop
    fed.feed(publish("a/b", b"p1", qos=0, props=b""),
             publish("a/c", b"p2", mid=65535, dup=True, props=props))
    assert fed.messages == [Received("a/b", b"p1", 0, 0, False),
                            Received("a/c", b"p2", 65535, 1, True)]


def test_other_packets_are_handled_in_order_between_publishes() -> None:
    fed = Fed()
    fed.client._ping_t = 123.0
    seen_ping_t: list[float] = []
    fed.client.on_batch = lambda _g, m: (fed.batches.append(m),  # type: ignore[assignment]
                                        seen_ping_t.append(fed.client._ping_t))
    fed.feed(publish("t/1", b"a", 1) + bytes([0xD0, 0]) + publish("t/2", b"b", 2))
    assert [[m.payload for m in b] for b in fed.batches] == [[b"a"], [b"b"]]
    assert seen_ping_t == [123.0, 0.0]  # PINGRESP handled after the first, before the second


@pytest.mark.parametrize("packet", [
    bytes([0x32, 3, 0, 9, 97]),  # topic longer than the packet
    bytes([0x32, 4, 0, 1, 97, 0]),  # packet id cut short
    bytes([0x32, 5, 0, 1, 97, 0, 0]),  # packet id 0 at QoS 1
    bytes([0x32, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),  # remaining length over four bytes
    bytes([0x32, 4, 0, 2, 0xC3, 0x28]),  # topic not UTF-8
])
def test_malformed_publish_is_a_protocol_error(packet: bytes) -> None:
    fed = Fed()
    assert fed.feed(packet) == [MQTTErrorCode.MQTT_ERR_PROTOCOL]
    assert fed.messages == []


def test_acks_are_one_write_and_only_for_their_own_connection() -> None:
    fed = Fed()
    queued: list[bytes] = []
    fed.client._packet_queue = lambda _c, packet, *_a: queued.append(packet)  # type: ignore
    generation = fed.client.generation
    assert fed.client.ack_many(generation, [1, 258, 65535]) == 3
    assert queued == [bytes([0x40, 2, 0, 1, 0x40, 2, 1, 2, 0x40, 2, 0xFF, 0xFF])]
    fed.client._sock_close()  # the connection ended: a new one may reuse those ids
    assert fed.client.ack_many(generation, [4]) == 0
    assert len(queued) == 1


# -- against a real broker ----------------------------------------------------------------


class Collector:
    """Keeps what arrives; acknowledges and counts the subscription probes itself."""

    def __init__(self) -> None:
        self.items: list[tuple[int, Received]] = []
        self.probes = 0
        self.lock = threading.Lock()
        self.client: BulkClient | None = None

    def __call__(self, generation: int, messages: list[Received]) -> None:
        with self.lock:
            for m in messages:
                if m.payload == b"probe" and self.client is not None:
                    self.client.ack_many(generation, [m.mid])
                    self.probes += 1
                else:
                    self.items.append((generation, m))

    def take(self) -> list[tuple[int, Received]]:
        with self.lock:
            items, self.items = self.items, []
        return items


def publish_all(broker: Any, topic: str, count: int, payload: bytes | None = None) -> None:
    device = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"p-{uuid.uuid4().hex[:6]}")
    device.connect(broker.host, broker.port)
    device.loop_start()
    infos = [device.publish(topic, payload or f"m{i}".encode(), qos=1) for i in range(count)]
    for info in infos:
        info.wait_for_publish(10)
    device.disconnect()
    device.loop_stop()


def drop(client: mqtt.Client) -> None:
    """Break the connection under paho, as a network failure would; paho reconnects."""
    sock = client.socket()
    assert isinstance(sock, socket.socket)
    sock.shutdown(socket.SHUT_RDWR)


@pytest.mark.integration
@pytest.mark.parametrize("protocol", [4, 5])
def test_unacked_messages_come_back_with_dup_and_acked_ones_do_not(
        mosquitto: Any, protocol: int) -> None:
    endpoint = MqttEndpoint(mosquitto.host, mosquitto.port, protocol=protocol)
    topic = f"telemetry/r{uuid.uuid4().hex[:6]}"
    got = Collector()
    client = connect_bulk_consumer(endpoint, f"bulk-{uuid.uuid4().hex[:6]}", [topic], got)
    try:
        got.client = client
        wait_for(lambda: publish_all(mosquitto, topic, 1, b"probe") or got.probes > 0)
        # Mosquitto's default in-flight window is 20: stay under it, acking nothing yet.
        publish_all(mosquitto, topic, 15)
        wait_for(lambda: len(got.items) >= 15)
        first = got.take()
        assert sorted(m.payload for _g, m in first) == sorted(f"m{i}".encode() for i in range(15))
        assert not any(m.dup for _g, m in first)
        old = first[0][0]
        assert client.ack_many(old, [m.mid for _g, m in first[:5]]) == 5
        wait_for(lambda: not client.want_write())
        drop(client)  # the other 10 were never acknowledged
        wait_for(lambda: len(got.items) >= 10)
        again = got.take()
        assert sorted(m.payload for _g, m in again) == sorted(m.payload for _g, m in first[5:])
        assert all(m.dup for _g, m in again)
        assert client.ack_many(old, [m.mid for _g, m in again]) == 0  # stale generation
        new = again[0][0]
        assert new != old and client.ack_many(new, [m.mid for _g, m in again]) == 10
        wait_for(lambda: not client.want_write())
        drop(client)
        wait_for(lambda: client.generation != new and client.is_connected())
        publish_all(mosquitto, topic, 1)  # a marker: everything before it was acked
        wait_for(lambda: len(got.items) >= 1)
        assert [m.payload for _g, m in got.take()] == [b"m0"]
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.mark.integration
def test_a_failing_handler_is_logged_and_reading_goes_on(
        mosquitto: Any, caplog: pytest.LogCaptureFixture) -> None:
    topic = f"telemetry/f{uuid.uuid4().hex[:6]}"
    got = Collector()
    calls = 0

    def handler(generation: int, messages: list[Received]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        got(generation, messages)

    client = connect_bulk_consumer(MqttEndpoint(mosquitto.host, mosquitto.port),
                                   f"bulk-{uuid.uuid4().hex[:6]}", [topic], handler)
    try:
        wait_for(lambda: publish_all(mosquitto, topic, 1) or bool(got.items))
        assert calls >= 2 and "batch handler failed" in caplog.text
    finally:
        client.disconnect()
        client.loop_stop()
