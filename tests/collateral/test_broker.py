"""The embedded broker really brokers: QoS 1 messages between two paho clients."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from collateral.broker import EmbeddedBroker


def test_embedded_broker_delivers_qos1_on_a_free_port() -> None:
    broker = EmbeddedBroker()
    broker.start()
    assert broker.port != 1883
    received: list[bytes] = []
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        received.append(message.payload)
        if len(received) == 50:
            done.set()

    subscribed = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sub")
    sub.on_message = on_message
    sub.on_subscribe = lambda *_: subscribed.set()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="pub")
    try:
        sub.connect(broker.host, broker.port)
        sub.loop_start()
        sub.subscribe("telemetry/+", qos=1)
        assert subscribed.wait(10)
        pub.connect(broker.host, broker.port)
        pub.loop_start()
        for i in range(50):
            pub.publish(f"telemetry/d{i % 5}", str(i).encode(), qos=1).wait_for_publish(10)
        assert done.wait(10)
        assert sorted(int(p) for p in received) == list(range(50))
    finally:
        for client in (pub, sub):
            client.disconnect()
            client.loop_stop()
        broker.stop()
