"""Sustained QoS 1 publish rate of the fleet simulator to a real Mosquitto, next to bare paho.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_simulator.py [--devices 10000]``

Two modes, each measured against a bare paho-mqtt publisher in the same
run (the two alternate, round by round, on the same broker):

- ``multiplexed``: ``--devices`` simulated devices over ``--connections``
  MQTT connections (default 10,000 over 2): the load mode.
- ``per-device``: ``--per-device`` devices (default 300), each on its own
  connection with its own username/password (a password file made with
  ``mosquitto_passwd``) and a last will on ``status/{device_id}``.

The simulator runs at a device-time speed no broker can keep up with, so
the rate is what the simulator, paho and the broker sustain together. The
baseline publishes pre-encoded payloads of the same size over the same
number of connections, with the same in-flight window, and does nothing
else. "Lost" is published minus what a ``mosquitto_sub`` QoS 1 subscriber
received (and minus PUBACKs): it must be 0. Medians of ``--rounds``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices.fleet import generate_fleet
from devices.link import device_password
from devices.publisher import PublishOptions, run_simulation
from devices.schema import fleet_devices
from tests.servers import require_binary, start_mosquitto

SECRET = "bench-secret"
QUEUE_CONF = "max_queued_messages 0\nmax_inflight_messages 0\n"


class Counter:
    """A ``mosquitto_sub`` at QoS 1 counting what it receives (a C client: cheap)."""

    def __init__(self, port: int, topic: str, auth: tuple[str, str] | None) -> None:
        argv = ["mosquitto_sub", "-p", str(port), "-q", "1", "-t", topic, "-F", "%t",
                "-i", f"count-{time.monotonic_ns()}"]
        if auth:
            argv += ["-u", auth[0], "-P", auth[1]]
        self._out = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(argv, stdout=self._out)
        time.sleep(0.5)

    def stop(self, settle_s: float = 1.0) -> int:
        time.sleep(settle_s)
        self._proc.terminate()
        self._proc.wait()
        self._out.seek(0)
        return sum(1 for _ in self._out)


def simulated(fleet: dict[str, Any], port: int, seconds: float, per_device: bool,
              connections: int, auth: tuple[str, str] | None) -> dict[str, float]:
    options = PublishOptions(connections=connections, presence=False,
                             device_secret=SECRET if per_device else None, ack_timeout_s=60)
    start_ms = time.time_ns() // 1_000_000 - 30 * 86_400_000
    counter = Counter(port, "telemetry/#", auth)
    stats = run_simulation(fleet, seed=1, speed=1e6, host="127.0.0.1", port=port,
                           start_ms=start_ms, duration_s=seconds, options=options,
                           client_id_prefix=f"sim{time.monotonic_ns()}",
                           mqtt_username=auth[0] if auth else None,
                           mqtt_password=auth[1] if auth else None)
    received = counter.stop()
    return {"rate": stats.published / stats.wall_s, "published": stats.published,
            "lost": stats.published - min(received, stats.acked),
            "size": stats.bytes_published / max(1, stats.published)}


def bare_paho(topics: list[str], size: int, port: int, seconds: float, per_device: bool,
              connections: int, auth: tuple[str, str] | None) -> dict[str, float]:
    """The floor: pre-built payloads, QoS 1, same connections and in-flight window."""
    payload = b"x" * size
    if per_device:
        clients = [_client(f"bare-{t}", t.split("/", 1)[1], device_password(SECRET,
                                                                            t.split("/", 1)[1]),
                           port) for t in topics]
        routes = [(c, [t]) for c, t in zip(clients, topics, strict=True)]
    else:
        clients = [_client(f"bare{i}-{time.monotonic_ns()}", *(auth or (None, None)), port)
                   for i in range(connections)]
        routes = [(c, topics[i::connections]) for i, c in enumerate(clients)]
    counter = Counter(port, "telemetry/#", auth)
    acked = [0]
    lock = threading.Lock()

    def on_publish(*_a: Any) -> None:
        with lock:
            acked[0] += 1

    for client in clients:
        client.on_publish = on_publish
    sent, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < seconds:
        for client, mine in routes:
            for topic in mine:
                client.publish(topic, payload, qos=1)
                sent += 1
        while sent - acked[0] > 20_000:  # the same back-pressure the simulator applies
            time.sleep(0.001)
    wall = time.monotonic() - t0
    while acked[0] < sent and time.monotonic() - t0 < seconds + 60:
        time.sleep(0.01)
    for client in clients:
        client.disconnect()
        client.loop_stop()
    received = counter.stop()
    return {"rate": sent / wall, "published": sent, "lost": sent - min(received, acked[0]),
            "size": size}


def _client(client_id: str, user: str | None, password: str | None, port: int) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    if user:
        client.username_pw_set(user, password)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def password_file(path: Path, users: list[tuple[str, str]]) -> None:
    path.write_text("")
    for user, password in users:
        subprocess.run(["mosquitto_passwd", "-b", str(path), user, password], check=True)


def measure(name: str, rounds: int, sim: Callable[[], dict[str, float]],
            bare: Callable[[], dict[str, float]]) -> dict[str, Any]:
    runs: dict[str, list[dict[str, float]]] = {"sim": [], "bare": []}
    for i in range(rounds):
        runs["sim"].append(sim())
        runs["bare"].append(bare())
        print(f"  {name} round {i + 1}: simulator {runs['sim'][-1]['rate']:,.0f}/s, "
              f"bare paho {runs['bare'][-1]['rate']:,.0f}/s", flush=True)
    return {side: {"rate": statistics.median(r["rate"] for r in rs),
                   "published": sum(r["published"] for r in rs),
                   "lost": sum(r["lost"] for r in rs), "size": rs[0]["size"]}
            for side, rs in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--per-device", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    require_binary("mosquitto")
    print(f"load before: {os.getloadavg()[0]:.2f} (1-min load average, 2 cores shared)")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        big = generate_fleet(args.devices, seed=1, incidents=False)
        small = generate_fleet(args.per_device, seed=2, incidents=False)
        ids = [d for d, _ in fleet_devices(small)]
        pw = Path(tmp) / "passwd"
        admin = ("bench-admin", "bench-admin-pw")
        password_file(pw, [admin, *((d, device_password(SECRET, d)) for d in ids)])
        conf = f"{QUEUE_CONF}allow_anonymous false\npassword_file {pw}\n"
        with start_mosquitto(Path(tmp), extra_conf=conf) as broker:
            big_topics = [f"telemetry/{d}" for d, _ in fleet_devices(big)]
            size = int(simulated(big, broker.port, 2, False, args.connections, admin)["size"])
            results["multiplexed"] = measure(
                f"{args.devices} devices / {args.connections} connections", args.rounds,
                lambda: simulated(big, broker.port, args.seconds, False, args.connections,
                                  admin),
                lambda: bare_paho(big_topics, size, broker.port, args.seconds, False,
                                  args.connections, admin))
            small_topics = [f"telemetry/{d}" for d in ids]
            results["per-device"] = measure(
                f"{len(ids)} devices / own connection each", args.rounds,
                lambda: simulated(small, broker.port, args.seconds, True, 0, admin),
                lambda: bare_paho(small_topics, size, broker.port, args.seconds, True, 0,
                                  admin))
    print(f"load after: {os.getloadavg()[0]:.2f}")
    print("\n| mode | devices | simulator msgs/s | bare paho msgs/s | ratio | published "
          "(sim / bare) | lost | payload B |\n|---|---|---|---|---|---|---|---|")
    for mode, n in (("multiplexed", args.devices), ("per-device", args.per_device)):
        s, b = results[mode]["sim"], results[mode]["bare"]
        print(f"| {mode} | {n:,} | {s['rate']:,.0f} | {b['rate']:,.0f} | "
              f"{s['rate'] / b['rate']:.2f} | {s['published']:,} / {b['published']:,} | "
              f"{s['lost'] + b['lost']} | {s['size']:.0f} |")


if __name__ == "__main__":
    main()
