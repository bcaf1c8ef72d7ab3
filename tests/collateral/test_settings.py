from __future__ import annotations

from pathlib import Path

import pytest

from collateral.settings import Settings, parse_broker_url


def test_environment_is_read_with_the_cw_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CW_BROKER_URL", "mqtt://u:secret@broker.example:1884")
    monkeypatch.setenv("CW_STORE_URL", "")
    monkeypatch.setenv("CW_API_PORT", "9001")
    settings = Settings()
    assert settings.broker_url == "mqtt://u:secret@broker.example:1884"
    assert settings.store_url is None  # empty means unset: the embedded store
    assert settings.api_port == 9001


def test_flags_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CW_DATA_DIR", "/from/env")
    assert Settings(data_dir=Path("/from/flag")).data_dir == Path("/from/flag")


def test_registry_defaults_to_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    url = Settings(data_dir=tmp_path).resolved_registry_url()
    assert url == f"sqlite:///{tmp_path.resolve()}/registry.db"


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CW_API_PORT", "70000")
    with pytest.raises(ValueError, match="api_port"):
        Settings()


def test_broker_url_parsing_hides_the_password() -> None:
    address = parse_broker_url("mqtt://dev:s3cret@10.0.0.5")
    assert (address.host, address.port, address.username, address.password) == \
        ("10.0.0.5", 1883, "dev", "s3cret")
    assert "s3cret" not in repr(address)
    with pytest.raises(ValueError, match="mqtt://"):
        parse_broker_url("http://x:1")
    with pytest.raises(ValueError, match="no host"):
        parse_broker_url("mqtt://")
