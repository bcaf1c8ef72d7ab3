from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from collateral.cli import main
from tests.registry.test_fleet_io import fleet


def test_registry_import_then_export_round_trips(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "fleet.yaml"
    source.write_text(yaml.safe_dump(fleet()))
    data_dir = ["--data-dir", str(tmp_path / "var")]
    assert main(["registry", "import", str(source), *data_dir]) == 0
    assert "imported 1 lenders, 1 loans, 2 assets, 2 devices" in capsys.readouterr().out
    out = tmp_path / "out.yaml"
    assert main(["registry", "export", str(out), *data_dir]) == 0
    exported = yaml.safe_load(out.read_text())
    assert [a["id"] for a in exported["assets"]] == ["a1", "a2"]
    assert (tmp_path / "var" / "registry.db").exists()
    assert out.stat().st_mode & 0o777 == 0o600  # it carries webhook secrets


def test_registry_import_of_a_bad_file_fails_clearly(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    bad = fleet()
    bad["assets"][0]["loan_id"] = "missing"
    source = tmp_path / "fleet.yaml"
    source.write_text(yaml.safe_dump(bad))
    assert main(["registry", "import", str(source), "--data-dir", str(tmp_path)]) == 1
    assert "unknown loan 'missing'" in capsys.readouterr().err


def test_services_need_a_broker_url(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CW_BROKER_URL", raising=False)
    assert main(["ingest", "--data-dir", str(tmp_path)]) == 2
    assert "CW_BROKER_URL" in capsys.readouterr().err


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


@pytest.mark.parametrize(("given", "said"), [
    ("0,16", "16 is not one of 0..15 (CW_PARTITIONS=16)"),
    ("0,a", "'a' is not a partition number"),
    ("2,2", "2 is named twice")])
def test_a_monitor_given_partitions_no_reading_goes_to_refuses_to_start(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], given: str, said: str) -> None:
    # Refused before anything is opened: no broker is asked for, no registry is made.
    assert main(["monitor", "--partitions", given, "--data-dir", str(tmp_path)]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "registry.db").exists()


def test_the_service_checks_its_partitions_too() -> None:
    from ingest.mqtt import MqttEndpoint
    from monitor.service import MonitorConfig, MonitorService

    with pytest.raises(ValueError, match="not all within 0..3"):
        MonitorService(MqttEndpoint("127.0.0.1", 1), None,  # type: ignore[arg-type]
                       MonitorConfig(partitions=[1, 4], total_partitions=4))
