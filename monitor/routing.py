"""Pure: which subscribers get an event, on which channels, when, and batched how.

Filters (watchlist, official, country, kind), digest times (a cron line or "HH:MM" in the
subscriber's time zone) and quiet hours ("22:00-07:00", which defer alerts to their end and
never drop them). No I/O and no clock: ``now`` is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.models import Batch, DeliveryMode, EventKind, SubscriberSpec, channel_id

_DAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
SEARCH_DAYS = 366 * 5  # a cron line that never fires in five years is an error


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed cron line: minute hour day-of-month month day-of-week (0 or 7 = Sunday)."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    def fires_on(self, d: date) -> bool:
        if d.month not in self.months:
            return False
        by_day, by_weekday = d.day in self.days, (d.weekday() + 1) % 7 in self.weekdays
        if self.any_day or self.any_weekday:  # cron: when both are restricted, either matches
            return by_day and by_weekday
        return by_day or by_weekday


def _field(text: str, lo: int, hi: int, names: dict[str, int] | None = None) -> set[int]:
    out: set[int] = set()
    for part in text.lower().split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            first, last = lo, hi
        else:
            a, _, b = body.partition("-")
            first = names[a] if names and a in names else int(a)
            last = (names[b] if names and b in names else int(b)) if b else first
            if step_text and not b:
                last = hi
        if not (lo <= first <= last <= hi) or step < 1:
            raise ValueError(f"{part!r} is outside {lo}-{hi}")
        out.update(range(first, last + 1, step))
    return out


def parse_cron(expr: str) -> Cron:
    """ "HH:MM" (every day) or five cron fields; raises ValueError naming the problem."""
    expr = expr.strip()
    if m := _HHMM.match(expr):
        expr = f"{int(m.group(2))} {int(m.group(1))} * * *"
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(
            f"expected HH:MM or 5 cron fields (minute hour day month weekday), got {expr!r}"
        )
    try:
        minute, hour, day, month, weekday = (
            _field(fields[0], 0, 59),
            _field(fields[1], 0, 23),
            _field(fields[2], 1, 31),
            _field(fields[3], 1, 12, _MONTHS),
            {d % 7 for d in _field(fields[4], 0, 7, _DAYS)},
        )
    except (ValueError, KeyError) as e:
        raise ValueError(f"bad cron line {expr!r}: {e}") from None
    cron = Cron(
        tuple(sorted(minute)),
        tuple(sorted(hour)),
        frozenset(day),
        frozenset(month),
        frozenset(weekday),
        fields[2] == "*",
        fields[4] == "*",
    )
    next_fire(cron, datetime(2000, 1, 1, tzinfo=UTC))  # never fires (Feb 30): error now
    return cron


def next_fire(cron: Cron, after: datetime, tz: tzinfo = UTC) -> datetime:
    """The first time strictly after ``after`` the cron line fires in ``tz``, in UTC."""
    local = after.astimezone(tz)
    for offset in range(SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        if not cron.fires_on(day):
            continue
        for h in cron.hours:
            for mi in cron.minutes:
                at = datetime.combine(day, time(h, mi), tzinfo=tz).astimezone(UTC)
                if at > after:
                    return at
    raise ValueError("the cron line never fires")


def parse_quiet(text: str) -> tuple[time, time]:
    """ "22:00-07:00" → (start, end); the span may wrap midnight."""
    start, sep, end = text.replace(" ", "").partition("-")
    a, b = _HHMM.match(start), _HHMM.match(end)
    if not sep or a is None or b is None or start == end:
        raise ValueError(f"expected quiet hours like 22:00-07:00, got {text!r}")
    return time(int(a.group(1)), int(a.group(2))), time(int(b.group(1)), int(b.group(2)))


def zone(name: str) -> ZoneInfo:
    """An IANA time zone by name; ValueError when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name like Europe/London)"
        ) from None


def quiet_end(quiet: tuple[time, time] | None, tz: ZoneInfo, now: datetime) -> datetime | None:
    """When the quiet hours around ``now`` end (UTC), or None when ``now`` is not quiet."""
    if quiet is None:
        return None
    start, end = quiet
    local = now.astimezone(tz)
    t = time(local.hour, local.minute, local.second, local.microsecond)
    if start < end:
        inside, day = start <= t < end, local.date()
    else:  # wraps midnight: 22:00-07:00
        inside = t >= start or t < end
        day = local.date() + timedelta(days=1) if t >= start else local.date()
    return datetime.combine(day, end, tzinfo=tz).astimezone(UTC) if inside else None


def deliver_at(sub: SubscriberSpec, now: datetime) -> tuple[datetime, Batch | None]:
    """When a new alert for ``sub`` goes out, and whether it waits in a batch."""
    tz = zone(sub.timezone)
    if sub.mode is DeliveryMode.DIGEST:
        at = next_fire(parse_cron(sub.digest_at), now, tz)
        return quiet_end(sub.quiet_hours, tz, at) or at, Batch.DIGEST
    end = quiet_end(sub.quiet_hours, tz, now)
    return (end, Batch.HELD) if end is not None else (now, None)


@dataclass(frozen=True, slots=True)
class View:
    """An event as one of its watched officials sees it (two when both sides are watched)."""

    watchlist: str
    official_id: str
    country: str


@dataclass(frozen=True, slots=True)
class Route:
    subscriber: str
    channel: str  # models.channel_id of the URL
    due_at: datetime
    batch: Batch | None


def route(
    views: Iterable[View], kind: EventKind, subscribers: Sequence[SubscriberSpec], now: datetime
) -> list[Route]:
    """One route per channel of each subscriber whose filters accept some view of the event."""
    seen = list(views)
    out: list[Route] = []
    for sub in subscribers:
        if not any(
            sub.wants(
                watchlist=v.watchlist, official_id=v.official_id, country=v.country, kind=kind
            )
            for v in seen
        ):
            continue
        at, batch = deliver_at(sub, now)
        out += [Route(sub.name, channel_id(url), at, batch) for url in dict.fromkeys(sub.notify)]
    return out
