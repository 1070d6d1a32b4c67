"""Store on real SQLite (and the same statements on PostgreSQL in test_postgres)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from monitor import db
from monitor.models import (
    DateSource,
    Entry,
    EventKind,
    FeedSpec,
    Meeting,
    Span,
    SubscriberSpec,
    channel_id,
)
from monitor.store import Store

NOW = datetime(2025, 11, 27, 12, tzinfo=UTC)
FEED = FeedSpec("Wire", "http://127.0.0.1:1/feed.xml", timedelta(minutes=10))
DESK = SubscriberSpec("desk", ("json://127.0.0.1:1/a", "json://127.0.0.1:1/b"))
JORDAN_ONLY = SubscriberSpec("jordan-desk", ("json://127.0.0.1:1/j",), countries=("Jordan",))


def make_store(url: str) -> Store:
    db.upgrade(url)
    return Store(db.make_engine(url))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return make_store(f"sqlite:///{tmp_path / 'm.db'}")


def meeting(country: str = "Pakistan", on: date | None = date(2025, 11, 25)) -> Meeting:
    return Meeting(
        "abu-qasra",
        "Murhaf Abu Qasra",
        "Syria",
        "syria",
        country,
        EventKind.MEETING,
        on,
        DateSource.TEXT,
        "Abu Qasra received the ambassador.",
        "received",
        "the ambassador",
        (Span(0, 9, "official"),),
    )


def entry(key: str) -> Entry:
    return Entry(key, f"title {key}", "text", f"https://x.example/{key}", NOW)


def test_add_items_returns_only_new(store: Store) -> None:
    store.sync_feeds([FEED], NOW)
    (feed,) = store.claim_due_feeds(NOW, 10, "a", timedelta(minutes=1))
    first = store.add_items(feed.id, [entry("1"), entry("2"), entry("2")], NOW)
    assert [e.key for _, e in first] == ["1", "2"]
    again = store.add_items(feed.id, [entry("2"), entry("3")], NOW)
    assert [e.key for _, e in again] == ["3"]


def test_claims_are_exclusive_until_the_lease_expires(store: Store) -> None:
    store.sync_feeds([FEED], NOW)
    assert len(store.claim_due_feeds(NOW, 10, "a", timedelta(seconds=30))) == 1
    assert store.claim_due_feeds(NOW, 10, "b", timedelta(seconds=30)) == []
    later = NOW + timedelta(seconds=31)
    assert [f.url for f in store.claim_due_feeds(later, 10, "b", timedelta(seconds=30))] == [
        FEED.url
    ]


def test_save_poll_schedules_and_records_errors(store: Store) -> None:
    store.sync_feeds([FEED], NOW)
    (feed,) = store.claim_due_feeds(NOW, 10, "a", timedelta(minutes=1))
    store.save_poll(feed.id, NOW, NOW + timedelta(minutes=20), error_kind="http_5xx", error="503")
    (state,) = store.feeds()
    assert (state.failures, state.last_error_kind) == (1, "http_5xx")
    assert store.claim_due_feeds(NOW + timedelta(minutes=19), 10, "a", timedelta(minutes=1)) == []
    store.save_poll(feed.id, NOW, NOW, etag='"x"', new_items=2)
    (state,) = store.feeds()
    assert (state.failures, state.etag, state.last_new_item_at) == (0, '"x"', NOW)


def test_sync_feeds_deactivates_removed_feeds(store: Store) -> None:
    store.sync_feeds([FEED], NOW)
    store.sync_feeds([], NOW)
    assert [f.active for f in store.feeds()] == [False]
    assert store.claim_due_feeds(NOW, 10, "a", timedelta(minutes=1)) == []


def test_meeting_creates_event_and_routed_outbox_rows_once(store: Store) -> None:
    store.sync_feeds([FEED], NOW)
    (feed,) = store.claim_due_feeds(NOW, 10, "a", timedelta(minutes=1))
    (item1, _), (item2, _) = store.add_items(feed.id, [entry("1"), entry("2")], NOW)
    subs = [DESK, JORDAN_ONLY]
    event_id = store.record_meeting(item1, meeting(), subs, NOW)
    assert event_id is not None
    # another outlet, a day later in its time zone: a source, not a new event
    assert store.record_meeting(item2, meeting(on=date(2025, 11, 26)), subs, NOW) is None
    claimed = store.claim_deliveries(NOW, 10, "a", timedelta(minutes=1))
    assert sorted((c.subscriber, c.channel) for c in claimed) == sorted(
        ("desk", channel_id(u)) for u in DESK.notify
    ), "one row per channel of each subscriber whose filters accept the event"
    event = store.event(event_id)
    assert event is not None and len(event.sources) == 2
    assert event.meeting.spans == (Span(0, 9, "official"),)


def test_delivery_retry_and_give_up(store: Store) -> None:
    store.sync_feeds([FEED], NOW)
    (feed,) = store.claim_due_feeds(NOW, 10, "a", timedelta(minutes=1))
    ((item, _),) = store.add_items(feed.id, [entry("1")], NOW)
    store.record_meeting(item, meeting(), [JORDAN_ONLY, DESK], NOW)
    first, second = store.claim_deliveries(NOW, 10, "a", timedelta(minutes=1))
    store.mark_sent(first.id, NOW)
    store.mark_failed(second.id, "refused", NOW + timedelta(minutes=5))
    assert store.claim_deliveries(NOW + timedelta(minutes=4), 10, "a", timedelta(minutes=1)) == []
    (retry,) = store.claim_deliveries(NOW + timedelta(minutes=5), 10, "a", timedelta(minutes=1))
    assert retry.attempts == 1
    store.mark_failed(retry.id, "refused", None)
    assert store.delivery_counts() == {"sent": 1, "failed": 1}
    assert store.claim_deliveries(NOW + timedelta(days=1), 10, "a", timedelta(minutes=1)) == []
