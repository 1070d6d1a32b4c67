"""Routing (pure): filters, digest times and quiet hours, with ``now`` passed in."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from monitor.models import Batch, DeliveryMode, EventKind, SubscriberSpec, channel_id
from monitor.routing import View, deliver_at, next_fire, parse_cron, parse_quiet, quiet_end, route

PARIS = ZoneInfo("Europe/Paris")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "after", "tz", "expected"),
    [
        pytest.param("08:00", utc(2025, 11, 27, 6), UTC, utc(2025, 11, 27, 8), id="hhmm-today"),
        pytest.param("08:00", utc(2025, 11, 27, 8), UTC, utc(2025, 11, 28, 8), id="strictly-after"),
        pytest.param(
            "08:00", utc(2025, 11, 27, 6), PARIS, utc(2025, 11, 27, 7), id="local-time-winter"
        ),
        pytest.param(
            "08:00", utc(2025, 7, 1, 3), PARIS, utc(2025, 7, 1, 6), id="local-time-summer"
        ),
        pytest.param(
            "30 17 * * mon-fri", utc(2025, 11, 28, 18), UTC, utc(2025, 12, 1, 17, 30), id="weekdays"
        ),
        pytest.param("0 */6 * * *", utc(2025, 11, 27, 7), UTC, utc(2025, 11, 27, 12), id="step"),
        pytest.param("0 9 1 * *", utc(2025, 11, 27), UTC, utc(2025, 12, 1, 9), id="monthly"),
        pytest.param("0 9 1 * 1", utc(2025, 11, 27), UTC, utc(2025, 12, 1, 9), id="day-or-weekday"),
        pytest.param(
            "0 2 * * *", utc(2025, 3, 29, 12), PARIS, utc(2025, 3, 30, 1), id="dst-gap-still-fires"
        ),
    ],
)
def test_next_fire(expr: str, after: datetime, tz: ZoneInfo, expected: datetime) -> None:
    assert next_fire(parse_cron(expr), after, tz) == expected


@pytest.mark.parametrize("bad", ["8am", "61 * * * *", "* * * *", "0 9 30 2 *", "0 9 * * funday"])
def test_bad_cron_lines(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_cron(bad)


QUIET = (time(22), time(7))


@pytest.mark.parametrize(
    ("quiet", "now", "expected"),
    [
        pytest.param(QUIET, utc(2025, 11, 27, 23), utc(2025, 11, 28, 6), id="evening-paris"),
        pytest.param(QUIET, utc(2025, 11, 28, 2), utc(2025, 11, 28, 6), id="night"),
        pytest.param(QUIET, utc(2025, 11, 28, 6), None, id="ends-at-end"),
        pytest.param(QUIET, utc(2025, 11, 28, 12), None, id="day"),
        pytest.param((time(12), time(14)), utc(2025, 11, 28, 12), utc(2025, 11, 28, 13), id="noon"),
        pytest.param(None, utc(2025, 11, 28, 2), None, id="none"),
    ],
)
def test_quiet_end(
    quiet: tuple[time, time] | None, now: datetime, expected: datetime | None
) -> None:
    assert quiet_end(quiet, PARIS, now) == expected


def test_parse_quiet() -> None:
    assert parse_quiet("22:00-07:00") == QUIET
    for bad in ["22-07", "22:00", "07:00-07:00", "25:00-07:00"]:
        with pytest.raises(ValueError):
            parse_quiet(bad)


IMMEDIATE = SubscriberSpec("desk", ("json://127.0.0.1/a",), timezone="Europe/Paris")
QUIET_DESK = SubscriberSpec(
    "night", ("json://127.0.0.1/n",), timezone="Europe/Paris", quiet_hours=QUIET
)
DIGEST = SubscriberSpec(
    "daily",
    ("json://127.0.0.1/d",),
    mode=DeliveryMode.DIGEST,
    digest_at="23:30",
    timezone="Europe/Paris",
    quiet_hours=QUIET,
)


@pytest.mark.parametrize(
    ("sub", "now", "expected"),
    [
        pytest.param(IMMEDIATE, utc(2025, 11, 27, 23), (utc(2025, 11, 27, 23), None), id="now"),
        pytest.param(
            QUIET_DESK, utc(2025, 11, 27, 23), (utc(2025, 11, 28, 6), Batch.HELD), id="held"
        ),
        pytest.param(QUIET_DESK, utc(2025, 11, 27, 12), (utc(2025, 11, 27, 12), None), id="awake"),
        pytest.param(
            DIGEST,
            utc(2025, 11, 27, 12),
            (utc(2025, 11, 28, 6), Batch.DIGEST),
            id="digest-in-quiet-hours-waits",
        ),
    ],
)
def test_deliver_at(
    sub: SubscriberSpec, now: datetime, expected: tuple[datetime, Batch | None]
) -> None:
    assert deliver_at(sub, now) == expected


def test_route_filters_by_watchlist_official_country_and_kind() -> None:
    subs = [
        SubscriberSpec("all", ("json://127.0.0.1/all", "json://127.0.0.1/all2")),
        SubscriberSpec("jordan", ("json://127.0.0.1/j",), countries=("Jordan",)),
        SubscriberSpec("yev", ("json://127.0.0.1/y",), officials=("yevkurov",)),
        SubscriberSpec("other-list", ("json://127.0.0.1/o",), watchlists=("turkey",)),
        SubscriberSpec("plans", ("json://127.0.0.1/p",), kinds=(EventKind.PLANNED,)),
    ]
    now = utc(2025, 11, 27, 12)
    views = [View("syria", "abu-qasra", "Russia"), View("russia", "yevkurov", "Syria")]
    routes = route(views, EventKind.MEETING, subs, now)
    assert [(r.subscriber, r.channel) for r in routes] == [
        ("all", channel_id("json://127.0.0.1/all")),
        ("all", channel_id("json://127.0.0.1/all2")),
        ("yev", channel_id("json://127.0.0.1/y")),
    ], "the counterpart is watched too: its subscribers get the one event"
    assert [r.subscriber for r in route(views, EventKind.PLANNED, subs, now)] == ["plans"]
    assert {r.subscriber for r in route(views, EventKind.VISIT, subs, now)} == {"all", "yev"}
