"""``collateral simulate``: generate a fleet file, or play one to a broker (and record it)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from collateral.settings import Settings, parse_broker_url

if TYPE_CHECKING:
    from devices.publisher import PublishOptions

__all__ = ["add_arguments", "run"]

_DAY_S = 86_400


def add_arguments(sim: argparse.ArgumentParser) -> None:
    sim.add_argument("--fleet", type=Path, help="fleet YAML (see --generate)")
    sim.add_argument("--generate", type=int, metavar="N",
                     help="print a generated fleet of N assets as YAML and exit")
    sim.add_argument("--kinds", help="with --generate: comma-separated asset kinds to include "
                                     "(default: all)")
    sim.add_argument("--library", action="store_true",
                     help="with --generate: script the incident library and benign look-alikes "
                          "(labelled; see README) instead of the demo's four incidents")
    sim.add_argument("--days", type=float, default=7.0,
                     help="with --library: device days the scenarios are spread over")
    sim.add_argument("--seed", type=int, default=7)
    sim.add_argument("--speed", type=float, default=1.0)
    sim.add_argument("--duration", type=float, help="wall seconds to run")
    sim.add_argument("--start-ms", type=int,
                     help="device time (epoch ms) to start at (default: the fleet's "
                          "simulation.start_ms, else so the run ends now)")
    sim.add_argument("--record", type=Path, metavar="DIR",
                     help="write messages.jsonl, labels.jsonl and fleet.yaml to DIR")
    sim.add_argument("--offline", action="store_true",
                     help="with --record: no broker, simulate the labelled fleet's whole "
                          "simulation.duration_s (or --days) as fast as possible")
    sim.add_argument("--realism", choices=["clean", "field"], default="clean",
                     help="field: heavy-tailed GNSS, no-fix spells, clock drift, dead zones, "
                          "resends, satellite bursts (devices/realism.py); default: clean")
    sim.add_argument("--connections", type=int, default=2,
                     help="MQTT connections the devices are multiplexed over (default 2)")
    sim.add_argument("--device-secret-file", type=Path, metavar="FILE",
                     help="one connection per device instead: user = device id, password "
                          "derived from the secret in FILE, last will on status/{device_id}")
    sim.add_argument("--device-credentials", type=Path, metavar="FILE",
                     help="one connection per device, passwords from FILE: one "
                          "'device_id:password' a line (as the registry issued them)")
    sim.add_argument("--webhook-base-url", default="http://127.0.0.1:8765/webhooks")


def run(settings: Settings, args: argparse.Namespace, stop: threading.Event) -> int:
    from devices.fleet import dump_fleet, load_fleet

    if args.generate is not None:
        dump_fleet(_generate(args), sys.stdout)
        return 0
    if args.fleet is None:
        raise ValueError("give --fleet FILE (or --generate N to make one)")
    fleet = load_fleet(args.fleet)
    if args.offline:
        return _offline(fleet, args)
    from devices.publisher import run_simulation

    if not settings.broker_url:
        raise ValueError("set --broker-url or CW_BROKER_URL (or use --record DIR --offline)")
    address = parse_broker_url(settings.broker_url)
    stats = run_simulation(fleet, seed=args.seed, speed=args.speed, host=address.host,
                           port=address.port, start_ms=args.start_ms, duration_s=args.duration,
                           stop_event=stop, mqtt_username=address.username,
                           mqtt_password=address.password, record_dir=args.record,
                           options=_options(args))
    sys.stdout.write(json.dumps({"published": stats.published, "acked": stats.acked}) + "\n")
    return 0


def _options(args: argparse.Namespace) -> PublishOptions:
    from devices.publisher import PublishOptions

    if args.connections < 1:
        raise ValueError("--connections must be at least 1")
    secret = None
    if args.device_secret_file is not None:
        secret = args.device_secret_file.read_text(encoding="utf-8").strip()
        if not secret:
            raise ValueError(f"{args.device_secret_file} holds no secret")
    passwords = None
    if args.device_credentials is not None:
        passwords = _credentials(args.device_credentials)
    return PublishOptions(connections=args.connections, device_secret=secret,
                          device_passwords=passwords, realism=args.realism)


def _credentials(path: Path) -> dict[str, str]:
    out = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        device_id, sep, password = line.strip().partition(":")
        if not sep or not device_id or not password:
            raise ValueError(f"{path}:{number}: expected 'device_id:password'")
        out[device_id] = password
    return out


def _generate(args: argparse.Namespace) -> dict[str, object]:
    from devices.fleet import generate_fleet
    from devices.library import labelled_fleet

    kinds = tuple(k.strip() for k in args.kinds.split(",")) if args.kinds else None
    options = {"webhook_base_url": args.webhook_base_url, "kinds": kinds}
    if not args.library:
        return generate_fleet(args.generate, seed=args.seed, **options)
    start_ms = args.start_ms
    if start_ms is None:  # so that a run at any speed can reach the end without passing "now"
        start_ms = (time.time_ns() // 1_000_000 - int(args.days * _DAY_S * 1000)) // 60_000 * 60_000
    return labelled_fleet(args.generate, args.seed, start_ms, args.days * _DAY_S, **options)


def _offline(fleet: dict[str, object], args: argparse.Namespace) -> int:
    from devices.record import record_offline

    if args.record is None:
        raise ValueError("--offline needs --record DIR")
    simulation = fleet.get("simulation")
    section = simulation if isinstance(simulation, dict) else {}
    start_ms = args.start_ms or section.get("start_ms")
    if start_ms is None:
        raise ValueError("--offline needs --start-ms or a fleet with simulation.start_ms")
    duration_s = float(section.get("duration_s") or args.days * _DAY_S)
    count = record_offline(fleet, args.seed, int(start_ms), int(start_ms + duration_s * 1000),
                           args.record, realism=args.realism)
    sys.stdout.write(json.dumps({"recorded": count, "dir": str(args.record)}) + "\n")
    return 0
