"""I/O helper: keep the leases on claimed work alive while that work runs.

A claimed feed or delivery belongs to this instance until its ``lease_until``. Leases are
short (``poll.lease``/``delivery.lease``, 60 s by default) so that the work of an instance
that died moves to another one within a minute; ``keep_leases`` renews them every third of
a lease for as long as the ``async with`` body runs, so a slow fetch or a slow SMTP server
is not mistaken for a dead instance. Renewing is the caller's ``renew`` coroutine, whose
SQL only extends leases this instance still owns. Failures are logged, never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

from monitor.errors import MonitorError

log = logging.getLogger(__name__)


def renew_every(lease: timedelta) -> float:
    """Seconds between renewals: a third of the lease, so one late renewal is survivable."""
    return max(lease.total_seconds() / 3, 0.2)


@contextlib.asynccontextmanager
async def keep_leases(
    renew: Callable[[], Awaitable[object]], lease: timedelta, what: str
) -> AsyncIterator[None]:
    """Call ``renew`` every :func:`renew_every` seconds until the body finishes."""
    period = renew_every(lease)

    async def loop() -> None:
        while True:
            await asyncio.sleep(period)
            try:
                await renew()
            except MonitorError as e:  # the database blinked: try again next period
                log.warning("lease renewal failed what=%s error=%s", what, e)

    task = asyncio.create_task(loop(), name=f"lease:{what}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
