"""I/O: APScheduler 3.x runs the ticks; the database decides what is due.

Jobs only *select* work (due feeds, due deliveries). In-flight ticks are tracked so a stop
can let them finish instead of cancelling them halfway through a feed, and each tick's
firings, lag and runs are kept for /healthz and /metrics (``states``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.metrics import TickState

log = logging.getLogger(__name__)


class Ticks:
    """A scheduler whose jobs are coroutines we can wait for on shutdown."""

    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
        )
        self._running: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._stats: dict[str, _Stat] = {}
        self._scheduler.add_listener(self._fired, EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES)

    def every(
        self,
        name: str,
        period: timedelta,
        job: Callable[[], Awaitable[Any]],
        *,
        overlap: int = 1,
    ) -> None:
        """Run ``job`` every ``period``; up to ``overlap`` runs may be in flight at once."""
        stat = self._stats[name] = _Stat(period.total_seconds())

        async def run() -> None:
            if self._stopping:
                return
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            stat.runs += 1
            stat.running += 1
            stat.started_at = _now()
            try:
                await job()
            except Exception:  # a failing tick is logged and retried at the next one
                log.exception("tick failed job=%s", name)
            finally:
                stat.running -= 1
                self._running.discard(task)

        self._scheduler.add_job(
            run,
            "interval",
            seconds=period.total_seconds(),
            id=name,
            name=name,
            next_run_time=_now(),
            replace_existing=True,
            max_instances=max(1, overlap),
        )

    def reschedule(self, name: str, period: timedelta) -> None:
        self._scheduler.reschedule_job(name, trigger="interval", seconds=period.total_seconds())
        if name in self._stats:
            self._stats[name].period = period.total_seconds()

    @property
    def stopping(self) -> bool:
        return self._stopping

    def states(self) -> list[TickState]:
        """Each tick's firings, lag and runs so far (for /healthz and /metrics)."""
        return [
            TickState(name, s.period, s.fired_at, s.started_at, s.lag, s.runs, s.skipped, s.running)
            for name, s in self._stats.items()
        ]

    def _fired(self, event: JobSubmissionEvent) -> None:
        stat = self._stats.get(event.job_id)
        if stat is None:
            return
        now = _now()
        stat.fired_at = now
        if event.code == EVENT_JOB_MAX_INSTANCES:
            stat.skipped += 1
        elif event.scheduled_run_times:
            stat.lag = max((now - max(event.scheduled_run_times)).total_seconds(), 0.0)

    def start(self) -> None:
        self._scheduler.start()

    async def stop(self, timeout: float) -> bool:
        """Stop starting ticks, wait up to ``timeout`` for running ones; True if all finished."""
        self._stopping = True
        self._scheduler.pause()
        pending = set(self._running)
        finished = True
        if pending:
            log.info("waiting for in-flight work ticks=%d", len(pending))
            _, not_done = await asyncio.wait(pending, timeout=timeout)
            finished = not not_done
        self._scheduler.shutdown(wait=False)
        return finished


@dataclass
class _Stat:
    period: float
    fired_at: datetime | None = None
    started_at: datetime | None = None
    lag: float = 0.0
    runs: int = 0
    skipped: int = 0
    running: int = 0


def _now() -> datetime:
    return datetime.now(UTC)
