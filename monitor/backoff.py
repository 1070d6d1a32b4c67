"""Pure: when to poll a feed next and when to retry a delivery. No I/O, no clock.

Randomness (jitter) is passed in as ``rand`` in [0, 1) so tests can pin it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

POLL_BACKOFF_MAX = timedelta(hours=6)


def next_poll_at(
    now: datetime,
    interval: timedelta,
    failures: int,
    rand: float,
    *,
    retry_after: timedelta | None = None,
    ceiling: timedelta = POLL_BACKOFF_MAX,
) -> datetime:
    """Healthy feeds: interval plus up to 10% jitter. Failing ones: doubling up to a ceiling,
    where they keep being polled (a source is never given up). Retry-After is a floor."""
    if failures <= 0:
        delay = interval
    else:
        delay = min(interval * (2 ** min(failures, 20)), max(ceiling, interval))
    delay = delay + delay * 0.1 * rand
    if retry_after is not None:
        delay = max(delay, retry_after)
    return now + delay


def next_retry_at(
    now: datetime, attempts: int, rand: float, *, base: timedelta, cap: timedelta
) -> datetime:
    """Delivery retry: base·2^(attempts-1), capped, with full jitter on the upper half."""
    delay: timedelta = min(base * (2 ** max(attempts - 1, 0)), cap)
    return now + delay / 2 + (delay / 2) * rand
