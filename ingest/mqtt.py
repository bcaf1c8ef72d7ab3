"""The MQTT edge shared by ingest and monitor: a paho-mqtt 2.x client set up once.

Persistent session (clean_session false) and manual acknowledgements: a QoS 1
message is acknowledged by the caller only once its effect is durable, so a
crash before that makes the broker redeliver it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from ingest.receive import BatchHandler, BulkClient, Received

__all__ = ["MqttEndpoint", "MessageHandler", "connect_consumer", "connect_bulk_consumer",
           "connect_publisher", "stop_worker"]

log = logging.getLogger(__name__)

MessageHandler = Callable[[mqtt.MQTTMessage], None]


class MqttEndpoint:
    """Where and how to connect; the password is never shown."""

    __slots__ = ("host", "port", "username", "password", "protocol")

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        protocol: int = 4,
    ) -> None:
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.protocol = protocol  # 4 = MQTT 3.1.1, 5 = MQTT 5

    def __repr__(self) -> str:
        return f"MqttEndpoint({self.host!r}, {self.port}, protocol={self.protocol})"


def connect_consumer(
    endpoint: MqttEndpoint,
    client_id: str,
    subscriptions: list[str],
    on_message: MessageHandler,
    max_inflight: int = 1000,
) -> mqtt.Client:
    """A started client with a persistent session, manual acks and its subscriptions.

    Subscriptions are renewed on every (re)connect, so a broker that lost the
    session (restart without persistence) still delivers to us afterwards.
    """
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         **_session_kwargs(endpoint))  # type: ignore[arg-type]

    def handle(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            on_message(message)
        except Exception:  # a failing handler is logged; the network loop goes on
            log.exception("mqtt %s: message handler failed on %s", client_id, message.topic)

    client.on_message = handle
    return _start(client, endpoint, client_id, subscriptions, max_inflight)


def connect_bulk_consumer(
    endpoint: MqttEndpoint,
    client_id: str,
    subscriptions: list[str],
    on_batch: BatchHandler,
    max_inflight: int = 1000,
) -> BulkClient:
    """As ``connect_consumer``, but messages arrive in lists (``ingest.receive``) and
    are acknowledged with ``BulkClient.ack_many``."""
    def guarded(generation: int, messages: list[Received]) -> None:
        try:
            on_batch(generation, messages)
        except Exception:  # logged; paho's thread goes on, and the broker redelivers them
            log.exception("mqtt %s: batch handler failed on %d messages; they stay "
                          "unacknowledged", client_id, len(messages))

    client = BulkClient(CallbackAPIVersion.VERSION2, client_id=client_id, on_batch=guarded,
                        **_session_kwargs(endpoint))
    _start(client, endpoint, client_id, subscriptions, max_inflight)
    return client


def _session_kwargs(endpoint: MqttEndpoint) -> dict[str, object]:
    if endpoint.protocol == 5:
        return {"protocol": MQTTProtocolVersion.MQTTv5, "manual_ack": True}
    return {"protocol": MQTTProtocolVersion.MQTTv311, "manual_ack": True,
            "clean_session": False}


def _start(client: mqtt.Client, endpoint: MqttEndpoint, client_id: str,
           subscriptions: list[str], max_inflight: int) -> mqtt.Client:
    """Connect (persistent session), subscribe on every connect, run paho's thread."""
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    client.max_inflight_messages_set(max_inflight)
    client.max_queued_messages_set(0)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    connected = threading.Event()

    def on_connect(c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        if rc.is_failure:
            log.error("mqtt %s: connect refused by %s:%d: %s", client_id, endpoint.host,
                      endpoint.port, rc)
            return
        for topic in subscriptions:
            c.subscribe(topic, qos=1)
        log.info("mqtt %s: connected to %s:%d, subscribed %s", client_id, endpoint.host,
                 endpoint.port, subscriptions)
        connected.set()

    def on_disconnect(_c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        if rc.is_failure:
            log.warning("mqtt %s: connection lost (%s); reconnecting", client_id, rc)
        else:
            log.info("mqtt %s: disconnected", client_id)

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    connect_kwargs: dict[str, object] = {}
    if endpoint.protocol == 5:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 7 * 24 * 3600
        props.ReceiveMaximum = max_inflight
        connect_kwargs = {"clean_start": False, "properties": props}
    client.connect_async(endpoint.host, endpoint.port, keepalive=30, **connect_kwargs)  # type: ignore[arg-type]
    client.loop_start()
    if not connected.wait(15):
        log.warning("mqtt %s: not connected after 15 s; still trying", client_id)
    return client


def connect_publisher(endpoint: MqttEndpoint, client_id: str) -> mqtt.Client:
    """A started, connected client for publishing (clean session)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    client.connect(endpoint.host, endpoint.port, keepalive=30)
    client.loop_start()
    return client


def stop_worker(stop: threading.Event, worker: threading.Thread, client: mqtt.Client | None,
                timeout_s: float = 60.0) -> None:
    """Let a consumer's worker finish what it has received, then leave the broker.

    Disconnecting last means nothing handed to the worker is left unacknowledged
    when the session closes (what is unacknowledged the broker redelivers).
    """
    stop.set()
    if worker.is_alive():
        worker.join(timeout=timeout_s)
    if client is not None:
        client.disconnect()
        client.loop_stop()
