"""Node-RED as an ingest baseline: mqtt in -> function -> join -> influxdb batch.

What many users would build instead of our ingest, run headless by
bench_ingest.py as one more consumer process. The flow:

- ``mqtt in``: ``telemetry/#`` at QoS 1 on a persistent MQTT 3.1.1 session
  (clean session off, the benchmark's fixed client id), payload parsed as JSON.
  It acknowledges on receipt: mqtt.js (under Node-RED's MQTT nodes) sends the
  PUBACK as soon as it has emitted the message, before the flow has run, so
  a crash loses whatever was received but not yet written (checked: with
  InfluxDB unreachable it emptied a 2,000-message session and stored nothing).
- ``function``: one point per reading, in node-red-contrib-influxdb's batch
  format (``{measurement, tags, fields, timestamp}``), the device id as tag.
- ``join``: 5,000 points to an array, or what arrived within 1 s, because the
  ``influxdb batch`` node writes each incoming message as one request.
- ``influxdb batch``: InfluxDB 1.x ``writePoints`` at millisecond precision.

Node-RED and the InfluxDB nodes are installed from npm by
``scripts/install-bench-deps`` into ``$CW_BENCH_CACHE/nodered`` (default
``~/.cache/collateral-watch/nodered``), outside the repository.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

__all__ = ["ACKS", "command", "ensure_installed", "install_dir"]

ROOT = Path(__file__).resolve().parent.parent
ACKS = "auto-ack on receipt (mqtt.js PUBACK before the flow runs)"
BATCH = 5000
BATCH_TIMEOUT_S = 1

# One point per reading; several readings in a message become several messages.
SHAPE_POINTS = """
const device = msg.payload.device_id;
const out = [];
for (const r of msg.payload.readings) {
    const fields = {};
    for (const k in r) {
        if (k !== "ts_ms") { fields[k] = r[k]; }
    }
    out.push({payload: {measurement: "telemetry",
                        tags: {asset_id: device, device_id: device},
                        fields: fields, timestamp: r.ts_ms}});
}
return [out];
"""

SETTINGS = """module.exports = {
    uiHost: "127.0.0.1",
    uiPort: %(port)d,
    httpAdminRoot: false,
    httpNodeRoot: false,
    disableEditor: true,
    credentialSecret: false,
    flowFile: %(flow)s,
    userDir: %(user_dir)s,
    diagnostics: {enabled: false, ui: false},
    telemetry: {enabled: false, updateNotification: false},
    externalModules: {autoInstall: false},
    logging: {console: {level: "warn", metrics: false, audit: false}},
};
"""


def install_dir() -> Path:
    cache = os.environ.get("CW_BENCH_CACHE") or str(Path.home() / ".cache/collateral-watch")
    return Path(cache) / "nodered"


def ensure_installed() -> Path:
    """Node-RED's entry script, installing it first (scripts/install-bench-deps) if missing."""
    red = install_dir() / "node_modules/node-red/red.js"
    if not red.exists() or not any(install_dir().glob(".installed-*")):
        subprocess.run([str(ROOT / "scripts/install-bench-deps")], check=True)
    return red


def flow(broker_host: str, broker_port: int, client_id: str, influx_host: str,
         influx_port: int, db: str) -> list[dict[str, object]]:
    """The flow as Node-RED's JSON: a tab, the broker and InfluxDB config nodes, four nodes."""
    tab = "cwtab"
    return [
        {"id": tab, "type": "tab", "label": "collateral-watch baseline"},
        {"id": "cwbroker", "type": "mqtt-broker", "name": "bench broker", "broker": broker_host,
         "port": str(broker_port), "clientid": client_id, "autoConnect": True, "usetls": False,
         "protocolVersion": "4", "keepalive": "60", "cleansession": False},
        {"id": "cwinflux", "type": "influxdb", "hostname": influx_host, "port": str(influx_port),
         "protocol": "http", "database": db, "name": "bench influx", "usetls": False,
         "influxdbVersion": "1.x"},
        {"id": "cwin", "type": "mqtt in", "z": tab, "name": "telemetry", "topic": "telemetry/#",
         "qos": "1", "datatype": "json", "broker": "cwbroker", "nl": False, "rap": True,
         "rh": 0, "inputs": 0, "wires": [["cwshape"]]},
        {"id": "cwshape", "type": "function", "z": tab, "name": "readings to points",
         "func": SHAPE_POINTS, "outputs": 1, "wires": [["cwjoin"]]},
        {"id": "cwjoin", "type": "join", "z": tab, "name": f"batch {BATCH}", "mode": "custom",
         "build": "array", "property": "payload", "propertyType": "msg", "key": "topic",
         "joiner": "\\n", "joinerType": "str", "accumulate": False,
         "timeout": str(BATCH_TIMEOUT_S), "count": str(BATCH), "reduceRight": False,
         "useparts": False, "wires": [["cwwrite"]]},
        {"id": "cwwrite", "type": "influxdb batch", "z": tab, "influxdb": "cwinflux",
         "precision": "ms", "retentionPolicy": "", "name": "write", "wires": []},
    ]


def command(work: Path, ui_port: int, broker_host: str, broker_port: int, client_id: str,
            influx_host: str, influx_port: int, db: str) -> list[str]:
    """Write the flow and a headless settings file under ``work``; the argv that runs them."""
    red = ensure_installed()
    work.mkdir(parents=True, exist_ok=True)
    flow_file = work / "flows.json"
    flow_file.write_text(json.dumps(flow(broker_host, broker_port, client_id, influx_host,
                                         influx_port, db), indent=1))
    settings = work / "settings.js"
    settings.write_text(SETTINGS % {"port": ui_port, "flow": json.dumps(str(flow_file)),
                                    "user_dir": json.dumps(str(work))})
    return ["node", str(red), "--settings", str(settings), "--userDir", str(work),
            str(flow_file)]
