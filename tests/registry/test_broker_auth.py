"""Device credentials against a real Mosquitto: a device speaks only for itself,
an unknown client cannot connect, and a revoked device is shut out after reload."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from registry import Registry, import_fleet
from registry.broker_auth import BrokerAuth, ServiceAccount, hash_password
from registry.models import Device
from tests.integration.helpers import wait_for
from tests.servers import MOSQUITTO, MosquittoHandle, require_binary, start_mosquitto

pytestmark = pytest.mark.integration

READER_PASSWORD = "reader-pass-123"


def _fleet() -> dict[str, object]:
    site = {"lat": 31.2, "lon": 121.4, "radius_m": 500}
    return {"version": 1, "lenders": [{"id": "l1", "name": "L1"}],
            "loans": [{"id": "n1", "lender_id": "l1", "borrower": "B"}],
            "assets": [{"id": "a1", "kind": "truck", "name": "T1", "loan_id": "n1", "site": site,
                        "device_id": "trk-1"},
                       {"id": "a2", "kind": "truck", "name": "T2", "loan_id": "n1", "site": site,
                        "device_id": "trk-2"}]}


@pytest.fixture()
def setup(tmp_path: Path) -> Iterator[tuple[Registry, BrokerAuth, MosquittoHandle]]:
    registry = Registry(f"sqlite:///{tmp_path}/r.db")
    import_fleet(registry, _fleet())
    with registry.session() as session:
        for device_id in ("trk-1", "trk-2"):
            device = session.get(Device, device_id)
            assert device is not None
            device.mqtt_password_hash = hash_password(f"pw-{device_id}")
    auth = BrokerAuth(tmp_path / "passwd", tmp_path / "acl", tmp_path / "mosquitto.pid",
                      services=[ServiceAccount("reader", hash_password(READER_PASSWORD),
                                               ["topic read telemetry/#"])])
    auth.sync(registry)
    conf = (f"allow_anonymous false\npassword_file {auth.password_file}\n"
            f"acl_file {auth.acl_file}\npid_file {auth.pid_file}\n")
    with start_mosquitto(tmp_path, extra_conf=conf, binary=require_binary(MOSQUITTO)) as broker:
        yield registry, auth, broker
    registry.close()


def _connect(broker: MosquittoHandle, username: str | None, password: str | None,
             client_id: str) -> tuple[mqtt.Client, ReasonCode | None]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)
    if username is not None:
        client.username_pw_set(username, password)
    result: list[ReasonCode] = []
    done = threading.Event()

    def on_connect(_c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        result.append(rc)
        done.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port)
    client.loop_start()
    done.wait(10)
    return client, (result[0] if result else None)


def _stop(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


def test_device_publishes_only_as_itself(setup: tuple[Registry, BrokerAuth,
                                                      MosquittoHandle]) -> None:
    _, _, broker = setup
    received: list[str] = []
    reader, rc = _connect(broker, "reader", READER_PASSWORD, "reader")
    assert rc is not None and not rc.is_failure
    reader.on_message = lambda _c, _u, msg: received.append(f"{msg.topic}={msg.payload.decode()}")
    reader.subscribe("telemetry/#", qos=1)
    time.sleep(0.3)
    device, rc = _connect(broker, "trk-1", "pw-trk-1", "trk-1")
    assert rc is not None and not rc.is_failure
    own = device.publish("telemetry/trk-1", "mine", qos=1)
    forged = device.publish("telemetry/trk-2", "forged", qos=1)
    own.wait_for_publish(5)
    forged.wait_for_publish(5)
    wait_for(lambda: "telemetry/trk-1=mine" in received, timeout_s=10)
    time.sleep(0.5)  # the forged message, had it passed, would be here by now
    assert received == ["telemetry/trk-1=mine"]
    _stop(device)
    _stop(reader)


@pytest.mark.parametrize(("username", "password"), [
    (None, None), ("trk-9", "whatever"), ("trk-1", "pw-trk-2")])
def test_unknown_or_wrong_client_cannot_connect(
        setup: tuple[Registry, BrokerAuth, MosquittoHandle], username: str | None,
        password: str | None) -> None:
    _, _, broker = setup
    client, rc = _connect(broker, username, password, "intruder")
    assert rc is not None and rc.is_failure
    client.loop_stop()


def test_revoked_device_is_refused_after_reload(
        setup: tuple[Registry, BrokerAuth, MosquittoHandle]) -> None:
    registry, auth, broker = setup
    with registry.session() as session:
        device = session.get(Device, "trk-2")
        assert device is not None
        device.mqtt_password_hash = None
    assert auth.sync(registry) == 1
    assert "trk-2" not in auth.password_file.read_text()

    def refused() -> bool:
        client, rc = _connect(broker, "trk-2", "pw-trk-2", "trk-2")
        client.loop_stop()
        if rc is not None and not rc.is_failure:
            client.disconnect()
        return rc is not None and rc.is_failure

    wait_for(refused, timeout_s=10)


def test_provisioning_through_the_api_issues_working_credentials(
        setup: tuple[Registry, BrokerAuth, MosquittoHandle], tmp_path: Path) -> None:
    from dashboards.app import create_app
    from dashboards.deps import ApiOptions
    from ingest.store.embedded import EmbeddedStore
    from registry.access import Role
    from tests.dashboards.conftest import TestClient, auth, make_token

    registry, broker_auth, broker = setup
    import_fleet(registry, {**_fleet(), "assets": [
        *_fleet()["assets"],  # type: ignore[list-item]
        {"id": "a3", "kind": "plant", "name": "P3", "loan_id": "n1",
         "site": {"lat": 31.0, "lon": 121.0, "radius_m": 300}}]})
    token = make_token(registry, "pete", Role.PROVISIONER, "l1")
    with EmbeddedStore(tmp_path / "t.db") as store, TestClient(
            create_app(registry, store, options=ApiOptions(broker_auth=broker_auth)),
            headers=auth(token)) as client:
        created = client.post("/api/devices", json={"id": "plt-3", "asset_id": "a3"})
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["publish_topics"] == ["telemetry/plt-3", "status/plt-3"]
        wait_for(lambda: _connect_ok(broker, "plt-3", body["mqtt_password"]), timeout_s=10)
        assert client.delete("/api/devices/plt-3/credentials").status_code == 204
        wait_for(lambda: not _connect_ok(broker, "plt-3", body["mqtt_password"]), timeout_s=10)


def _connect_ok(broker: MosquittoHandle, username: str, password: str) -> bool:
    client, rc = _connect(broker, username, password, f"{username}-probe")
    ok = rc is not None and not rc.is_failure
    if ok:
        client.disconnect()
    client.loop_stop()
    return ok
