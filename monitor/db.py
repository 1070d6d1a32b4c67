"""I/O: database engines and schema migrations.

SQLite (the default) gets WAL, a busy timeout and foreign keys on every connection;
PostgreSQL URLs are used as given. The schema changes only through Alembic.
"""

from __future__ import annotations

import logging
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, NullPool, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)

# The newest migration (tests check that it is Alembic's head). A database already there needs
# no Alembic at all: importing it costs a quarter of a second on every start.
HEAD_REVISION = "0003"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; creates the directory of a SQLite file if needed."""
    _ensure_sqlite_dir(url)
    try:
        # A SQLite file is never dropped by a server: pinging it on every checkout only cost
        # time (15-20% of the store's time in a poll). PostgreSQL keeps the ping.
        engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    except (SQLAlchemyError, ImportError) as e:
        raise StoreError(f"cannot use database {redact(url)}: {e}") from e
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create {path.parent}: {e.strerror or e}") from e


def redact(url: str) -> str:
    """The URL without its password, for logs and errors."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a URL too broken to parse still must not leak
        return "<unparseable database URL>"


def alembic_config(url: str) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(files("monitor.migrations")))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def current_revision(url: str) -> str | None:
    """The migration the database is at, None when it has none (or cannot say)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        return str(row[0]) if row else None
    except SQLAlchemyError:
        return None  # no alembic_version table yet, or no database: Alembic will say
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent)."""
    _ensure_sqlite_dir(url)
    if revision == "head" and current_revision(url) == HEAD_REVISION:
        return
    from alembic import command

    try:
        command.upgrade(alembic_config(url), revision)
    except SQLAlchemyError as e:
        raise StoreError(f"migration failed on {redact(url)}: {e}") from e


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    try:
        command.downgrade(alembic_config(url), revision)
    except SQLAlchemyError as e:
        raise StoreError(f"migration failed on {redact(url)}: {e}") from e


def insert_for(engine: Engine, table: Any) -> Any:
    """INSERT for ``engine``'s dialect, so ``on_conflict_do_*`` works on SQLite and PostgreSQL."""
    # imported here: the PostgreSQL dialect costs ~60 ms of every start on SQLite
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError as e:
        log.error("database unreachable error=%s", type(e).__name__)
        return False
