"""Shared fixtures: a fixed clock, config files written into tmp_path, local servers."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.pg import PgDatabase, run_database

NOW = datetime(2025, 11, 27, 12, 0, tzinfo=UTC)

WATCHLIST = """\
officials:
  - id: abu-qasra
    name: Murhaf Abu Qasra
    aliases: [Marhaf Abu Qasra, Abu Qasra, مرهف أبو قصرة]
    role: Minister of Defence
    country: Syria
    titles: [Defence Minister, Defense Minister, Minister of Defence, وزير الدفاع]
    since: 2024-12-21
    until: null
countries: [European Union, Pakistan, Jordan, Russia]
"""


@pytest.fixture
def now() -> datetime:
    return NOW


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A valid config/ with one watchlist and no feeds; tests add what they need."""
    write(tmp_path / "watchlists" / "syria.yaml", WATCHLIST)
    write(
        tmp_path / "monitor.yaml",
        """\
        database: sqlite:///var/monitor.db
        watchlists: [watchlists/syria.yaml]
        """,
    )
    return tmp_path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[PgDatabase]:
    """PostgreSQL: a fresh ``monitor_test_<random>`` database for this run, dropped after.
    Fails (never skips) when the server on 127.0.0.1:5432 does not answer."""
    with run_database() as database:
        yield database


@pytest.fixture
def pg_url(pg_database: PgDatabase) -> Iterator[str]:
    """PostgreSQL: a URL to a fresh, empty schema of this run's database."""
    with pg_database.schema() as url:
        yield url
