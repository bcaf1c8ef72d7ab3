"""One MQTT connection of the simulator: paho-mqtt 2.x, QoS 1, counted acknowledgements.

paho reconnects by itself (1-30 s backoff) and keeps unacknowledged QoS 1
messages to send again, so a broker restart loses nothing we counted.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

__all__ = ["LinkSettings", "MqttLink", "PublishError", "device_password"]

log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """The simulator could not reach or use the broker."""


@dataclass(frozen=True, slots=True)
class LinkSettings:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    protocol: int = 4  # 4 = MQTT 3.1.1, 5 = MQTT 5
    max_inflight: int = 1000
    will: tuple[str, bytes] | None = None  # (topic, payload) the broker sends if we vanish

    def __repr__(self) -> str:  # never show the password
        return f"LinkSettings({self.host!r}, {self.port}, protocol={self.protocol})"


def device_password(secret: str, device_id: str) -> str:
    """A device's MQTT password, derived from a fleet provisioning secret.

    >>> a, b = device_password("s", "trk-1"), device_password("s", "trk-2")
    >>> a == device_password("s", "trk-1") != b
    True
    """
    return hmac.new(secret.encode(), device_id.encode(), hashlib.sha256).hexdigest()[:32]


class MqttLink:
    """One MQTT connection and its publish/acknowledge counters."""

    def __init__(self, client_id: str, settings: LinkSettings) -> None:
        self.client_id, self.host, self.port = client_id, settings.host, settings.port
        v5 = settings.protocol == 5
        protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
        kwargs: dict[str, Any] = {} if v5 else {"clean_session": True}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=protocol, **kwargs)
        if settings.username:
            self.client.username_pw_set(settings.username, settings.password)
        if settings.will is not None:
            self.client.will_set(settings.will[0], settings.will[1], qos=1, retain=True)
        self.client.max_inflight_messages_set(settings.max_inflight)
        self.client.max_queued_messages_set(0)  # never drop: the caller bounds what is in flight
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.connected = threading.Event()
        self.sent = self.acked = self.refused = self.connects = self.bytes = 0
        self.last_error = "no answer"

    @property
    def outstanding(self) -> int:
        return self.sent - self.acked - self.refused

    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        # Break the client <-> callback cycle: the client is then freed (and its
        # wake-up socket pair closed) at once rather than by a later GC pass.
        self.client.on_connect = self.client.on_disconnect = self.client.on_publish = None

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        # NO_CONN: paho keeps the QoS 1 message and sends it after reconnecting.
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise PublishError(f"mqtt {self.client_id}: publish to {topic} failed: "
                               f"{mqtt.error_string(info.rc)}")
        self.sent += 1
        self.bytes += len(payload)

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, rc: ReasonCode,
                    _p: object) -> None:
        if rc.is_failure:
            self.last_error = str(rc)
            log.error("mqtt %s: %s:%d refused the connection: %s", self.client_id, self.host,
                      self.port, rc)
            return
        self.connects += 1
        self.connected.set()
        log.info("mqtt %s: connected to %s:%d", self.client_id, self.host, self.port)

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, rc: ReasonCode,
                       _p: object) -> None:
        self.connected.clear()
        if rc.is_failure:
            log.warning("mqtt %s: disconnected from %s:%d (%s); reconnecting", self.client_id,
                        self.host, self.port, rc)

    def _on_publish(self, _c: mqtt.Client, _u: object, _mid: int, rc: ReasonCode,
                    _p: object) -> None:
        if rc.is_failure:  # MQTT 5 only, e.g. not authorised
            self.refused += 1
        else:
            self.acked += 1
