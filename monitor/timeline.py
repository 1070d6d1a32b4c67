"""Pure: lay meetings out on a grid of countries × ISO weeks for the timeline SVG. No I/O.

One mark per event, in the row of its counterpart country and the column of the week of its
day (the stated or published date; the day it was first seen when it has none). Marks of
one cell sit side by side, three to a line; a row grows to hold its busiest week.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from monitor.models import Event, EventKind
from monitor.render import event_subject

LABEL_W = 180  # the country names' column
HEAD_H = 64  # the week labels' band
PAD = 5
STEP = 14  # from one mark to the next, across and down
PER_LINE = 3
RADIUS = 5
COL_W = 2 * PAD + PER_LINE * STEP  # one week
RIGHT = 60  # room for the last week's slanted label


@dataclass(frozen=True, slots=True)
class Mark:
    event_id: int
    x: int
    y: int
    kind: EventKind
    day: date
    dated: bool  # False: placed on the day it was first seen
    title: str


@dataclass(frozen=True, slots=True)
class Row:
    country: str
    y: int  # top
    height: int
    count: int


@dataclass(frozen=True, slots=True)
class Week:
    start: date  # a Monday
    x: int  # left
    label: str


@dataclass(frozen=True, slots=True)
class Timeline:
    weeks: tuple[Week, ...]
    rows: tuple[Row, ...]
    marks: tuple[Mark, ...]
    width: int
    height: int
    hidden: int  # events before the first week drawn (more than ``max_weeks`` in range)


def monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def event_day(e: Event) -> date:
    return e.meeting.date or e.first_seen.date()


def build_timeline(events: Sequence[Event], *, max_weeks: int = 104) -> Timeline:
    """Place every event; keep the latest ``max_weeks`` weeks when the range is longer."""
    if not events:
        return Timeline((), (), (), LABEL_W + COL_W + RIGHT, HEAD_H + STEP + 2 * PAD, 0)
    first = monday(min(event_day(e) for e in events))
    last = monday(max(event_day(e) for e in events))
    n_weeks = (last - first).days // 7 + 1
    if n_weeks > max_weeks:
        first = last - timedelta(weeks=max_weeks - 1)
        n_weeks = max_weeks
    shown = [e for e in events if event_day(e) >= first]
    weeks = tuple(
        Week(start, LABEL_W + i * COL_W, f"{start:%d %b}")
        for i, start in enumerate(first + timedelta(weeks=i) for i in range(n_weeks))
    )

    cells: dict[tuple[str, int], list[Event]] = defaultdict(list)
    for e in sorted(shown, key=lambda e: (event_day(e), e.id)):
        cells[(e.meeting.country, (monday(event_day(e)) - first).days // 7)].append(e)
    per_country: dict[str, int] = defaultdict(int)
    busiest: dict[str, int] = defaultdict(int)
    for (country, _), cell in cells.items():
        per_country[country] += len(cell)
        busiest[country] = max(busiest[country], len(cell))

    rows: list[Row] = []
    marks: list[Mark] = []
    y = HEAD_H
    for country in sorted(per_country, key=lambda c: (-per_country[c], c)):
        lines = -(-busiest[country] // PER_LINE)
        height = lines * STEP + 2 * PAD
        rows.append(Row(country, y, height, per_country[country]))
        for week in range(n_weeks):
            for i, e in enumerate(cells.get((country, week), [])):
                x = weeks[week].x + PAD + STEP // 2 + (i % PER_LINE) * STEP
                cy = y + PAD + STEP // 2 + (i // PER_LINE) * STEP
                day = event_day(e)
                title = f"{event_subject(e)} [{e.meeting.kind}]"
                marks.append(
                    Mark(e.id, x, cy, e.meeting.kind, day, e.meeting.date is not None, title)
                )
        y += height
    width = LABEL_W + n_weeks * COL_W + RIGHT
    return Timeline(weeks, tuple(rows), tuple(marks), width, y, len(events) - len(shown))
