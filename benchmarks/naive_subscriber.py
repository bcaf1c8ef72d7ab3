"""The baseline ingest most people would write first: a paho callback, ``json.loads``,
line protocol, batched HTTP writes of 5,000 points, automatic acknowledgement
(a message is acked on receipt, before it is stored: a crash loses it), no
spool, no validation beyond what it needs, no dead letters.

Run by bench_ingest.py as its own process:
``python benchmarks/naive_subscriber.py HOST PORT CLIENT_ID INFLUX_URL DB``
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

BATCH = 5000
FLUSH_S = 0.2


def main() -> None:
    host, port, client_id, influx, db = sys.argv[1:6]
    http = httpx.Client(base_url=influx, timeout=30)
    lines: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        body = json.loads(msg.payload)
        device = body["device_id"]
        with lock:
            for r in body["readings"]:
                fields = ",".join(
                    f"{k}={'true' if v is True else 'false' if v is False else v}"
                    for k, v in r.items() if k not in ("seq", "ts_ms"))
                lines.append(f"telemetry,asset_id={device},device_id={device} "
                             f"seq={r['seq']}i,{fields} {r['ts_ms']}")

    def writer() -> None:
        while not stop.is_set():
            time.sleep(FLUSH_S)
            with lock:
                batch = lines[:]
                del lines[:]
            for i in range(0, len(batch), BATCH):
                http.post("/write", params={"db": db, "precision": "ms"},
                          content="\n".join(batch[i:i + BATCH]).encode())

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe("telemetry/#", qos=1)
    client.max_inflight_messages_set(1000)
    client.connect(host, int(port))
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    client.loop_start()
    stop.wait()
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
