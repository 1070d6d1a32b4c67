"""Pure: an event's row and the merge rules' values, both ways (monitor.eventrows)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from monitor.eventrows import (
    changes_of,
    day_start,
    distinct,
    event_values,
    known_event,
    lock_key,
    seen_at,
)
from monitor.events import KnownEvent, Report
from monitor.models import DateSource, Entry, EventKind, Meeting
from tests.test_store_events import meeting

NOW = datetime(2025, 11, 27, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        pytest.param(NOW - timedelta(days=2), NOW - timedelta(days=2), id="past-kept"),
        pytest.param(NOW + timedelta(hours=3), NOW, id="future-clamped-to-now"),
        pytest.param(None, NOW, id="undated-is-now"),
    ],
)
def test_seen_at(published: datetime | None, expected: datetime) -> None:
    assert seen_at(Entry("k", "t", "x", None, published), NOW) == expected


def test_distinct_keeps_the_first_of_each_key_in_feed_order() -> None:
    a1, b, a2 = Entry("a", "first", ""), Entry("b", "b", ""), Entry("a", "second", "")
    got = distinct([(a1, []), (b, []), (a2, [meeting()])])
    assert list(got) == ["a", "b"] and got["a"] == (a1, [])


def test_lock_key_is_the_same_from_either_side() -> None:
    syria = meeting("Pakistan")
    pakistan = Meeting(
        "pk",
        "P",
        "Pakistan",
        "pakistan",
        "Syria",
        EventKind.MEETING,
        None,
        DateSource.UNKNOWN,
        "e",
        "met",
        "c",
    )
    assert lock_key(Report(syria)) == lock_key(Report(pakistan)) == "meeting|Pakistan|Syria"


def test_day_start_is_midnight_utc() -> None:
    assert day_start(date(2025, 11, 26)) == datetime(2025, 11, 26, tzinfo=UTC)


def test_a_row_made_from_values_reads_back_as_the_event() -> None:
    m = meeting("Jordan", date(2025, 11, 22))
    row = SimpleNamespace(id=7, anchor=None, peer_official_id=None, **event_values(m, NOW))
    assert known_event(row) == KnownEvent(
        7,
        "abu-qasra",
        "Syria",
        "Jordan",
        EventKind.MEETING,
        date(2025, 11, 22),
        NOW,
        "",
        m.counterpart,
        m.official_name,
        m.evidence,
    )


@pytest.mark.parametrize(
    ("before_date", "after_date", "expected"),
    [
        pytest.param(None, date(2025, 11, 25), {"event_date", "date_source"}, id="date-filled"),
        pytest.param(date(2025, 11, 25), date(2025, 11, 25), set(), id="nothing-new"),
    ],
)
def test_changes_of_writes_only_what_absorb_filled_in(
    before_date: date | None, after_date: date | None, expected: set[str]
) -> None:
    m = meeting(on=after_date)
    before = KnownEvent(
        1,
        m.official_id,
        m.official_country,
        m.country,
        m.kind,
        before_date,
        NOW,
        "",
        m.counterpart,
        m.official_name,
        m.evidence,
    )
    after = KnownEvent(
        1,
        m.official_id,
        m.official_country,
        m.country,
        m.kind,
        after_date,
        NOW,
        "",
        m.counterpart,
        m.official_name,
        m.evidence,
    )
    assert set(changes_of(before, after, Report(m))) == expected
