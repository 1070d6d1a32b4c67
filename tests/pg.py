"""PostgreSQL for tests: one fresh database per test run, one fresh schema per test.

The server is the one on 127.0.0.1:5432 (trust auth, user postgres); MONITOR_TEST_PG names
another admin URL. When it does not answer, the tests that need it FAIL (never skip):
``.ci/run`` starts the server, and a green run must have exercised PostgreSQL.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
import pytest
from sqlalchemy.engine import make_url

ADMIN = os.environ.get("MONITOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin() -> psycopg.Connection:
    try:
        return psycopg.connect(ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.Error as e:
        pytest.fail(
            f"PostgreSQL does not answer at {make_url(ADMIN).render_as_string()}: {e}\n"
            "Start it (`.ci/run` does: pg_ctlcluster 15 main start) or point MONITOR_TEST_PG "
            "at an admin URL. These tests fail rather than skip.",
            pytrace=False,
        )


@dataclass(frozen=True)
class PgDatabase:
    """A database created for this test run."""

    name: str

    def url(self, schema: str | None = None) -> str:
        """A SQLAlchemy URL for it (psycopg 3), optionally confined to ``schema``."""
        base = make_url(ADMIN).set(drivername="postgresql+psycopg", database=self.name)
        if schema is not None:
            base = base.update_query_dict({"options": f"-csearch_path={schema}"})
        return base.render_as_string(hide_password=False)

    @contextmanager
    def schema(self) -> Iterator[str]:
        """A fresh, empty schema for one test; dropped afterwards."""
        name = f"t_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.url().replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        try:
            yield self.url(name)
        finally:
            with psycopg.connect(self.url().replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


STALE = 6 * 3600  # seconds: a run's database older than this was left by a killed run


@contextmanager
def run_database() -> Iterator[PgDatabase]:
    """``monitor_test_<time>_<random>``: created now, dropped (with its connections) at the
    end; databases that killed runs left behind are dropped first."""
    name = f"monitor_test_{int(time.time())}_{uuid.uuid4().hex[:8]}"
    with _admin() as conn:
        _drop_stale(conn)
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PgDatabase(name)
    finally:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _drop_stale(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE 'monitor\\_test\\_%'"
    ).fetchall()
    for (name,) in rows:
        m = re.fullmatch(r"monitor_test_(\d{10})_[0-9a-f]{8}", name)
        if m and time.time() - int(m.group(1)) > STALE:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
