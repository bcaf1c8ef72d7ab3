"""The ``collateral`` command: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from collateral import offline_cmd, simulate_cmd
from collateral.settings import Settings

__all__ = ["main"]

log = logging.getLogger("collateral")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    settings = _settings(args)
    _setup_logging(settings.log_level)
    try:
        code: int = args.handler(settings, args)
    except KeyboardInterrupt:
        return 130
    except (ValueError, OSError) as exc:
        print(f"collateral: error: {exc}", file=sys.stderr)
        return 2
    return code


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        key: value
        for key in ("broker_url", "store_url", "registry_url", "data_dir", "api_host", "api_port",
                    "log_level")
        if (value := getattr(args, key, None)) is not None
    }
    return Settings(**overrides)


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(),
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for noisy in ("amqtt", "transitions", "httpx", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker-url", "--broker", help="mqtt://host:port (default: env CW_BROKER_URL, "
                                        "else the embedded broker where one is started)")
    p.add_argument("--store-url", help="influxdb://user:pass@host:8086/db (default: embedded)")
    p.add_argument("--registry-url", help="SQLAlchemy URL (default: SQLite in the data dir)")
    p.add_argument("--data-dir", type=Path, help="where embedded data lives (default: ./var)")
    p.add_argument("--log-level", help="DEBUG, INFO, WARNING (default: INFO)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="collateral", description=__doc__)
    sub = parser.add_subparsers(metavar="COMMAND")

    def command(name: str, handler: Callable[[Settings, argparse.Namespace], int],
                help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p)
        p.set_defaults(handler=handler)
        return p

    demo = command("demo", _cmd_demo, "run the whole platform with a simulated fleet")
    demo.add_argument("--duration", type=float, help="stop after SECONDS (default: run until ^C)")
    demo.add_argument("--summary-json", type=Path, help="write the run's summary to FILE")
    demo.add_argument("--assets", type=int, default=300)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--speed", type=float, default=720.0,
                      help="device seconds per wall second (default 720: a day in 2 minutes)")
    demo.add_argument("--api-port", type=int, help="API port (default 8000; a free one if taken)")

    run = command("run", _cmd_run, "run broker (embedded unless --broker-url), ingest, "
                                   "monitor, webhooks and the API in one process")
    run.add_argument("--api-port", type=int)

    sim = command("simulate", _cmd_simulate, "publish a simulated fleet to a broker")
    simulate_cmd.add_arguments(sim)

    ing = command("ingest", _cmd_ingest, "consume telemetry from the broker into the store")
    ing.add_argument("--client-id", default="cw-ingest",
                     help="MQTT client id: the persistent session that survives restarts")
    ing.add_argument("--share-group", help="MQTT 5 shared-subscription group: workers started "
                                           "with the same group (and distinct client ids) split "
                                           "the load")
    ing.add_argument("--mqtt-version", type=int, choices=[3, 5],
                     help="3 (3.1.1) or 5 (default: 5 with --share-group, else 3)")
    mon = command("monitor", _cmd_monitor, "run detectors, alerts and webhook delivery")
    mon.add_argument("--partitions", help="comma-separated hand-off partitions to own "
                                          "(default: all)")
    mon.add_argument("--client-id", default="cw-monitor")
    serve = command("serve", _cmd_serve, "serve the API and dashboard")
    serve.add_argument("--api-host")
    serve.add_argument("--api-port", type=int)

    reg = command("registry", _cmd_registry, "import or export the registry")
    reg.add_argument("action", choices=["import", "export", "init"])
    reg.add_argument("file", nargs="?", type=Path, help="fleet YAML (import) or output (export)")

    tok = command("token", _cmd_token, "mint an API token (the first admin's, or any user's)")
    tok.add_argument("action", choices=["create"])
    tok.add_argument("--user", default="admin", help="user id (made if missing)")
    tok.add_argument("--role", default="admin",
                     choices=["admin", "analyst", "lender", "provisioner"])
    tok.add_argument("--lender", help="the user's lender (lender and analyst roles)")
    tok.add_argument("--name", default="cli", help="what the token is for")
    bro = command("broker", _cmd_broker, "rebuild Mosquitto's password file and ACL "
                                         "from the device registry and reload it")
    bro.add_argument("action", choices=["sync"])
    offline_cmd.add_commands(command)  # backtest, score-series, evaluate (issue 5)

    dl = command("deadletters", _cmd_deadletters, "list dead letters, or replay them after a fix "
                                                  "(published again on their topic)")
    dl.add_argument("action", choices=["list", "replay"])
    dl.add_argument("--limit", type=int, default=20)
    dl.add_argument("--reason", help="replay only dead letters of this reason")
    dl.add_argument("--id", type=int, action="append", dest="ids", help="replay this one "
                                                                        "(repeatable)")
    return parser


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(_sig: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def _cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from collateral.demo import DemoOptions, run_demo

    options = DemoOptions(assets=args.assets, seed=args.seed, speed=args.speed,
                          duration_s=args.duration, summary_json=args.summary_json)
    summary = run_demo(settings, options, _stop_on_signals())
    print(json.dumps(summary, indent=2))
    return 0


def _cmd_run(settings: Settings, _args: argparse.Namespace) -> int:
    from collateral.platform import Platform

    stop = _stop_on_signals()
    platform = Platform(settings)
    platform.start_broker()
    platform.start_services()
    print(f"broker {platform.broker_url}  dashboard {platform.api_url}/  (^C to stop)")
    stop.wait()
    platform.stop()
    return 0


def _require_broker(settings: Settings) -> str:
    if not settings.broker_url:
        raise ValueError("set --broker-url or CW_BROKER_URL (the embedded broker runs only "
                         "inside `collateral run` and `collateral demo`)")
    return settings.broker_url


def _cmd_simulate(settings: Settings, args: argparse.Namespace) -> int:
    return simulate_cmd.run(settings, args, _stop_on_signals())


def _cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    from collateral.wiring import (
        broker_endpoint,
        ingest_config,
        open_registry,
        open_telemetry_store,
    )
    from ingest.service import IngestService, tune_gc

    # MQTT 5 for a shared subscription, as the standard has it; Mosquitto, EMQX and
    # HiveMQ also serve $share to 3.1.1 clients, for which paho costs half as much.
    version = args.mqtt_version or (5 if args.share_group else 3)
    endpoint = broker_endpoint(_require_broker(settings), protocol=5 if version == 5 else 4)
    stop = _stop_on_signals()
    config = ingest_config(settings, client_id=args.client_id, share_group=args.share_group)
    service = IngestService(endpoint, open_telemetry_store(settings), open_registry(settings),
                            config)
    service.start()
    tune_gc()
    stop.wait()
    service.stop()
    print(json.dumps(service.stats.as_dict()))
    return 0


def _cmd_monitor(settings: Settings, args: argparse.Namespace) -> int:
    from collateral.wiring import broker_endpoint, open_registry
    from monitor.coverage_watch import CoverageWatch
    from monitor.service import MonitorConfig, MonitorService
    from monitor.webhooks import WebhookDispatcher

    parts = _partitions(args.partitions, settings.partitions) if args.partitions else None
    endpoint = broker_endpoint(_require_broker(settings))
    stop = _stop_on_signals()
    registry = open_registry(settings)
    service = MonitorService(endpoint, registry,
                             MonitorConfig(client_id=args.client_id, partitions=parts,
                                           total_partitions=settings.partitions))
    service.start()
    dispatcher = WebhookDispatcher(registry, allow_private=settings.webhook_allow_private,
                                   keep_days=settings.webhook_keep_days,
                                   coverage=CoverageWatch(registry, settings.partitions))
    dispatcher.run_forever(stop)
    service.stop()
    return 0


def _partitions(text: str, total: int) -> list[int]:
    """``--partitions 0,1,5`` checked against ``CW_PARTITIONS``: a worker given a number
    no reading is handed off to would watch nothing and say it watches it.

    >>> _partitions("3, 1", 16)
    [1, 3]
    >>> _partitions("16", 16)
    Traceback (most recent call last):
    ValueError: --partitions: 16 is not one of 0..15 (CW_PARTITIONS=16)
    """
    parts: set[int] = set()
    for item in text.split(","):
        word = item.strip()
        if not word.isdigit():
            raise ValueError(f"--partitions: {word!r} is not a partition number")
        if int(word) >= total:
            raise ValueError(f"--partitions: {word} is not one of 0..{total - 1} "
                             f"(CW_PARTITIONS={total})")
        if int(word) in parts:
            raise ValueError(f"--partitions: {word} is named twice")
        parts.add(int(word))
    return sorted(parts)


def _cmd_serve(settings: Settings, _args: argparse.Namespace) -> int:
    import uvicorn

    from collateral.wiring import api_options, open_registry, open_telemetry_store
    from dashboards.app import create_app

    app = create_app(open_registry(settings), open_telemetry_store(settings),
                     options=api_options(settings))
    uvicorn.run(app, host=settings.api_host, port=settings.api_port, log_level="info")
    return 0


def _cmd_registry(settings: Settings, args: argparse.Namespace) -> int:
    from collateral.wiring import open_registry
    from registry import RegistryError, export_fleet, import_fleet_file

    registry = open_registry(settings)
    try:
        if args.action == "import":
            if args.file is None:
                raise ValueError("registry import needs a FILE")
            summary = import_fleet_file(registry, args.file, actor="cli")
            print(f"imported {summary.lenders} lenders, {summary.loans} loans, "
                  f"{summary.assets} assets, {summary.devices} devices")
        elif args.action == "export":
            text = yaml.safe_dump(export_fleet(registry), sort_keys=False)
            if args.file is None:
                sys.stdout.write(text)
            else:
                # It holds the lenders' webhook secrets: readable by its owner only.
                args.file.touch(mode=0o600)
                args.file.chmod(0o600)
                args.file.write_text(text)
        else:
            print(f"registry ready at {settings.resolved_registry_url()}")
    except RegistryError as exc:
        print(f"collateral: {exc}", file=sys.stderr)
        return 1
    finally:
        registry.close()
    return 0


def _cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    from collateral.wiring import open_registry
    from registry.tokens import issue_token

    if args.role in ("lender", "analyst") and not args.lender:
        raise ValueError(f"a {args.role} user needs --lender")
    registry = open_registry(settings)
    try:
        with registry.session() as session:
            print(issue_token(session, args.user, args.role, args.lender, args.name))
    finally:
        registry.close()
    return 0


def _cmd_broker(settings: Settings, _args: argparse.Namespace) -> int:
    from collateral.wiring import broker_auth, open_registry

    auth = broker_auth(settings)
    if auth is None:
        raise ValueError("set CW_BROKER_PASSWORD_FILE and CW_BROKER_ACL_FILE")
    registry = open_registry(settings)
    try:
        print(f"{auth.sync(registry)} devices written to {auth.password_file}")
    finally:
        registry.close()
    return 0


def _cmd_deadletters(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from collateral.wiring import open_registry
    from registry.models import DeadLetter

    if args.action == "replay":
        return _replay_dead_letters(settings, args)
    registry = open_registry(settings)
    with registry.session() as session:
        rows = session.scalars(select(DeadLetter).order_by(DeadLetter.id.desc())
                               .limit(args.limit)).all()
        for row in rows:
            preview = row.payload[:80].decode("utf-8", "replace")
            print(f"{row.id}\t{row.received_at:%Y-%m-%d %H:%M:%S}\t{row.reason}\t{row.topic}\t"
                  f"{row.detail[:80]}\t{preview!r}")
    registry.close()
    return 0


def _replay_dead_letters(settings: Settings, args: argparse.Namespace) -> int:
    from collateral.wiring import broker_endpoint, open_registry
    from ingest.mqtt import connect_publisher
    from ingest.replay import pending_dead_letters, replay_dead_letters

    endpoint = broker_endpoint(_require_broker(settings))
    registry = open_registry(settings)
    items = pending_dead_letters(registry, args.reason, args.ids, args.limit)
    client = connect_publisher(endpoint, "cw-deadletter-replay")

    def publish(topic: str, payload: bytes) -> None:
        client.publish(topic, payload, qos=1).wait_for_publish(30)

    def progress(done: int) -> None:
        if done % 100 == 0 or done == len(items):
            print(f"replayed {done}/{len(items)}", file=sys.stderr)

    try:
        replayed = replay_dead_letters(registry, items, publish, progress)
    finally:
        client.disconnect()
        client.loop_stop()
        registry.close()
    print(json.dumps({"replayed": replayed}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
