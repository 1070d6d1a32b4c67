"""Operations on a real database (SQLite and PostgreSQL): lease renewal, retention, the
figures behind /metrics and `monitor status`, and SQLite backup and upkeep."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from monitor import db
from monitor.cli import main
from monitor.config import RetentionModel
from monitor.errors import StoreError
from monitor.housekeeping import backup_sqlite, housekeep, needs_vacuum
from monitor.models import DateSource, Entry, EventKind, FeedSpec, Meeting, SubscriberSpec
from monitor.routing import route
from monitor.store import Store
from monitor.tables import DeliveryRow
from tests.conftest import WATCHLIST, write

NOW = datetime(2025, 11, 27, 12, tzinfo=UTC)
LEASE = timedelta(seconds=60)
DESK = SubscriberSpec("desk", ("json://127.0.0.1:1/a",))
FEEDS = [
    FeedSpec(f"Feed {i}", f"http://127.0.0.1:1/{i}.xml", timedelta(minutes=5)) for i in range(3)
]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path / 'm.db'}" if request.param == "sqlite" else None
    url = url or request.getfixturevalue("pg_url")
    db.upgrade(url)
    s = Store(db.make_engine(url))
    s.sync_feeds(FEEDS, NOW)
    yield s
    s.engine.dispose()


def meeting(country: str) -> Meeting:
    return Meeting(
        "abu-qasra",
        "Murhaf Abu Qasra",
        "Syria",
        "syria",
        country,
        EventKind.MEETING,
        date(2025, 11, 25),
        DateSource.TEXT,
        f"Abu Qasra received the envoy of {country}.",
        "received",
        f"the envoy of {country}",
    )


def entry(key: str) -> Entry:
    return Entry(key, f"title {key}", "text", f"https://x.example/{key}", NOW)


def record(store: Store, feed_id: int, found: list[tuple[Entry, list[Meeting]]], at: datetime):
    return store.record_entries(feed_id, found, lambda v, k: route(v, k, [DESK], at), at)


# ---------------------------------------------------------------- leases


def test_feed_lease_renewal_only_by_its_owner(store: Store) -> None:
    (feed, *_) = store.claim_due_feeds(NOW, 3, "a", LEASE)
    assert store.renew_feed_lease(feed.id, "a", NOW + 2 * LEASE)
    assert not store.renew_feed_lease(feed.id, "b", NOW + 3 * LEASE), "b does not own it"
    # renewed: still a's after the first lease would have run out
    assert feed.id not in [f.id for f in store.claim_due_feeds(NOW + LEASE * 1.5, 3, "b", LEASE)]
    # a stopped renewing (died): after the renewed lease, b takes it over
    taken = store.claim_due_feeds(NOW + LEASE * 2.1, 3, "b", LEASE)
    assert feed.id in [f.id for f in taken]
    assert not store.renew_feed_lease(feed.id, "a", NOW + 3 * LEASE), "a lost it to b"
    store.save_poll(feed.id, NOW, NOW + timedelta(minutes=5))
    assert not store.renew_feed_lease(feed.id, "b", NOW + 3 * LEASE), "released by the poll"


def test_delivery_lease_renewal_skips_finished_and_foreign_rows(store: Store) -> None:
    feed = store.claim_due_feeds(NOW, 1, "a", LEASE)[0]
    record(
        store, feed.id, [(entry("1"), [meeting("Jordan")]), (entry("2"), [meeting("Iraq")])], NOW
    )
    first, second = store.claim_deliveries(NOW, 10, "a", LEASE)
    store.mark_sent(first.id, NOW)
    assert store.renew_delivery_leases([first.id, second.id], "a", NOW + 2 * LEASE) == 1
    assert store.renew_delivery_leases([second.id], "b", NOW + 3 * LEASE) == 0
    assert store.claim_deliveries(NOW + LEASE * 1.5, 10, "b", LEASE) == []
    (taken,) = store.claim_deliveries(NOW + LEASE * 2.1, 10, "b", LEASE)
    assert taken.id == second.id


# ---------------------------------------------------------------- retention


def test_retention_keeps_cited_items_and_pending_deliveries(store: Store) -> None:
    feed = store.claim_due_feeds(NOW, 1, "a", LEASE)[0]
    old = NOW - timedelta(days=100)
    record(store, feed.id, [(entry("cited"), [meeting("Jordan")]), (entry("plain"), [])], old)
    record(store, feed.id, [(entry("pending"), [meeting("Iraq")]), (entry("new"), [])], NOW)
    sent, pending_old = store.claim_deliveries(NOW, 10, "a", LEASE)
    store.mark_sent(sent.id, old)
    with Session(store.engine) as s:  # the pending row is as old as the sent one
        row = s.get(DeliveryRow, pending_old.id)
        assert row is not None
        row.created_at = old
        s.add(row)
        s.commit()
    store.release([pending_old.id])

    assert store.purge_items(NOW - timedelta(days=90), batch=1) == 1, "only 'plain'"
    assert store.purge_deliveries(NOW - timedelta(days=30), batch=1) == 1, "only the sent one"
    assert store.purge_items(NOW - timedelta(days=90)) == 0, "idempotent"
    assert store.known_keys(feed.id, ["cited", "plain", "pending", "new"]) == {
        "cited",
        "pending",
        "new",
    }
    assert store.delivery_counts() == {"pending": 1}
    done = housekeep(store, RetentionModel(), NOW)
    assert (done.items, done.deliveries) == (0, 0)


# ---------------------------------------------------------------- figures


def test_snapshot_counts_feeds_outbox_and_lease_holders(store: Store) -> None:
    a, b, _ = store.claim_due_feeds(NOW, 3, "host:1:a", LEASE)
    store.save_poll(a.id, NOW, NOW + timedelta(minutes=5), error_kind="timeout", error="slow")
    store.save_poll(b.id, NOW, NOW - timedelta(seconds=30))  # due again, 30 s ago
    record(store, a.id, [(entry("1"), [meeting("Jordan")])], NOW - timedelta(minutes=2))
    snap = store.snapshot(NOW)
    assert snap.feeds.states == {"ok": 2, "failing": 1, "silent": 0, "inactive": 0}
    assert snap.feeds.failing_kinds == {"timeout": 1}
    assert (snap.feeds.in_flight, snap.feeds.overdue, snap.feeds.poll_lag) == (1, 1, 30.0)
    assert (snap.items, snap.events) == (1, 1)
    assert snap.deliveries == {"pending": 1}
    assert snap.outbox_due == 1 and snap.outbox_oldest == 120.0
    assert snap.lease_owners == ("host:1:a",)
    assert store.snapshot(NOW + LEASE * 2).lease_owners == (), "expired leases hold nothing"


# ---------------------------------------------------------------- SQLite upkeep and backup


@pytest.mark.parametrize(
    ("pages", "free", "vacuum"),
    [(0, 0, False), (1000, 100, False), (1000, 250, False), (2000, 500, True), (600, 300, True)],
)
def test_needs_vacuum(pages: int, free: int, vacuum: bool) -> None:
    assert needs_vacuum(pages, free) is vacuum


def test_sqlite_vacuum_after_a_big_purge_and_online_backup(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    db.upgrade(url)
    store = Store(db.make_engine(url))
    store.sync_feeds(FEEDS, NOW)
    feed = store.claim_due_feeds(NOW, 1, "a", LEASE)[0]
    old = NOW - timedelta(days=200)
    found = [(Entry(f"k{i}", "t" * 900, "x", None, old), []) for i in range(3000)]
    record(store, feed.id, found, old)  # type: ignore[arg-type]
    pages_before, _ = store.sqlite_pages()
    done = housekeep(store, RetentionModel(), NOW)
    assert done.items == 3000 and done.vacuumed
    pages_after, free = store.sqlite_pages()
    assert pages_after < pages_before / 2 and free == 0

    record(store, feed.id, [(entry("kept"), [])], NOW)
    dest = tmp_path / "backup.db"
    assert backup_sqlite(url, dest) > 0
    with sqlite3.connect(dest) as copy:
        assert copy.execute("SELECT key FROM items").fetchall() == [("kept",)]
    store.engine.dispose()
    with pytest.raises(StoreError, match="itself"):
        backup_sqlite(url, tmp_path / "m.db")


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda st, f: st.sqlite_maintain(vacuum=False), id="maintenance"),
        pytest.param(
            lambda st, f: st.save_poll(f, NOW, NOW + LEASE, error_kind="network", error="down"),
            id="failed-poll",
        ),
        pytest.param(lambda st, f: st.save_poll(f, NOW, NOW + LEASE, etag='"e"'), id="poll"),
    ],
)
def test_sqlite_writes_wait_for_another_writer_instead_of_failing(
    tmp_path: Path, operation: Callable[[Store, int], None]
) -> None:
    """Polls, the health check, housekeeping and CLI commands write from other threads and
    processes: a write that meets one in progress must wait for it, not fail with "database
    is locked". PRAGMA optimize did fail, at once: in WAL mode a statement that reads, then
    writes, gets no busy wait when another connection commits in between."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    db.upgrade(url)
    store = Store(db.make_engine(url))
    every = timedelta(minutes=5)
    store.sync_feeds([FeedSpec(f"F{i}", f"http://127.0.0.1:1/{i}", every) for i in range(50)], NOW)
    store.feeds()  # the tables a pooled connection has read are the ones optimize analyses
    feed = store.claim_due_feeds(NOW, 1, "a", LEASE)[0]
    locked, released = threading.Event(), threading.Event()

    def another_writer() -> None:
        with sqlite3.connect(tmp_path / "m.db", isolation_level=None, timeout=10) as other:
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE feeds SET name = name || '!'")
            locked.set()
            time.sleep(0.4)
            other.execute("COMMIT")
            released.set()

    writer = threading.Thread(target=another_writer)
    writer.start()
    try:
        assert locked.wait(5)
        operation(store, feed.id)  # raised StoreError at once before
        assert released.is_set(), "wrote inside another writer's transaction"
    finally:
        writer.join()
    assert all(f.name.endswith("!") for f in store.feeds()), "the other write is kept"
    store.engine.dispose()


def test_db_backup_command(tmp_path: Path, capsys) -> None:
    write(tmp_path / "watchlists" / "syria.yaml", WATCHLIST)
    config = write(
        tmp_path / "monitor.yaml", "database: sqlite:///m.db\nwatchlists: [watchlists/syria.yaml]\n"
    )
    assert main(["--config", str(config), "db", "upgrade"]) == 0
    assert main(["--config", str(config), "db", "backup", str(tmp_path / "copy.db")]) == 0
    assert "checked" in capsys.readouterr().out
    assert (tmp_path / "copy.db").stat().st_size > 0
    config.write_text(config.read_text().replace("sqlite:///m.db", "postgresql+psycopg://u@h/d"))
    assert main(["--config", str(config), "db", "backup", str(tmp_path / "pg.db")]) == 2
    assert "pg_dump" in capsys.readouterr().err


# ---------------------------------------------------------------- several instances start


def test_instances_starting_at_once_migrate_and_sync_once(pg_url: str) -> None:
    """Three instances start together on an empty PostgreSQL schema: one migrates while the
    others wait for it (separate processes: Alembic's context is process-global), then all
    add the same feeds at once without tripping the unique URL."""
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    code = "import sys; from monitor import db; db.upgrade(sys.argv[1])"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, pg_url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors

    specs = [FeedSpec(f"F{i}", f"http://127.0.0.1:1/{i}.xml", LEASE) for i in range(100)]

    def start(_: int) -> int:
        store = Store(db.make_engine(pg_url))
        try:
            store.sync_feeds(specs, NOW)
            return len(store.feeds())
        finally:
            store.engine.dispose()

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(start, range(4))) == [100] * 4
