"""Ingest drain capacity against real Mosquitto and InfluxDB, side by side with its baselines.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_ingest.py [--messages 300000] [--runs 3]
[--configs naive ingest nodered mosquitto_sub influx]`` (``make bench-deps`` installs
Node-RED first; the benchmark runs it itself when Node-RED is missing).

For each run and each configuration, a backlog of ``--messages`` QoS 1
messages is published (by several C ``mosquitto_pub`` processes) into the
configuration's persistent session(s) while its consumer is offline; then
the consumer processes are started and the clock runs from the first point in
InfluxDB until all are there (one fresh database per drain). Configurations:

- ``naive``: benchmarks/naive_subscriber.py (auto-ack, batched writes, no durability)
- ``ingest x1``: ``collateral ingest``, one process, persistent MQTT 3.1.1 session
- ``ingest x2 (MQTT 5)``: two processes in one shared subscription, MQTT 5 sessions
- ``ingest x2 (3.1.1)``: the same over MQTT 3.1.1 (``$share`` is a broker extension there)
- ``ingest x1, 50/msg``: the same readings packed 50 to a message
- ``ingest x2, 50/msg``: those with two workers in one shared subscription (3.1.1)

Baselines (issue 4), each drained the same way in the same run:

- ``node-red``: benchmarks/baseline_nodered.py (mqtt in, QoS 1 persistent session ->
  function -> join 5,000 -> influxdb batch), auto-ack on receipt
- ``mosquitto_sub -q 1``: benchmarks/baseline_mosquitto_sub.py, the C client printing the
  backlog to a pipe that is only counted: the broker's ceiling for one QoS 1 consumer; its
  clock runs from the first message received until the last
- ``influxdb alone``: benchmarks/baseline_influx.py, the same readings POSTed to /write in
  5,000-line bodies by 1 or 2 writers, no MQTT: the store's ceiling; its clock runs from
  the first request until the last answer

Medians over the runs; CPU is user+system of the consumer processes per
1,000 readings. The broker runs in memory (persistence off), sized like
deploy/mosquitto.conf.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from benchmarks import baseline_influx, baseline_mosquitto_sub, baseline_nodered
from registry import Registry, import_fleet
from tests.servers import (
    InfluxHandle,
    MosquittoHandle,
    free_port,
    start_influxd,
    start_mosquitto,
)

ROOT = Path(__file__).resolve().parent.parent
DEVICES = 100
BROKER_CONF = ("max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 10000\n"
               "persistence false\n")
T0 = int(time.time() * 1000) - 10 * 24 * 3600 * 1000  # ten days ago: every ts distinct


@dataclass(frozen=True)
class Config:
    name: str
    workers: int  # ingest processes; for "influx", concurrent writers; else 0
    per_message: int = 1
    mqtt_version: int = 3  # 5: MQTT 5 sessions (session expiry), as a shared group defaults to
    kind: str = "ingest"  # or a baseline: naive, nodered, mosquitto_sub, influx


CONFIGS = [Config("naive", 0, kind="naive"), Config("ingest x1", 1),
           Config("ingest x2 (MQTT 5)", 2, 1, 5), Config("ingest x2 (3.1.1)", 2),
           Config("ingest x1, 50/msg", 1, 50), Config("ingest x2, 50/msg", 2, 50),
           Config("node-red", 0, kind="nodered"),
           Config("mosquitto_sub -q 1", 0, kind="mosquitto_sub"),
           Config("influxdb alone, 1 writer", 1, kind="influx"),
           Config("influxdb alone, 2 writers", 2, kind="influx")]
KINDS = ["naive", "ingest", "nodered", "mosquitto_sub", "influx"]
ACKS = {"naive": "auto-ack on receipt (paho)", "ingest": "after durable write",
        "nodered": baseline_nodered.ACKS, "mosquitto_sub": baseline_mosquitto_sub.ACKS,
        "influx": "(no MQTT)"}


def fleet() -> dict[str, object]:
    assets = [{"id": f"asset-{i:03d}", "kind": "truck", "name": f"T{i}", "loan_id": "loan-1",
               "site": {"lat": 31.2, "lon": 121.4, "radius_m": 500}, "cadence_s": 60,
               "device_id": f"dev-{i:03d}"} for i in range(DEVICES)]
    return {"version": 1, "lenders": [{"id": "lender-1", "name": "L",
                                       "webhook_url": "http://127.0.0.1:9/x",
                                       "webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}],
            "loans": [{"id": "loan-1", "lender_id": "lender-1", "borrower": "B"}],
            "assets": assets}


def reading(seq: int) -> dict[str, object]:
    return {"seq": seq, "ts_ms": T0 + seq * 1000, "lat": 31.2 + seq % 97 * 1e-5,
            "lon": 121.4 - seq % 89 * 1e-5, "speed_kmh": float(seq % 60), "heading_deg": 90.0,
            "gnss_fix": 3, "hdop": 0.9, "sats": 11, "ignition": seq % 2 == 0,
            "battery_v": 12.6, "ext_power": True, "tamper": False}


def device_lines(device: int, readings: int, per_message: int) -> bytes:
    out = []
    for first in range(1, readings + 1, per_message):
        batch = [reading(s) for s in range(first, min(first + per_message, readings + 1))]
        out.append(json.dumps({"v": 1, "device_id": f"dev-{device:03d}", "readings": batch},
                              separators=(",", ":")))
    return ("\n".join(out) + "\n").encode()


def open_sessions(broker: MosquittoHandle, config: Config, tag: str) -> list[str]:
    """Create the consumer's persistent session(s) and leave them offline."""
    ids = [f"{tag}-{i}" for i in range(max(1, config.workers))]
    for client_id in ids:
        v5 = config.mqtt_version == 5
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=MQTTProtocolVersion.MQTTv5 if v5 else
                             MQTTProtocolVersion.MQTTv311,
                             **({} if v5 else {"clean_session": False}))  # type: ignore[arg-type]
        if v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
            client.connect(broker.host, broker.port, clean_start=False, properties=props)
        else:
            client.connect(broker.host, broker.port)
        topic = f"$share/{tag}/telemetry/#" if config.workers == 2 else "telemetry/#"
        client.loop_start()
        client.subscribe(topic, qos=1)[1]
        time.sleep(0.3)
        client.disconnect()
        client.loop_stop()
    return ids


def close_sessions(broker: MosquittoHandle, ids: list[str]) -> None:
    """End the consumer's persistent sessions, so later backlogs are not queued for them."""
    for client_id in ids:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             clean_session=True)
        client.connect(broker.host, broker.port)
        client.disconnect()


def preload(broker: MosquittoHandle, total: int, per_message: int) -> float:
    """Publish ``total`` readings from DEVICES devices with mosquitto_pub, 16 at a time."""
    started = time.perf_counter()
    per_device = total // DEVICES
    pending = list(range(DEVICES))
    running: list[subprocess.Popen[bytes]] = []
    while pending or running:
        while pending and len(running) < 16:
            d = pending.pop()
            proc = subprocess.Popen(["mosquitto_pub", "-h", broker.host, "-p", str(broker.port),
                                     "-q", "1", "-l", "-t", f"telemetry/dev-{d:03d}"],
                                    stdin=subprocess.PIPE)
            assert proc.stdin is not None
            proc.stdin.write(device_lines(d, per_device, per_message))
            proc.stdin.close()
            running.append(proc)
        for proc in running[:]:
            if proc.poll() is not None:
                running.remove(proc)
        time.sleep(0.01)
    return time.perf_counter() - started


def count(influx: InfluxHandle, db: str) -> int:
    r = httpx.get(f"{influx.http_url}/query",
                  params={"db": db, "q": 'SELECT COUNT("seq") FROM "telemetry"'}, timeout=30)
    series = r.json()["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_consumers(broker: MosquittoHandle, influx: InfluxHandle, work: Path, config: Config,
                    ids: list[str], tag: str) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """A fresh database and the configuration's consumer processes; returns (db, procs)."""
    db = f"bench_{uuid.uuid4().hex[:8]}"
    httpx.post(f"{influx.http_url}/query", params={"q": f"CREATE DATABASE {db}"})
    env = {**os.environ, "CW_BROKER_URL": broker.url,
           "CW_STORE_URL": f"influxdb://{influx.host}:{influx.port}/{db}",
           "CW_REGISTRY_URL": f"sqlite:///{work}/registry.db", "CW_DATA_DIR": str(work / tag),
           "CW_LOG_LEVEL": "WARNING"}
    if config.kind == "naive":
        argvs = [[sys.executable, str(ROOT / "benchmarks/naive_subscriber.py"), broker.host,
                  str(broker.port), ids[0], influx.http_url, db]]
    elif config.kind == "nodered":
        argvs = [baseline_nodered.command(work / tag, free_port(), broker.host, broker.port,
                                          ids[0], influx.host, influx.port, db)]
    else:
        share = ["--share-group", tag] if config.workers == 2 else []
        argvs = [[sys.executable, "-m", "collateral.cli", "ingest", "--client-id", cid, *share,
                  "--mqtt-version", str(config.mqtt_version)] for cid in ids]
    if os.environ.get("BENCH_PROFILE"):  # py-spy collapsed stacks, for finding where time goes
        argvs = [[str(Path(sys.executable).parent / "py-spy"), "record", "-r", "250", "-f", "raw",
                  "-o", f"{os.environ['BENCH_PROFILE']}-{tag}-{i}.txt", "--", *a]
                 for i, a in enumerate(argvs)]
    with (work / f"{tag}.log").open("ab") as log:
        procs = [subprocess.Popen(a, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
                 for a in argvs]
    return db, procs


def stop_consumers(procs: list[subprocess.Popen[bytes]]) -> float:
    """Stop them; returns their CPU seconds (user + system)."""
    cpu = sum(cpu_seconds(p.pid) for p in procs)
    for p in procs:  # py-spy writes its profile on SIGINT
        p.send_signal(signal.SIGINT if os.environ.get("BENCH_PROFILE") else signal.SIGTERM)
    for p in procs:
        p.wait(60)
    return cpu


def drain(broker: MosquittoHandle, influx: InfluxHandle, work: Path, config: Config,
          ids: list[str], tag: str, total: int) -> dict[str, float]:
    if config.kind == "mosquitto_sub":
        return drain_mosquitto_sub(broker, ids, total)
    db, procs = start_consumers(broker, influx, work, config, ids, tag)
    first_t, first_n, n = 0.0, 0, 0
    deadline = time.monotonic() + 600
    while n < total and time.monotonic() < deadline:
        time.sleep(0.25)
        n = count(influx, db)
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"{config.name} exited during its drain: see {work / tag}.log")
        if n and not first_t:
            first_t, first_n = time.perf_counter(), n
    elapsed = time.perf_counter() - first_t
    cpu = stop_consumers(procs)
    close_sessions(broker, ids)
    time.sleep(1.0)
    final = count(influx, db)
    return {"rate": (total - first_n) / elapsed if n >= total else 0.0, "stored": final,
            "cpu_ms_per_1k": cpu / total * 1000 * 1000, "elapsed": elapsed}


def drain_mosquitto_sub(broker: MosquittoHandle, ids: list[str],
                        total: int) -> dict[str, float]:
    result = baseline_mosquitto_sub.drain(broker.host, broker.port, ids[0], total)
    close_sessions(broker, ids)
    return result


def live(broker: MosquittoHandle, influx: InfluxHandle, work: Path, config: Config, rate: int,
         seconds: float, per_message: int = 1) -> dict[str, float]:
    """Publish ``rate`` readings/s for ``seconds`` from 8 C publishers while the consumers run.

    Held means: every reading stored, and all of them within 5 s of the publishing's end.
    """
    tag = f"l{uuid.uuid4().hex[:6]}"
    ids = open_sessions(broker, config, tag)
    db, procs = start_consumers(broker, influx, work, config, ids, tag)
    time.sleep(3.0)  # connected and subscribed
    pubs = [subprocess.Popen(["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-q",
                              "1", "-l", "-t", f"telemetry/dev-{d:03d}"], stdin=subprocess.PIPE)
            for d in range(8)]
    per_pub = int(rate * seconds) // 8 // per_message * per_message
    lines = [device_lines(d, per_pub, per_message).splitlines(keepends=True) for d in range(8)]
    total = per_pub * 8
    started = time.perf_counter()
    sent, backlog_max, next_sample = 0, 0.0, started + 1
    while sent < len(lines[0]):
        due = min(len(lines[0]), int((time.perf_counter() - started) * rate / per_message / 8) + 1)
        for d, proc in enumerate(pubs):
            assert proc.stdin is not None
            proc.stdin.write(b"".join(lines[d][sent:due]))
            proc.stdin.flush()
        sent = due
        if time.perf_counter() >= next_sample:  # readings published but not yet stored
            backlog = sent * 8 * per_message - count(influx, db)
            backlog_max, next_sample = max(backlog_max, backlog), next_sample + 1
        time.sleep(0.005)
    for proc in pubs:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(60)
    published_s = time.perf_counter() - started
    n = count(influx, db)
    while n < total and time.perf_counter() - started < published_s + 30:
        time.sleep(0.25)
        n = count(influx, db)
    tail_s = time.perf_counter() - started - published_s
    cpu = stop_consumers(procs)
    close_sessions(broker, ids)
    return {"offered": total / published_s, "stored": n, "total": total, "tail_s": tail_s,
            "backlog_max_s": backlog_max / rate, "held": float(n == total and tail_s <= 5.0),
            "cpu_ms_per_1k": cpu / total * 1000 * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300_000, help="readings per drain")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--configs", nargs="*", choices=KINDS, metavar="KIND",
                        help=f"kinds of consumer to run (default all): {', '.join(KINDS)}")
    parser.add_argument("--only", nargs="*", help="configuration names to run")
    parser.add_argument("--live", type=int, nargs="*", metavar="RATE",
                        help="instead of drains: hold each publish RATE (readings/s)")
    parser.add_argument("--live-seconds", type=float, default=60.0)
    args = parser.parse_args()
    configs = [c for c in CONFIGS if (not args.only or c.name in args.only)
               and (not args.configs or c.kind in args.configs)]
    if any(c.kind == "nodered" for c in configs):
        baseline_nodered.ensure_installed()  # before any clock runs
    results: dict[str, list[dict[str, float]]] = {c.name: [] for c in configs}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        registry = Registry(f"sqlite:///{work}/registry.db")
        import_fleet(registry, fleet())
        registry.close()
        with start_mosquitto(work / "mq", BROKER_CONF) as broker, \
                start_influxd(work / "influx") as influx:
            if args.live:
                live_table(broker, influx, work, configs, args)
                return
            for run in range(args.runs):
                for config in configs:
                    tag = f"b{run}{configs.index(config)}{uuid.uuid4().hex[:4]}"
                    result = run_drain(broker, influx, work, config, tag, args.messages)
                    results[config.name].append(result)
                    print(f"run {run + 1} {config.name:26s} preload {result['preload_s']:5.1f} s"
                          f"  {result['rate']:8.0f} readings/s  stored {result['stored']:.0f}  "
                          f"cpu {result['cpu_ms_per_1k']:.0f} ms/1k  "
                          f"load {result['load']:.1f}", flush=True)
    print_table(configs, results, args.runs)


def run_drain(broker: MosquittoHandle, influx: InfluxHandle, work: Path, config: Config,
              tag: str, total: int) -> dict[str, float]:
    """One drain of ``total`` readings by ``config``, with the preload time and load average."""
    if config.kind == "influx":  # nothing to preload: the store alone
        batches = list(baseline_influx.bodies(DEVICES, total // DEVICES, reading))
        result = {**baseline_influx.drain(influx.http_url, batches, config.workers),
                  "preload_s": 0.0}
    else:
        ids = open_sessions(broker, config, tag)
        pub_s = preload(broker, total, config.per_message)
        result = {**drain(broker, influx, work, config, ids, tag, total), "preload_s": pub_s}
    return {**result, "load": os.getloadavg()[0]}


def print_table(configs: list[Config], results: dict[str, list[dict[str, float]]],
                runs: int) -> None:
    """Medians, each run's figure, and each run's rate over the baselines' of the same run."""
    ref = {k: results.get(n, []) for k, n in (("naive", "naive"), ("nodered", "node-red"))}
    print(f"\n| consumer | acknowledges | readings/s (median of {runs}) | runs | "
          "x naive | x node-red | ms CPU / 1,000 readings | load avg |")
    print("| --- | --- | ---: | --- | ---: | ---: | ---: | --- |")
    for config in configs:
        rows = results[config.name]
        rates = [r["rate"] for r in rows]
        ratios = []
        for base in ("naive", "nodered"):
            pairs = [r / b["rate"] for r, b in zip(rates, ref[base], strict=False) if b["rate"]]
            ratios.append(f"{statistics.median(pairs):.2f}" if pairs else "-")
        loads = [r["load"] for r in rows]
        cpu = statistics.median(r["cpu_ms_per_1k"] for r in rows)
        print(f"| {config.name} | {ACKS[config.kind]} | {statistics.median(rates):,.0f} | "
              f"{', '.join(f'{x:,.0f}' for x in rates)} | {ratios[0]} | {ratios[1]} | "
              f"{cpu:.{0 if cpu >= 10 else 1}f} | "
              f"{min(loads):.1f}-{max(loads):.1f} |")


def live_table(broker: MosquittoHandle, influx: InfluxHandle, work: Path, configs: list[Config],
               args: argparse.Namespace) -> None:
    rows = []
    for config in configs:
        if config.kind in ("mosquitto_sub", "influx"):
            print(f"live: {config.name} is a drain-only baseline, skipped", flush=True)
            continue
        for rate in args.live:
            for _run in range(args.runs):
                r = live(broker, influx, work, config, rate, args.live_seconds, config.per_message)
                rows.append((config.name, rate, r))
                print(f"live {config.name:18s} target {rate:6d}/s offered {r['offered']:7.0f}/s "
                      f"stored {r['stored']:.0f}/{r['total']:.0f} tail {r['tail_s']:4.1f} s "
                      f"max backlog {r['backlog_max_s']:4.1f} s held {bool(r['held'])} "
                      f"cpu {r['cpu_ms_per_1k']:.0f} ms/1k load {os.getloadavg()[0]:.1f}",
                      flush=True)
    print(f"\n| consumer | target readings/s | offered | stored / published | drained "
          f"{args.live_seconds:.0f} s run after | held |")
    print("| --- | ---: | ---: | --- | ---: | --- |")
    for name, rate, r in rows:
        print(f"| {name} | {rate:,} | {r['offered']:,.0f} | {r['stored']:,.0f} / "
              f"{r['total']:,.0f} | {r['tail_s']:.1f} s | {'yes' if r['held'] else 'no'} |")


if __name__ == "__main__":
    main()
