"""I/O: housekeeping, on the daemon's schedule (``retention.every``) and on demand.

    retention   items no event cites, fetched before ``retention.items``; sent and failed
                deliveries created before ``retention.deliveries`` (pending rows always stay)
    SQLite      ``PRAGMA optimize`` (ANALYZE where the planner needs it) every run, and
                VACUUM when at least a quarter of the file is free pages; on PostgreSQL
                autovacuum does both
    backup      ``monitor db backup PATH``: SQLite's online backup API, a consistent copy
                taken while the daemon keeps writing; for PostgreSQL, pg_dump is the tool

Several instances may run retention at once: the deletes are idempotent.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from monitor.config import RetentionModel
from monitor.errors import StoreError
from monitor.store import Store

log = logging.getLogger(__name__)

VACUUM_FREE_RATIO = 0.25
VACUUM_MIN_FREE_PAGES = 256  # below ~1 MB of free pages a VACUUM is not worth the lock


@dataclass(frozen=True, slots=True)
class Housekept:
    items: int = 0
    deliveries: int = 0
    vacuumed: bool = False


def needs_vacuum(pages: int, free: int) -> bool:
    """Pure: is enough of the SQLite file free pages to be worth rewriting it?"""
    return free >= VACUUM_MIN_FREE_PAGES and pages > 0 and free / pages >= VACUUM_FREE_RATIO


def housekeep(store: Store, retention: RetentionModel, now: datetime) -> Housekept:
    """One round of retention and upkeep (blocking: run it in a thread)."""
    items = deliveries = 0
    if retention.items is not None:
        items = store.purge_items(now - retention.items)
    if retention.deliveries is not None:
        deliveries = store.purge_deliveries(now - retention.deliveries)
    vacuumed = False
    if store.engine.dialect.name == "sqlite":
        pages, free = store.sqlite_pages()
        vacuumed = needs_vacuum(pages, free)
        store.sqlite_maintain(vacuum=vacuumed)
    done = Housekept(items, deliveries, vacuumed)
    if items or deliveries or vacuumed:
        log.info(
            "housekeeping done purged_items=%d purged_deliveries=%d vacuumed=%s",
            items,
            deliveries,
            vacuumed,
        )
    return done


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and :memory:."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///"))
    return None


def backup_sqlite(url: str, dest: Path) -> int:
    """Copy the live SQLite database to ``dest`` (written aside, then renamed into place,
    then checked); returns the pages copied. Raises StoreError."""
    source = sqlite_file(url)
    if source is None:
        raise StoreError("backup: not a SQLite file database")
    if not source.is_file():
        raise StoreError(f"backup: no database at {source}")
    if dest.resolve() == source.resolve():
        raise StoreError("backup: the destination is the database itself")
    tmp = dest.with_name(f".{dest.name}.partial")
    pages = 0

    def progress(_status: int, remaining: int, total: int) -> None:
        nonlocal pages
        pages = total

    try:
        src = sqlite3.connect(source, timeout=30)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst, pages=1024, progress=progress)
                ok = dst.execute("PRAGMA quick_check").fetchone()
            finally:
                dst.close()
        finally:
            src.close()
        if not ok or ok[0] != "ok":
            raise StoreError(f"backup: the copy failed its check: {ok}")
        os.replace(tmp, dest)
    except (sqlite3.Error, OSError) as e:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"backup to {dest} failed: {e}") from e
    except StoreError:
        tmp.unlink(missing_ok=True)
        raise
    return pages
