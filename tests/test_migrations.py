"""Schema only through Alembic: upgrade, downgrade, and no drift from the models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from monitor import db, tables


def test_upgrade_downgrade_upgrade_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    db.upgrade(url)
    engine = create_engine(url)
    names = set(inspect(engine).get_table_names())
    assert {"feeds", "items", "events", "event_sources", "deliveries"} <= names
    db.downgrade(url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    db.upgrade(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), tables.metadata)
    engine.dispose()
    assert diff == [], "models and migrations disagree: write a migration"


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_upgrade_downgrade_upgrade_postgresql(pg_url: str) -> None:
    """The same revisions on PostgreSQL (a fresh schema of this run's database)."""
    db.upgrade(pg_url)
    engine = create_engine(pg_url)
    names = set(inspect(engine).get_table_names())
    assert {"feeds", "items", "events", "event_sources", "deliveries"} <= names
    db.downgrade(pg_url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    db.upgrade(pg_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT current_schema()").scalar() != "public"
        diff = compare_metadata(MigrationContext.configure(conn), tables.metadata)
        (head,) = ScriptDirectory.from_config(db.alembic_config(pg_url)).get_heads()
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head
    engine.dispose()
    assert diff == [], "models and migrations disagree on PostgreSQL: write a migration"


def test_one_head() -> None:
    heads = ScriptDirectory.from_config(db.alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"migrations branch: heads {heads}; chain the newest revisions"
    assert heads == [db.HEAD_REVISION], "a new migration: set db.HEAD_REVISION to it"


def test_a_database_at_head_starts_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    probe = (
        "import sys; from monitor import db; db.upgrade(sys.argv[1]); "
        "print('alembic' in sys.modules, db.current_revision(sys.argv[1]))"
    )
    first = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True)
    assert first.stdout.split() == ["True", db.HEAD_REVISION], first.stderr
    again = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True)
    assert again.stdout.split() == ["False", db.HEAD_REVISION], again.stderr
