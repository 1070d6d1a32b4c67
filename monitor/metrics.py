"""Pure: the figures operators watch, and the Prometheus text format they are served in.

Two sources: ``DbSnapshot`` (read from the database at scrape time, so every instance tells
the same story about feeds, items, events and the outbox) and ``Counters`` (this process
only: poll durations, errors by kind, what it stored). No I/O, no clock: ``now`` is passed in.
Text format: https://prometheus.io/docs/instrumenting/exposition_formats/
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

# seconds; a poll is one fetch (plus catch-up pages and full text) then parse and match
POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class FeedStateName(StrEnum):
    OK = "ok"
    FAILING = "failing"  # its last poll failed
    SILENT = "silent"  # works, but nothing new for longer than expected (admins told)
    INACTIVE = "inactive"  # no longer in the config


class FeedRowView(Protocol):
    """What the feed figures need of a stored feed."""

    @property
    def active(self) -> bool: ...
    @property
    def failures(self) -> int: ...
    @property
    def health_state(self) -> str | None: ...
    @property
    def last_error_kind(self) -> str | None: ...
    @property
    def next_poll_at(self) -> datetime: ...
    @property
    def lease_until(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class FeedFigures:
    states: Mapping[str, int]  # FeedStateName → feeds
    failing_kinds: Mapping[str, int]  # last error kind of failing feeds → feeds
    in_flight: int  # leased right now (being polled by some instance)
    overdue: int  # due, not leased: waiting for a free slot
    poll_lag: float  # seconds the most overdue of those is past due (0: on time)


def feed_figures(feeds: Iterable[FeedRowView], now: datetime) -> FeedFigures:
    """Count feeds by state; how far polling runs behind schedule across all instances."""
    states: Counter[str] = Counter({s.value: 0 for s in FeedStateName})
    kinds: Counter[str] = Counter()
    in_flight = overdue = 0
    lag = 0.0
    for f in feeds:
        if not f.active:
            states[FeedStateName.INACTIVE] += 1
            continue
        if f.failures:
            states[FeedStateName.FAILING] += 1
            kinds[f.last_error_kind or "unknown"] += 1
        elif f.health_state == FeedStateName.SILENT:
            states[FeedStateName.SILENT] += 1
        else:
            states[FeedStateName.OK] += 1
        if f.lease_until is not None and f.lease_until > now:
            in_flight += 1
        elif f.next_poll_at <= now:
            overdue += 1
            lag = max(lag, (now - f.next_poll_at).total_seconds())
    return FeedFigures(dict(states), dict(kinds), in_flight, overdue, lag)


@dataclass(frozen=True, slots=True)
class DbSnapshot:
    """What the database says, at ``at``; the same whichever instance is asked."""

    at: datetime
    feeds: FeedFigures
    items: int
    events: int
    deliveries: Mapping[str, int]  # status → rows
    outbox_due: int  # pending rows due now
    outbox_oldest: float | None  # age in seconds of the oldest pending row; None: empty
    lease_owners: tuple[str, ...]  # instances holding a feed or delivery lease


@dataclass(frozen=True, slots=True)
class TickState:
    """One scheduler job as seen by this process."""

    name: str
    period: float  # seconds between runs
    fired_at: datetime | None  # last time the scheduler fired it (run, or skipped as busy)
    started_at: datetime | None  # last run that started
    lag: float  # seconds between the last run's scheduled time and its start
    runs: int
    skipped: int  # fired while its earlier runs were still busy
    running: int


@dataclass
class Histogram:
    """Cumulative-bucket histogram (mutable: this process's counts)."""

    buckets: tuple[float, ...] = POLL_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    n: int = 0

    def observe(self, value: float) -> None:
        if not self.counts:
            self.counts = [0] * len(self.buckets)
        i = bisect.bisect_left(self.buckets, value)
        if i < len(self.counts):
            self.counts[i] += 1
        self.total += value
        self.n += 1


@dataclass
class Counters:
    """This process's running totals since it started (mutable by design: counters)."""

    polls: Counter[str] = field(default_factory=Counter)  # outcome ok | error
    errors: Counter[str] = field(default_factory=Counter)  # error kind
    poll_seconds: Histogram = field(default_factory=Histogram)
    new_items: int = 0
    alerting_events: int = 0
    reloads: Counter[str] = field(default_factory=Counter)  # applied | refused
    purged: Counter[str] = field(default_factory=Counter)  # table
    leases_lost: int = 0  # renewals that found another owner (this process stalled)

    def observe_poll(self, seconds: float, error_kind: str | None, items: int, events: int) -> None:
        self.polls["error" if error_kind else "ok"] += 1
        if error_kind:
            self.errors[error_kind] += 1
        self.poll_seconds.observe(seconds)
        self.new_items += items
        self.alerting_events += events


# ---------------------------------------------------------------- Prometheus text format


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


class _Out:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_: str) -> None:
        self.lines += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}"]

    def sample(self, name: str, value: float, **labels: str) -> None:
        inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
        self.lines.append(f"{name}{{{inner}}} {_num(value)}" if inner else f"{name} {_num(value)}")

    def series(
        self, name: str, kind: str, help_: str, label: str, values: Mapping[str, float]
    ) -> None:
        self.family(name, kind, help_)
        for key in sorted(values):
            self.sample(name, values[key], **{label: key})


def render_metrics(
    db: DbSnapshot | None,
    counters: Counters,
    ticks: Sequence[TickState],
    now: datetime,
    *,
    instance: str,
    version: str,
) -> str:
    """The whole /metrics page. ``db`` None: the database did not answer."""
    o = _Out()
    o.family("monitor_info", "gauge", "This instance; always 1.")
    o.sample("monitor_info", 1, instance=instance, version=version)
    o.family("monitor_database_up", "gauge", "1 when the database answered this scrape.")
    o.sample("monitor_database_up", 0 if db is None else 1)
    if db is not None:
        _render_db(o, db)
    o.series(
        "monitor_polls_total",
        "counter",
        "Feed polls by this instance.",
        "outcome",
        {"ok": counters.polls["ok"], "error": counters.polls["error"]},
    )
    o.series(
        "monitor_fetch_errors_total",
        "counter",
        "Failed polls by this instance, by error kind.",
        "kind",
        dict(counters.errors),
    )
    h = counters.poll_seconds
    name = "monitor_poll_duration_seconds"
    o.family(name, "histogram", "Time to poll one feed: fetch, parse, match, store.")
    running = 0
    for bound, count in zip(h.buckets, h.counts or [0] * len(h.buckets), strict=True):
        running += count
        o.sample(f"{name}_bucket", running, le=_num(bound))
    o.sample(f"{name}_bucket", h.n, le="+Inf")
    o.sample(f"{name}_sum", h.total)
    o.sample(f"{name}_count", h.n)
    o.family("monitor_items_new_total", "counter", "New items stored by this instance.")
    o.sample("monitor_items_new_total", counters.new_items)
    o.family("monitor_events_alerting_total", "counter", "Events this instance set to alert.")
    o.sample("monitor_events_alerting_total", counters.alerting_events)
    o.series(
        "monitor_reloads_total",
        "counter",
        "Config reloads (SIGHUP).",
        "result",
        {"applied": counters.reloads["applied"], "refused": counters.reloads["refused"]},
    )
    o.series(
        "monitor_purged_rows_total",
        "counter",
        "Rows deleted by retention.",
        "table",
        dict(counters.purged),
    )
    o.family("monitor_leases_lost_total", "counter", "Lease renewals that found another owner.")
    o.sample("monitor_leases_lost_total", counters.leases_lost)
    _render_ticks(o, ticks, now)
    return "\n".join(o.lines) + "\n"


def _render_db(o: _Out, db: DbSnapshot) -> None:
    f = db.feeds
    o.series("monitor_feeds", "gauge", "Feeds by state.", "state", f.states)
    o.series(
        "monitor_feeds_failing",
        "gauge",
        "Failing feeds by their last error kind.",
        "kind",
        f.failing_kinds,
    )
    o.family("monitor_feeds_in_flight", "gauge", "Feeds leased by an instance right now.")
    o.sample("monitor_feeds_in_flight", f.in_flight)
    o.family("monitor_feeds_overdue", "gauge", "Due feeds no instance has claimed yet.")
    o.sample("monitor_feeds_overdue", f.overdue)
    o.family("monitor_poll_lag_seconds", "gauge", "How far the most overdue feed is past due.")
    o.sample("monitor_poll_lag_seconds", f.poll_lag)
    o.family("monitor_items", "gauge", "Items stored.")
    o.sample("monitor_items", db.items)
    o.family("monitor_events", "gauge", "Meetings (events) stored.")
    o.sample("monitor_events", db.events)
    statuses = {"pending": 0, "sent": 0, "failed": 0, **db.deliveries}
    o.series("monitor_deliveries", "gauge", "Outbox rows by status.", "status", statuses)
    o.family("monitor_outbox_due", "gauge", "Pending deliveries due now.")
    o.sample("monitor_outbox_due", db.outbox_due)
    o.family("monitor_outbox_oldest_seconds", "gauge", "Age of the oldest pending delivery.")
    o.sample("monitor_outbox_oldest_seconds", db.outbox_oldest or 0.0)
    o.family("monitor_lease_holders", "gauge", "Instances holding a feed or delivery lease.")
    o.sample("monitor_lease_holders", len(db.lease_owners))


def _render_ticks(o: _Out, ticks: Sequence[TickState], now: datetime) -> None:
    o.family("monitor_tick_lag_seconds", "gauge", "Last run's start minus its scheduled time.")
    for t in ticks:
        o.sample("monitor_tick_lag_seconds", t.lag, tick=t.name)
    o.family("monitor_tick_age_seconds", "gauge", "Seconds since the scheduler last fired it.")
    for t in ticks:
        age = (now - t.fired_at).total_seconds() if t.fired_at else -1.0
        o.sample("monitor_tick_age_seconds", age, tick=t.name)
    o.family("monitor_tick_runs_total", "counter", "Runs started.")
    for t in ticks:
        o.sample("monitor_tick_runs_total", t.runs, tick=t.name)
    o.family("monitor_tick_skipped_total", "counter", "Firings skipped: earlier runs busy.")
    for t in ticks:
        o.sample("monitor_tick_skipped_total", t.skipped, tick=t.name)
    o.family("monitor_tick_running", "gauge", "Runs in flight.")
    for t in ticks:
        o.sample("monitor_tick_running", t.running, tick=t.name)
