"""Event identity: one event per official + country + kind within a day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from monitor.events import KnownEvent, event_key, find_same
from monitor.models import DateSource, EventKind, Meeting

NOW = datetime(2025, 11, 27, 12, tzinfo=UTC)


def meeting(
    country: str = "Jordan",
    on: date | None = date(2025, 11, 22),
    kind: EventKind = EventKind.MEETING,
) -> Meeting:
    return Meeting(
        "abu-qasra",
        "Murhaf Abu Qasra",
        "Syria",
        "syria",
        country,
        kind,
        on,
        DateSource.TEXT,
        "evidence",
        "received",
    )


def known(
    eid: int,
    country: str = "Jordan",
    on: date | None = date(2025, 11, 22),
    kind: EventKind = EventKind.MEETING,
    seen: datetime = NOW,
) -> KnownEvent:
    return KnownEvent(eid, "abu-qasra", country, kind, on, seen)


CASES = [
    pytest.param(meeting(), [known(1)], 1, id="same-day"),
    pytest.param(meeting(on=date(2025, 11, 23)), [known(1)], 1, id="next-day-timezone"),
    pytest.param(meeting(on=date(2025, 11, 25)), [known(1)], None, id="three-days-apart"),
    pytest.param(meeting(country="Pakistan"), [known(1)], None, id="other-country"),
    pytest.param(meeting(kind=EventKind.CALL), [known(1)], None, id="call-vs-meeting"),
    pytest.param(meeting(on=None), [known(1, seen=NOW)], 1, id="undated-joins-recent"),
    pytest.param(
        meeting(on=None),
        [known(1, seen=datetime(2025, 11, 1, tzinfo=UTC))],
        None,
        id="undated-old-event",
    ),
    pytest.param(
        meeting(),
        [known(1, on=date(2025, 11, 21)), known(2, on=date(2025, 11, 22))],
        2,
        id="closest-wins",
    ),
    pytest.param(meeting(), [], None, id="nothing-known"),
]


@pytest.mark.parametrize(("m", "events", "expected"), CASES)
def test_find_same(m: Meeting, events: list[KnownEvent], expected: int | None) -> None:
    found = find_same(m, events, NOW)
    assert (found.id if found else None) == expected


def test_event_key_is_stable_and_distinct() -> None:
    assert event_key(meeting()) == "abu-qasra|Jordan|meeting|2025-11-22"
    assert event_key(meeting(on=None)).endswith("|undated")
    assert event_key(meeting()) != event_key(meeting(country="Russia"))
