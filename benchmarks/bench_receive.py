"""CPU per message of the MQTT receive path alone: bare paho against ingest's BulkClient.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_receive.py [--messages 100000] [--runs 3]``

Each run preloads ``--messages`` QoS 1 messages (one wire-v1 reading each,
published by C ``mosquitto_pub`` processes) into an offline persistent session,
then a consumer connects, acknowledges every message and nothing else, and
exits when all are acknowledged. The consumer runs in its own process; we
report its CPU (user + system) per message and its drain rate, for MQTT 3.1.1
and 5, medians of the runs:

- ``paho``: paho-mqtt 2.x, ``on_message`` with a manual ``ack`` per message
  (what ingest used before ``ingest.receive``);
- ``bulk``: ``ingest.receive.BulkClient``, one ``ack_many`` per read.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.servers import MosquittoHandle, start_mosquitto

ROOT = Path(__file__).resolve().parent.parent
BROKER_CONF = ("max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 10000\n"
               "persistence false\n")
PUBLISHERS = 10
LINE = (b'{"v":1,"device_id":"dev-%03d","readings":[{"seq":%d,"ts_ms":1764331200000,'
        b'"lat":31.2,"lon":121.4,"speed_kmh":12.0,"heading_deg":90.0,"gnss_fix":3,"hdop":0.9,'
        b'"sats":11,"ignition":true,"battery_v":12.6,"ext_power":true,"tamper":false}]}')


def _client(client_id: str, version: int, cls: type[mqtt.Client] = mqtt.Client,
            **extra: object) -> mqtt.Client:
    v5 = version == 5
    kwargs: dict[str, object] = {} if v5 else {"clean_session": False}
    return cls(CallbackAPIVersion.VERSION2, client_id=client_id, manual_ack=True,
               protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
               **kwargs, **extra)  # type: ignore[arg-type]


def _connect(client: mqtt.Client, host: str, port: int, version: int) -> None:
    if version == 5:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        props.ReceiveMaximum = 10_000
        client.connect(host, port, clean_start=False, properties=props)
    else:
        client.connect(host, port)


def consume(kind: str, host: str, port: int, client_id: str, version: int, total: int) -> None:
    """The consumer process: acknowledge ``total`` messages, print CPU s and wall s."""
    from ingest.receive import BulkClient, Received

    done = 0
    first = 0.0
    finished = __import__("threading").Event()

    def on_message(c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        nonlocal done, first
        first = first or time.perf_counter()
        c.ack(message.mid, message.qos)
        done += 1
        if done >= total:
            finished.set()

    def on_batch(generation: int, messages: list[Received]) -> None:
        nonlocal done, first
        first = first or time.perf_counter()
        client.ack_many(generation, [m.mid for m in messages])  # type: ignore[attr-defined]
        done += len(messages)
        if done >= total:
            finished.set()

    if kind == "paho":
        client = _client(client_id, version)
        client.on_message = on_message
    else:
        client = _client(client_id, version, BulkClient, on_batch=on_batch)
    client.max_inflight_messages_set(10_000)
    _connect(client, host, port, version)
    client.loop_start()
    finished.wait(600)
    wall = time.perf_counter() - first
    time.sleep(0.5)  # the last acks leave
    cpu = time.process_time()
    client.disconnect()
    client.loop_stop()
    print(f"{cpu} {wall} {done}")


def open_session(broker: MosquittoHandle, client_id: str, version: int) -> None:
    client = _client(client_id, version)
    _connect(client, broker.host, broker.port, version)
    client.loop_start()
    client.subscribe("telemetry/#", qos=1)
    time.sleep(0.3)
    client.disconnect()
    client.loop_stop()


def preload(broker: MosquittoHandle, total: int) -> None:
    per = total // PUBLISHERS
    procs = []
    for d in range(PUBLISHERS):
        body = b"\n".join(LINE % (d, s) for s in range(per)) + b"\n"
        proc = subprocess.Popen(["mosquitto_pub", "-h", broker.host, "-p", str(broker.port),
                                 "-q", "1", "-l", "-t", f"telemetry/dev-{d:03d}"],
                                stdin=subprocess.PIPE)
        assert proc.stdin is not None
        proc.stdin.write(body)
        proc.stdin.close()
        procs.append(proc)
    for proc in procs:
        proc.wait(300)


def run_one(broker: MosquittoHandle, kind: str, version: int, total: int) -> tuple[float, float]:
    client_id = f"rb-{uuid.uuid4().hex[:8]}"
    open_session(broker, client_id, version)
    preload(broker, total)
    out = subprocess.run([sys.executable, __file__, "--consume", kind, broker.host,
                          str(broker.port), client_id, str(version), str(total)],
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=900, check=True)
    cpu, wall, done = out.stdout.split()
    assert int(done) >= total, out.stdout
    return float(cpu) / total * 1e6, total / float(wall)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--consume", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.consume:
        kind, host, port, cid, version, total = args.consume
        consume(kind, host, int(port), cid, int(version), int(total))
        return
    total = args.messages // PUBLISHERS * PUBLISHERS
    rows: dict[tuple[str, int], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp, start_mosquitto(Path(tmp), BROKER_CONF) as broker:
        for run in range(args.runs):
            for version in (4, 5):
                for kind in ("paho", "bulk"):
                    us, rate = run_one(broker, kind, version, total)
                    rows.setdefault((kind, version), []).append((us, rate))
                    print(f"run {run + 1} {kind} MQTT {version}: {us:5.1f} µs CPU/msg "
                          f"{rate:8,.0f} msgs/s  load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"\n| receive path | MQTT | µs CPU / message (median of {args.runs}) | runs | "
          "msgs/s (median) |")
    print("| --- | --- | ---: | --- | ---: |")
    for (kind, version), runs in rows.items():
        print(f"| {kind} | {'5' if version == 5 else '3.1.1'} | "
              f"{statistics.median(u for u, _ in runs):.1f} | "
              f"{', '.join(f'{u:.1f}' for u, _ in runs)} | "
              f"{statistics.median(r for _, r in runs):,.0f} |")


if __name__ == "__main__":
    main()
