"""I/O: APScheduler 3.x runs the ticks; the database decides what is due.

Jobs only *select* work (due feeds, due deliveries). In-flight ticks are tracked so a stop
can let them finish instead of cancelling them halfway through a feed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


class Ticks:
    """A scheduler whose jobs are coroutines we can wait for on shutdown."""

    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
        )
        self._running: set[asyncio.Task[Any]] = set()
        self._stopping = False

    def every(self, name: str, period: timedelta, job: Callable[[], Awaitable[Any]]) -> None:
        async def run() -> None:
            if self._stopping:
                return
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            try:
                await job()
            except Exception:  # a failing tick is logged and retried at the next one
                log.exception("tick failed job=%s", name)
            finally:
                self._running.discard(task)

        self._scheduler.add_job(
            run,
            "interval",
            seconds=period.total_seconds(),
            id=name,
            name=name,
            next_run_time=_now(),
            replace_existing=True,
        )

    def reschedule(self, name: str, period: timedelta) -> None:
        self._scheduler.reschedule_job(name, trigger="interval", seconds=period.total_seconds())

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


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
