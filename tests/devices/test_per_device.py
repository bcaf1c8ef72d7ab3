"""One MQTT connection per device, on its own credentials, behind a password file and ACL."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from collateral.cli import main
from devices.fleet import dump_fleet, generate_fleet
from devices.link import LinkSettings, MqttLink, device_password
from devices.publisher import PublishError, PublishOptions, run_simulation
from devices.schema import fleet_devices
from tests.servers import MosquittoHandle, require_binary, start_mosquitto

SECRET = "test-provisioning-secret"
ADMIN = ("watcher", "watcher-pw")
SPARE = "trk-spare"  # a provisioned tracker that is not in the fleet


@pytest.fixture(scope="module")
def fleet() -> dict[str, Any]:
    return generate_fleet(8, seed=3)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory,
           fleet: dict[str, Any]) -> Iterator[MosquittoHandle]:
    root = tmp_path_factory.mktemp("auth-broker")
    passwd, acl = root / "passwd", root / "acl"
    passwd.write_text("")
    ids = [*(d for d, _ in fleet_devices(fleet)), SPARE]
    users = [ADMIN, *((d, device_password(SECRET, d)) for d in ids)]
    tool = shutil.which("mosquitto_passwd")
    if tool is None:  # ships with mosquitto on Debian/Ubuntu
        pytest.skip("mosquitto_passwd is not installed")
    for user, password in users:
        subprocess.run([tool, "-b", str(passwd), user, password], check=True)
    acl.write_text(f"user {ADMIN[0]}\ntopic read #\n\n"
                   "pattern write telemetry/%u\npattern write status/%u\n")
    conf = f"allow_anonymous false\npassword_file {passwd}\nacl_file {acl}\n"
    with start_mosquitto(root, extra_conf=conf,
                         binary=require_binary("mosquitto")) as handle:
        yield handle


class Watcher:
    def __init__(self, port: int) -> None:
        self.got: list[tuple[str, bytes]] = []
        self._lock, ready = threading.Lock(), threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"w{time.time_ns()}")
        self.client.username_pw_set(*ADMIN)
        self.client.on_connect = lambda c, *_: (c.subscribe("#", qos=1), ready.set())
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert ready.wait(10)
        time.sleep(0.3)

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.got.append((message.topic, bytes(message.payload)))

    def topics(self, prefix: str) -> list[tuple[str, bytes]]:
        with self._lock:
            return [m for m in self.got if m[0].startswith(prefix)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.integration
def test_each_device_publishes_as_itself(broker: MosquittoHandle, fleet: dict[str, Any]) -> None:
    watcher = Watcher(broker.port)
    try:
        stats = run_simulation(fleet, seed=3, speed=3600, host=broker.host, port=broker.port,
                               start_ms=time.time_ns() // 1_000_000 - 2 * 3_600_000,
                               duration_s=2.0, options=PublishOptions(device_secret=SECRET))
        time.sleep(1.0)
        telemetry = watcher.topics("telemetry/")
        assert stats.published == stats.acked == len(telemetry) > 50
        status = dict(watcher.topics("status/"))
        assert set(status) == {f"status/{d}" for d, _ in fleet_devices(fleet)}
    finally:
        watcher.close()


@pytest.mark.integration
def test_wrong_secret_is_refused(broker: MosquittoHandle, fleet: dict[str, Any]) -> None:
    with pytest.raises(PublishError, match="cannot connect"):
        run_simulation(fleet, seed=3, speed=3600, host=broker.host, port=broker.port,
                       duration_s=1.0, options=PublishOptions(device_secret="wrong",
                                                              connect_timeout_s=3))


@pytest.mark.integration
def test_broker_announces_a_vanished_device_by_its_last_will(broker: MosquittoHandle,
                                                            fleet: dict[str, Any]) -> None:
    device = SPARE
    watcher = Watcher(broker.port)
    link = MqttLink(device, LinkSettings(broker.host, broker.port, device,
                                         device_password(SECRET, device),
                                         will=(f"status/{device}", b"offline")))
    try:
        link.start()
        assert link.connected.wait(10)
        link.publish(f"status/{device}", b"online", retain=True)
        time.sleep(0.5)
        link.client.loop_stop()  # the tracker loses power: no DISCONNECT ...
        sock = link.client.socket()
        assert sock is not None
        sock.shutdown(socket.SHUT_RDWR)  # ... the line drops, and the broker sends the will
        deadline = time.monotonic() + 10
        while (f"status/{device}", b"offline") not in watcher.got and time.monotonic() < deadline:
            time.sleep(0.1)
        assert watcher.topics(f"status/{device}")[-1] == (f"status/{device}", b"offline")
    finally:
        link.stop()
        watcher.close()


@pytest.mark.integration
def test_cli_runs_one_connection_per_device(broker: MosquittoHandle, fleet: dict[str, Any],
                                            tmp_path: Path) -> None:
    dump_fleet(fleet, tmp_path / "fleet.yaml")
    (tmp_path / "secret").write_text(SECRET + "\n")
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["simulate", "--fleet", str(tmp_path / "fleet.yaml"), "--seed", "3",
                     "--broker", broker.url, "--speed", "3600", "--duration", "1.5",
                     "--device-secret-file", str(tmp_path / "secret")])
    assert code == 0
    counts = json.loads(out.getvalue())
    assert counts["published"] == counts["acked"] > 20


@pytest.mark.integration
def test_cli_takes_registry_issued_passwords_from_a_file(broker: MosquittoHandle,
                                                        fleet: dict[str, Any],
                                                        tmp_path: Path) -> None:
    dump_fleet(fleet, tmp_path / "fleet.yaml")
    lines = [f"{d}:{device_password(SECRET, d)}" for d, _ in fleet_devices(fleet)]
    (tmp_path / "creds").write_text("# device:password\n" + "\n".join(lines) + "\n")
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["simulate", "--fleet", str(tmp_path / "fleet.yaml"), "--seed", "3",
                     "--broker", broker.url, "--speed", "3600", "--duration", "1.5",
                     "--device-credentials", str(tmp_path / "creds")]) == 0
    counts = json.loads(out.getvalue())
    assert counts["published"] == counts["acked"] > 20
    (tmp_path / "creds").write_text(lines[0] + "\nno-colon-here\n")
    assert main(["simulate", "--fleet", str(tmp_path / "fleet.yaml"), "--broker", broker.url,
                 "--device-credentials", str(tmp_path / "creds")]) == 2
