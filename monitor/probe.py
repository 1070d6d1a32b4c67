"""Pure: is this instance healthy, and the one-screen status an operator reads. No I/O.

/healthz answers 200 when the database answered, the instance is not stopping, and the
scheduler fired every tick recently (each within three of its periods, at least 30 s);
503 otherwise, naming the failed check. ``monitor status`` lays the /metrics figures out
for a human.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.metrics import DbSnapshot, TickState

STALE_MIN = 30.0  # seconds: short ticks are judged on this, not on a few missed beats


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    checks: tuple[Check, ...]
    last_tick_age: float | None  # seconds since the poll tick last fired

    def as_json(self, instance: str) -> bytes:
        body = {
            "status": "ok" if self.ok else "unhealthy",
            "instance": instance,
            "last_tick_age_seconds": self.last_tick_age,
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
        }
        return json.dumps(body, indent=1).encode() + b"\n"


def tick_grace(period: float) -> float:
    """How long a tick may go unfired before the scheduler counts as stuck."""
    return max(3 * period, STALE_MIN)


def assess(
    now: datetime,
    *,
    db_ok: bool,
    ticks: Sequence[TickState],
    started_at: datetime,
    stopping: bool = False,
) -> Health:
    """The verdict /healthz serves."""
    checks = [Check("database", db_ok, "answered" if db_ok else "did not answer")]
    checks.append(Check("running", not stopping, "stopping" if stopping else "running"))
    poll_age: float | None = None
    for t in ticks:
        # before its first firing a tick is judged from when the daemon started
        age = (now - (t.fired_at or started_at)).total_seconds()
        if t.name == "poll":
            poll_age = age
        ok = age <= tick_grace(t.period)
        detail = f"fired {age:.1f}s ago, every {t.period:g}s, lag {t.lag:.2f}s"
        checks.append(Check(f"tick_{t.name}", ok, detail if ok else "stuck: " + detail))
    if not ticks:
        checks.append(Check("scheduler", False, "no ticks scheduled"))
    return Health(all(c.ok for c in checks), tuple(checks), poll_age)


# ---------------------------------------------------------------- monitor status


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def render_status(
    *,
    config: str,
    database: str,
    daemon: str,
    db: DbSnapshot,
    health: Mapping[str, Any] | None,
) -> str:
    """``monitor status``: the daemon, its health, and the database's figures at a glance."""
    f = db.feeds
    active = sum(n for state, n in f.states.items() if state != "inactive")
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(f.failing_kinds.items()))
    d = {"pending": 0, "sent": 0, "failed": 0, **db.deliveries}
    lines = [
        f"config:      {config}",
        f"database:    {database}",
        f"daemon:      {daemon}",
    ]
    if health is not None:
        bad = [n for n, c in health.get("checks", {}).items() if not c.get("ok")]
        verdict = health.get("status", "?") + (f" (failed: {', '.join(bad)})" if bad else "")
        lines.append(
            f"health:      {verdict}; poll tick fired "
            f"{_age(health.get('last_tick_age_seconds'))} ago"
        )
    lines += [
        f"feeds:       {active} active: {f.states.get('ok', 0)} ok, "
        f"{f.states.get('failing', 0)} failing" + (f" ({kinds})" if kinds else "") + ", "
        f"{f.states.get('silent', 0)} silent; {f.states.get('inactive', 0)} inactive",
        f"polling:     {f.in_flight} in flight, {f.overdue} overdue"
        + (f" (most by {_age(f.poll_lag)})" if f.overdue else ""),
        f"stored:      {db.items} items, {db.events} events",
        f"deliveries:  {d['sent']} sent, {d['failed']} failed, {d['pending']} pending"
        f" ({db.outbox_due} due; oldest {_age(db.outbox_oldest)})",
        f"instances:   {len(db.lease_owners)} holding leases"
        + (": " + ", ".join(db.lease_owners) if db.lease_owners else ""),
    ]
    return "\n".join(lines) + "\n"
