from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from collateral.cli import main
from registry import Registry
from registry.access import ApiToken, AuditEntry, User
from registry.tokens import verify_token


def test_token_create_mints_the_first_admin_and_keeps_only_a_hash(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", "--data-dir", str(tmp_path)]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("cw_")
    registry = Registry(f"sqlite:///{(tmp_path / 'registry.db').resolve()}")
    with registry.session() as session:
        user = verify_token(session, token, datetime.now(UTC))
        assert user is not None and (user.id, user.role) == ("admin", "admin")
        [row] = session.query(ApiToken).all()
        assert token.split("_", 2)[2] not in row.secret_sha256  # the secret is not stored
        assert {e.action for e in session.query(AuditEntry)} == {"user.create", "token.create"}
        assert session.query(User).count() == 1
    registry.close()


def test_token_for_a_lender_user_needs_its_lender(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", "--user", "ana", "--role", "lender",
                 "--data-dir", str(tmp_path)]) == 2
    assert "needs --lender" in capsys.readouterr().err
