"""EmbeddedStore: the store contract over SQLite, plus what only a file store has."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.store.base import StoreError, StoreUnavailable
from ingest.store.embedded import EmbeddedStore
from tests.ingest.store_contract import ALL_FIELDS, MIN, T0, StoreContract, point


class TestEmbeddedStoreContract(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[EmbeddedStore]:
        with EmbeddedStore(tmp_path / "telemetry.db") as store:
            yield store

    @pytest.fixture
    def down_store(self, tmp_path: Path) -> Iterator[EmbeddedStore]:
        # "Down" for a file: another process holds the write lock past our busy timeout.
        path = tmp_path / "locked.db"
        with EmbeddedStore(path, busy_timeout_s=0.05) as store:
            blocker = sqlite3.connect(path, isolation_level=None)
            blocker.execute("BEGIN EXCLUSIVE")
            try:
                yield store
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()


def test_memory_store_works() -> None:
    with EmbeddedStore(":memory:") as store:
        store.write([point(T0, **ALL_FIELDS)])
        assert store.count() == 1


def test_a_write_is_on_disk_when_write_returns(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "telemetry.db"  # parent dirs are created
    store = EmbeddedStore(path)
    store.write([point(T0, seq=1, temp_c=4.5)])
    # Another connection sees it before this store is closed: it is committed.
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT seq, temp_c FROM telemetry").fetchall() == [(1, 4.5)]
    other.close()
    store.close()
    with EmbeddedStore(path) as reopened:
        assert reopened.last("a1") is not None


def test_threads_share_one_store(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    with EmbeddedStore(tmp_path / "t.db") as store:

        def writer(k: int) -> None:
            try:
                for i in range(50):
                    store.write([point(T0 + i, asset_id=f"a{k}", seq=i, temp_c=1.0)])
                    store.query(f"a{k}", T0, T0 + 100)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert store.count() == 200


def test_a_closed_store_refuses_politely(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "t.db")
    store.close()
    store.close()  # idempotent
    assert store.ping() is False
    with pytest.raises(StoreError):
        store.count()


def test_columns_for_new_wire_fields_are_added(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE telemetry (asset_id TEXT NOT NULL, ts_ms INTEGER NOT NULL, "
            "device_id TEXT NOT NULL, seq INTEGER NOT NULL, lat REAL, "
            "PRIMARY KEY (asset_id, ts_ms, device_id)) WITHOUT ROWID"
        )
    conn.close()
    with EmbeddedStore(path) as store:
        store.write([point(T0, **ALL_FIELDS)])
        assert store.query("a1", T0, T0 + MIN)[0].values["tamper"] is False


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError):
        EmbeddedStore(path)


def test_locked_file_read_still_works_in_wal(tmp_path: Path) -> None:
    # WAL lets readers go on while another connection writes.
    path = tmp_path / "wal.db"
    with EmbeddedStore(path, busy_timeout_s=0.05) as store:
        store.write([point(T0, temp_c=1.0)])
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            assert store.count() == 1
            with pytest.raises(StoreUnavailable):
                store.write([point(T0 + 1, temp_c=1.0)])
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
