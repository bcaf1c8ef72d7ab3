"""Ingest's receive path: paho-mqtt with a bulk PUBLISH reader and batched PUBACKs.

paho 2.x reads a packet with three or more ``recv`` calls, builds an
``MQTTMessage`` (with a ``threading.Condition``), logs and matches topics for
every message, and sends one PUBACK per ``send``: ~37 µs of CPU per message
here, more than the rest of ingest. ``BulkClient`` keeps paho for everything
that is not the hot path (CONNECT, SUBSCRIBE, keepalive, reconnect, hand-off
publishing) and replaces two things:

- ``_packet_read``: one ``recv`` of up to 256 KiB, every complete PUBLISH in it
  parsed in place and handed over as one list of ``Received`` tuples; other
  packets go through paho's own ``_packet_handle`` in arrival order;
- ``ack_many``: the PUBACKs of a whole batch in one write.

It overrides private paho methods, so paho is pinned to 2.2.x
(``pyproject.toml``); tests/ingest/test_receive.py pins the behaviour.

Each connection has a generation. Acks for messages received on an earlier
connection are dropped: the broker redelivers those (the store write is
idempotent and the dedup ledger drops them), whereas their packet ids may
already name other, not yet durable, messages on the new connection.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.exception import MalformedPacket

__all__ = ["BulkClient", "Received", "BatchHandler"]

log = logging.getLogger(__name__)

_RECV_BYTES = 256 * 1024
_PUBLISH, _PUBACK = 0x30, 0x40
# Every PUBACK there can be (4 bytes each), so a batch's acks are one join.
_PUBACKS = [bytes((_PUBACK, 2, mid >> 8, mid & 0xFF)) for mid in range(65536)]


class Received(NamedTuple):
    """One PUBLISH as it came off the wire (QoS 0 messages have ``mid`` 0)."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    dup: bool


#: Called on paho's network thread with the connection generation and the messages
#: of one read, in arrival order. It may block: paho then stops reading the socket.
BatchHandler = Callable[[int, list[Received]], None]


def _fresh_in_packet() -> Any:  # paho's private _InPacket TypedDict
    return {"command": 0, "have_remaining": 0, "remaining_count": [], "remaining_mult": 1,
            "remaining_length": 0, "packet": bytearray(b""), "to_process": 0, "pos": 0}


class BulkClient(mqtt.Client):
    """A paho client whose QoS 0/1 PUBLISH packets go to ``on_batch`` in bulk."""

    def __init__(self, *args: Any, on_batch: BatchHandler, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_batch = on_batch
        self._rx = b""
        self._generation = 0
        self._generation_lock = threading.RLock()

    @property
    def generation(self) -> int:
        """Changes whenever the connection closes; acks name the generation they belong to."""
        return self._generation

    def ack_many(self, generation: int, mids: Iterable[int]) -> int:
        """PUBACK the QoS 1 messages ``mids`` of connection ``generation`` in one write.

        Returns how many were sent: none when the connection has changed since
        (the broker redelivers them instead).
        """
        packet = b"".join(map(_PUBACKS.__getitem__, mids))
        # Held across the check and the queueing: a reconnect clears the queue after
        # _sock_close, so these acks either go out on their own connection or never.
        with self._generation_lock:
            if generation != self._generation:
                return 0
            if packet:
                self._packet_queue(_PUBACK, packet, 0, 0)
        return len(packet) // 4

    def _sock_close(self) -> None:
        with self._generation_lock:
            self._rx = b""
            self._generation += 1
        super()._sock_close()

    def _packet_read(self) -> MQTTErrorCode:
        try:
            data = self._sock_recv(_RECV_BYTES)
        except BlockingIOError:
            return MQTTErrorCode.MQTT_ERR_AGAIN
        except OSError as err:
            self._easy_log(mqtt.MQTT_LOG_ERR, "failed to receive on socket: %s", err)
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        if not data:
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        buf = self._rx + data if self._rx else data
        self._rx = b""
        generation = self._generation
        rc, pos = self._parse(buf, generation)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return rc
        if generation == self._generation:  # not closed meanwhile: keep the partial packet
            self._rx = buf[pos:]
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()
        return rc

    def _parse(self, buf: bytes, generation: int) -> tuple[MQTTErrorCode, int]:
        """Handle every complete packet in ``buf``; returns (rc, where the rest starts)."""
        v5 = self._protocol == MQTTProtocolVersion.MQTTv5
        messages: list[Received] = []
        n, pos = len(buf), 0
        while n - pos >= 2:
            command, length, start = buf[pos], buf[pos + 1], pos + 2
            if length & 0x80 and n - pos > 2 and not buf[pos + 2] & 0x80:  # 128 B-16 KiB
                length, start = (length & 0x7F) | (buf[pos + 2] << 7), pos + 3
            elif length & 0x80:
                length, start = _remaining_length(buf, pos + 1)
                if start < 0:
                    if start == -2:
                        return MQTTErrorCode.MQTT_ERR_PROTOCOL, pos
                    break  # the length itself is not all here yet
            end = start + length
            if end > n:
                break
            if command & 0xF0 == _PUBLISH and command & 0x06 != 0x04:
                message = _publish(buf, command, start, end, v5)
                if message is None:
                    return MQTTErrorCode.MQTT_ERR_PROTOCOL, pos
                messages.append(message)
            else:  # everything else the paho way, after what came before it
                if messages:
                    self.on_batch(generation, messages)
                    messages = []
                rc = self._handle_one(command, buf[start:end])
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or generation != self._generation:
                    return rc, end
            pos = end
        if messages:
            self.on_batch(generation, messages)
        return MQTTErrorCode.MQTT_ERR_SUCCESS, pos

    def _handle_one(self, command: int, body: bytes) -> MQTTErrorCode:
        packet = _fresh_in_packet()
        packet.update(command=command, packet=bytearray(body), remaining_length=len(body))
        self._in_packet = packet
        try:
            rc: MQTTErrorCode = self._packet_handle()
        except MalformedPacket as exc:
            self._easy_log(mqtt.MQTT_LOG_DEBUG, "Received malformed packet: %s", exc)
            rc = MQTTErrorCode.MQTT_ERR_PROTOCOL
        self._in_packet = _fresh_in_packet()
        return rc


def _remaining_length(buf: bytes, at: int) -> tuple[int, int]:
    """A multi-byte remaining length at ``at``: (length, where the body starts).

    The start is -1 when the length runs past the buffer, -2 when it is longer
    than the four bytes MQTT allows.
    """
    length, shift = 0, 0
    for i in range(at, min(at + 4, len(buf))):
        byte = buf[i]
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return length, i + 1
        shift += 7
    return 0, (-1 if len(buf) < at + 4 else -2)


def _publish(buf: bytes, command: int, start: int, end: int, v5: bool) -> Received | None:
    """A QoS 0/1 PUBLISH body, or None when it is malformed."""
    if end - start < 2:
        return None
    p = start + 2 + ((buf[start] << 8) | buf[start + 1])
    try:
        topic = buf[start + 2:p].decode()
    except UnicodeDecodeError:
        return None
    qos = (command >> 1) & 0x03
    mid = 0
    if qos:
        mid = (buf[p] << 8) | buf[p + 1] if p + 2 <= end else -1
        p += 2
    if v5 and p < end:  # skip the properties: ingest uses none of them
        props, p = _remaining_length(buf, p) if buf[p] & 0x80 else (buf[p], p + 1)
        p = p + props if p > 0 else end + 1
    if p > end or mid < 0 or (qos and mid == 0):
        return None
    return Received(topic, buf[p:end], mid, qos, bool(command & 0x08))
