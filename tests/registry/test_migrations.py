"""Migrations: an empty database, one at the previous revision and one made before
migrations all reach a head whose schema is exactly the models'."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from registry import Registry
from registry.migrate import BASELINE, alembic_config, current_revision, head_revision, upgrade
from registry.models import Base


def _previous_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_revision(head_revision())
    assert head is not None and isinstance(head.down_revision, str)
    return head.down_revision


def _schema_diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_empty_database_upgrades_to_head_matching_the_models(registry_url: str) -> None:
    registry = Registry(registry_url)
    assert current_revision(registry.engine) == head_revision()
    registry.close()
    assert _schema_diff(registry_url) == []


def test_database_at_previous_revision_upgrades_and_keeps_its_rows(registry_url: str) -> None:
    engine = create_engine(registry_url)
    upgrade(engine, _previous_revision())
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO lenders (id, name) VALUES ('l1', 'Harbour Bank')"))
        conn.execute(text("INSERT INTO loans (id, lender_id, borrower, warning_level, "
                          "warning_reason) VALUES ('n1', 'l1', 'Acme', 'normal', '')"))
    engine.dispose()
    registry = Registry(registry_url)
    assert current_revision(registry.engine) == head_revision()
    with registry.engine.connect() as conn:
        assert conn.execute(text("SELECT borrower FROM loans WHERE id = 'n1'")).scalar() == "Acme"
    registry.close()
    assert _schema_diff(registry_url) == []


def test_database_made_before_migrations_is_stamped_not_recreated(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    engine = create_engine(url)
    upgrade(engine, BASELINE)
    with engine.begin() as conn:  # what the spine's create_all left: no version table
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("INSERT INTO lenders (id, name) VALUES ('l1', 'Harbour Bank')"))
    engine.dispose()
    registry = Registry(url)
    with registry.engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM lenders")).scalar() == "Harbour Bank"
    assert "audit_log" in inspect(registry.engine).get_table_names()
    registry.close()


def test_every_revision_downgrades_and_upgrades_again(tmp_path: object) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/down.db")
    upgrade(engine)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_revisions_form_one_line_from_the_baseline() -> None:
    # Two engineers adding revisions on the same parent would leave two heads.
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    assert [r.revision for r in script.walk_revisions()][-1] == BASELINE


def test_services_starting_together_migrate_once(registry_url: str) -> None:
    # ingest, monitor and the API may open a fresh database at the same moment.
    import threading

    errors: list[BaseException] = []

    def open_registry() -> None:
        try:
            Registry(registry_url).close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_registry) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = create_engine(registry_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()
