"""Events and the outbox on a real database: backfill, late reports, channel order, leases,
and concurrent reports of one meeting (threads on SQLite; threads on PostgreSQL when the
server on 127.0.0.1:5432 answers)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from monitor import db
from monitor.models import DateSource, Entry, EventKind, FeedSpec, Meeting, SubscriberSpec
from monitor.routing import route
from monitor.store import PollDone, Store
from monitor.store_events import Finds, Recorded

NOW = datetime(2025, 11, 27, 12, tzinfo=UTC)
DESK = SubscriberSpec("desk", ("json://127.0.0.1:1/a", "json://127.0.0.1:1/b"))
LEASE = timedelta(minutes=1)


def meeting(country: str = "Pakistan", on: date | None = date(2025, 11, 25)) -> Meeting:
    return Meeting(
        "abu-qasra",
        "Murhaf Abu Qasra",
        "Syria",
        "syria",
        country,
        EventKind.MEETING,
        on,
        DateSource.TEXT if on else DateSource.UNKNOWN,
        f"Abu Qasra received the envoy of {country}.",
        "received",
        f"the envoy of {country}",
    )


def entry(key: str, published: datetime = NOW) -> Entry:
    return Entry(key, f"title {key}", "text", f"https://x.example/{key}", published)


def router(views, kind):  # type: ignore[no-untyped-def]
    return route(views, kind, [DESK], NOW)


def make_store(url: str, feeds: int = 1) -> tuple[Store, list[int]]:
    db.upgrade(url)
    store = Store(db.make_engine(url))
    specs = [FeedSpec(f"Feed {i}", f"http://127.0.0.1:1/{i}.xml", LEASE) for i in range(feeds)]
    store.sync_feeds(specs, NOW)
    ids = [f.id for f in store.claim_due_feeds(NOW, feeds, "test", LEASE)]
    return store, sorted(ids)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'm.db'}"


def test_backlog_is_silent_until_a_live_report_which_alerts_late(sqlite_url: str) -> None:
    store, (feed,) = make_store(sqlite_url)
    old = meeting(on=date(2025, 11, 16))
    quiet = store.record_entries(feed, [(entry("1"), [old])], router, NOW, alert=False)
    assert quiet.new_events and not quiet.alerted
    assert store.delivery_counts() == {}, "a new feed's backlog alerts nobody"
    again = store.record_entries(feed, [(entry("1"), [old])], router, NOW)
    assert again.new_items == [], "an item is recorded once"
    live = store.record_entries(feed, [(entry("2"), [old])], router, NOW + timedelta(hours=1))
    assert live.alerted == quiet.new_events and not live.new_events
    assert store.delivery_counts() == {"pending": 2}
    (event,) = store.recent_events()
    assert event.late and len(event.sources) == 2


def test_roundup_of_an_alerted_meeting_only_adds_a_source(sqlite_url: str) -> None:
    store, (feed,) = make_store(sqlite_url)
    first = store.record_entries(feed, [(entry("1"), [meeting()])], router, NOW)
    assert first.alerted == first.new_events
    roundup = [meeting(), meeting("Jordan", date(2025, 11, 22))]
    later = store.record_entries(feed, [(entry("2"), roundup)], router, NOW + timedelta(days=1))
    assert len(later.new_events) == 1 and later.alerted == later.new_events, "Jordan is new"
    jordan = store.event(later.new_events[0])
    pakistan = store.event(first.new_events[0])
    assert jordan is not None and jordan.late, "held five days before anyone alerted it"
    assert pakistan is not None and not pakistan.late and len(pakistan.sources) == 2
    assert store.delivery_counts() == {"pending": 4}


def test_undated_report_fills_in_nothing_but_a_dated_one_fills_the_date(sqlite_url: str) -> None:
    store, (feed,) = make_store(sqlite_url)
    undated = replace_date(meeting(), None)
    first = store.record_entries(feed, [(entry("1"), [undated])], router, NOW)
    store.record_entries(feed, [(entry("2"), [meeting(on=date(2025, 11, 26))])], router, NOW)
    (event,) = store.recent_events()
    assert event.id == first.new_events[0] and event.meeting.date == date(2025, 11, 26)
    assert event.meeting.date_source is DateSource.TEXT


def replace_date(m: Meeting, on: date | None) -> Meeting:
    from dataclasses import replace

    return replace(m, date=on, date_source=DateSource.TEXT if on else DateSource.UNKNOWN)


def test_a_failed_row_holds_its_channel_in_order(sqlite_url: str) -> None:
    store, (feed,) = make_store(sqlite_url)
    for i, country in enumerate(["Pakistan", "Jordan", "Russia"]):
        store.record_entries(feed, [(entry(str(i)), [meeting(country)])], router, NOW)
    claimed = store.claim_deliveries(NOW, 100, "a", LEASE)
    assert len(claimed) == 6
    a = [c for c in claimed if c.channel == claimed[0].channel]
    b = [c for c in claimed if c.channel != claimed[0].channel]
    store.mark_failed(a[0].id, "refused", NOW + timedelta(minutes=5))
    store.release([c.id for c in a[1:]])
    store.mark_sent([c.id for c in b], NOW)
    assert store.claim_deliveries(NOW + timedelta(minutes=1), 100, "a", LEASE) == [], (
        "the channel's younger rows wait behind the failed one"
    )
    retry = store.claim_deliveries(NOW + timedelta(minutes=5), 100, "a", LEASE)
    assert [c.id for c in retry] == [c.id for c in a], "then all go, oldest first"
    assert store.delivery_counts() == {"pending": 3, "sent": 3}


def test_leases_of_dead_instances_are_freed(sqlite_url: str) -> None:
    store, (feed,) = make_store(sqlite_url)
    store.record_entries(feed, [(entry("1"), [meeting()])], router, NOW)
    store.claim_deliveries(NOW, 100, "host:123:abc", LEASE)
    assert store.claim_deliveries(NOW, 100, "b", LEASE) == []
    assert store.lease_owners() == {"test", "host:123:abc"}
    assert store.release_leases(["host:123:abc"]) == 2
    assert len(store.claim_deliveries(NOW, 100, "b", LEASE)) == 2


def test_dead_local_owners() -> None:
    from monitor.app import dead_local_owners

    owners = ["h1:100:aa", "h1:200:bb", "h2:100:cc", "h1:x:dd"]
    assert dead_local_owners(owners, "h1", lambda pid: pid == 200) == ["h1:100:aa"]


def _concurrent_reports(url: str) -> None:
    """Eight feeds report one meeting at once, dated the 25th or 26th (time zones)."""
    store, feeds = make_store(url, feeds=8)

    def report(i: int) -> list[int]:
        m = meeting(on=date(2025, 11, 25 + i % 2))
        return store.record_entries(feeds[i], [(entry(f"k{i}"), [m])], router, NOW).new_events

    with ThreadPoolExecutor(8) as pool:
        created = [e for events in pool.map(report, range(8)) for e in events]
    assert len(created) == 1, "one event whoever got there first"
    (event,) = store.recent_events()
    assert len(event.sources) == 8
    assert store.delivery_counts() == {"pending": 2}
    store.engine.dispose()


def test_concurrent_reports_make_one_event_sqlite(sqlite_url: str) -> None:
    _concurrent_reports(sqlite_url)


def test_concurrent_reports_make_one_event_postgresql(pg_url: str) -> None:
    _concurrent_reports(pg_url)


def _several_polls_in_one_transaction(url: str) -> None:
    """Polls recorded together come out as if recorded one after another."""
    store, feeds = make_store(url, feeds=3)

    def done(i: int) -> PollDone:
        return PollDone(feeds[i], NOW, NOW + timedelta(hours=1), etag=f"e{i}")

    first, second, third = store.record_polls(
        [
            Finds(feeds[0], [(entry("a"), [meeting()])], router, NOW, done=done(0)),
            Finds(
                feeds[1],
                [(entry("b"), [meeting()]), (entry("c"), [meeting("Jordan")])],
                router,
                NOW,
                done=done(1),
            ),
            Finds(feeds[2], [], router, NOW, done=done(2)),  # nothing new
        ]
    )
    assert len(first.new_events) == 1 and first.alerted == first.new_events
    assert [e.key for _, e in second.new_items] == ["b", "c"]
    assert len(second.new_events) == 1, "Pakistan joined the first poll's event, Jordan is new"
    assert second.new_events != first.new_events
    assert third == Recorded([], [], [])
    pakistan = store.event(first.new_events[0])
    assert pakistan is not None and len(pakistan.sources) == 2
    assert store.delivery_counts() == {"pending": 4}, "two events, two channels each"
    states = {f.id: f for f in store.feeds()}
    assert [states[f].etag for f in feeds] == ["e0", "e1", "e2"], "every poll recorded"
    assert [states[f].last_new_item_at for f in feeds] == [NOW, NOW, None]
    again = store.record_polls([Finds(feeds[0], [(entry("a"), [meeting()])], router, NOW)])
    assert again == [Recorded([], [], [])], "an item is recorded once"
    store.engine.dispose()


def test_several_polls_in_one_transaction_sqlite(sqlite_url: str) -> None:
    _several_polls_in_one_transaction(sqlite_url)


def test_several_polls_in_one_transaction_postgresql(pg_url: str) -> None:
    _several_polls_in_one_transaction(pg_url)
