"""Store on real SQLite and real PostgreSQL: every test runs on both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
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
from monitor.routing import route
from monitor.store import Store

NOW = datetime(2025, 11, 27, 12, tzinfo=UTC)
FEED = FeedSpec("Wire", "http://127.0.0.1:1/feed.xml", timedelta(minutes=10))
DESK = SubscriberSpec("desk", ("json://127.0.0.1:1/a", "json://127.0.0.1:1/b"))
JORDAN_ONLY = SubscriberSpec("jordan-desk", ("json://127.0.0.1:1/j",), countries=("Jordan",))


def make_store(url: str) -> Store:
    db.upgrade(url)
    return Store(db.make_engine(url))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The same tests on both databases (PostgreSQL: a fresh schema, see tests/pg.py)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    s = make_store(url)
    yield s
    s.engine.dispose()


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


def test_claims_take_the_most_overdue_first_up_to_the_limit_with_their_whole_state(
    store: Store,
) -> None:
    feeds = [FeedSpec(f"F{i}", f"http://127.0.0.1:1/{i}.xml", FEED.interval) for i in range(5)]
    store.sync_feeds(feeds, NOW)
    for i, f in enumerate(sorted(store.feeds(), key=lambda f: f.url)):
        # feed i fell due i minutes before NOW, and was last seen with validators
        store.save_poll(f.id, NOW, NOW - timedelta(minutes=i), etag=f'"e{i}"', new_items=1)
    taken = store.claim_due_feeds(NOW, 3, "a", timedelta(minutes=1))
    assert [f.url for f in taken] == [feeds[i].url for i in (4, 3, 2)]
    listed = {f.id: f for f in store.feeds()}
    assert taken == [listed[f.id] for f in taken]  # every field, as the listing reads it
    assert taken[0].etag == '"e4"' and taken[0].last_new_item_at == NOW
    assert len(store.claim_due_feeds(NOW, 3, "b", timedelta(minutes=1))) == 2


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


def test_sync_feeds_renames_and_revives_feeds_and_keeps_their_state(store: Store) -> None:
    other = FeedSpec("Other", "http://127.0.0.1:1/other.xml", FEED.interval)
    store.sync_feeds([FEED, other], NOW)
    (feed,) = [
        f for f in store.claim_due_feeds(NOW, 10, "a", timedelta(minutes=1)) if f.url == FEED.url
    ]
    store.save_poll(feed.id, NOW, NOW + timedelta(hours=1), etag='"v1"')
    store.sync_feeds([other], NOW)  # FEED removed from the config
    store.sync_feeds([FeedSpec("Wire, renamed", FEED.url, FEED.interval), other], NOW)  # back
    store.sync_feeds([FeedSpec("Wire, renamed", FEED.url, FEED.interval), other], NOW)  # again
    by_url = {f.url: f for f in store.feeds()}
    assert len(by_url) == 2, "a revived feed is the same row, not a new one"
    wire = by_url[FEED.url]
    assert (wire.id, wire.name, wire.active) == (feed.id, "Wire, renamed", True)
    # its validators and schedule survive: a removed-then-restored feed is not polled afresh
    assert (wire.etag, wire.next_poll_at) == ('"v1"', NOW + timedelta(hours=1))
    assert [f.name for f in store.feeds()] == ["Other", "Wire, renamed"], "listed by name"


def record(store: Store, feed_id: int, key: str, m: Meeting, subs: list[SubscriberSpec]) -> int:
    """Store one entry reporting ``m``; the id of the event it made or joined."""
    router = lambda views, kind: route(views, kind, subs, NOW)  # noqa: E731
    store.record_entries(feed_id, [(entry(key), [m])], router, NOW)
    (event,) = [
        e for e in store.recent_events(50) if any(s.title == f"title {key}" for s in e.sources)
    ]
    return event.id


def test_the_same_meeting_seen_from_the_other_side_joins_its_event(store: Store) -> None:
    store.sync_feeds([FEED], NOW)
    (feed,) = store.claim_due_feeds(NOW, 10, "a", timedelta(minutes=1))
    syria_side = meeting("Jordan")
    jordan_side = replace(
        syria_side,
        official_id="hneiti",
        official_name="Yousef Huneiti",
        official_country="Jordan",
        country="Syria",
        evidence="Huneiti met his Syrian counterpart Abu Qasra.",
        counterpart_id="abu-qasra",
    )
    first = record(store, feed.id, "a", syria_side, [DESK])
    assert record(store, feed.id, "b", jordan_side, [DESK]) == first, "one meeting, one event"
    assert record(store, feed.id, "c", meeting("Pakistan"), [DESK]) != first, "another pair"


def test_meeting_creates_event_and_routed_outbox_rows_once(store: Store) -> None:
    store.sync_feeds([FEED], NOW)
    (feed,) = store.claim_due_feeds(NOW, 10, "a", timedelta(minutes=1))
    subs = [DESK, JORDAN_ONLY]
    event_id = record(store, feed.id, "1", meeting(), subs)
    # another outlet, a day later in its time zone: a source, not a new event
    assert record(store, feed.id, "2", meeting(on=date(2025, 11, 26)), subs) == event_id
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
    record(store, feed.id, "1", meeting(), [JORDAN_ONLY, DESK])
    first, second = store.claim_deliveries(NOW, 10, "a", timedelta(minutes=1))
    store.mark_sent(first.id, NOW)
    store.mark_failed(second.id, "refused", NOW + timedelta(minutes=5))
    assert store.claim_deliveries(NOW + timedelta(minutes=4), 10, "a", timedelta(minutes=1)) == []
    (retry,) = store.claim_deliveries(NOW + timedelta(minutes=5), 10, "a", timedelta(minutes=1))
    assert retry.attempts == 1
    store.mark_failed(retry.id, "refused", None)
    assert store.delivery_counts() == {"sent": 1, "failed": 1}
    assert store.claim_deliveries(NOW + timedelta(days=1), 10, "a", timedelta(minutes=1)) == []
