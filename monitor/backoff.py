"""Pure: when to poll a feed next and when to retry a delivery. No I/O, no clock.

Randomness (jitter) is passed in as ``rand`` in [0, 1) so tests can pin it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

POLL_BACKOFF_MAX = timedelta(hours=6)
# A server may ask for a pause, but not park a feed forever; next_poll_at caps it at the
# backoff ceiling too. This clamp also keeps timedelta() from overflowing on absurd values.
_MAX_RETRY_AFTER = timedelta(days=365)


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
    where they keep being polled (a source is never given up). Retry-After (for this URL) is
    a floor, itself capped at the ceiling so no server can park a feed for days."""
    top = max(ceiling, interval)
    delay = interval if failures <= 0 else min(interval * 2 ** min(failures, 20), top)
    delay = delay + delay * 0.1 * rand
    if retry_after is not None:
        delay = max(delay, min(retry_after, top))
    return now + delay


def next_retry_at(
    now: datetime, attempts: int, rand: float, *, base: timedelta, cap: timedelta
) -> datetime:
    """Delivery retry: base·2^(attempts-1), capped, with full jitter on the upper half."""
    delay: timedelta = min(base * (2 ** max(attempts - 1, 0)), cap)
    return now + delay / 2 + (delay / 2) * rand


def parse_retry_after(value: str, now: datetime) -> timedelta | None:
    """Turn a Retry-After value (seconds or HTTP-date, RFC 9110 §10.2.3) into a delay."""
    value = value.strip()
    if not value:
        return None
    if value.lstrip("-").isdigit():
        # RFC 9110 only allows non-negative digits; a negative delay means "now".
        seconds = min(max(int(value), 0), int(_MAX_RETRY_AFTER.total_seconds()))
        return timedelta(seconds=seconds)
    when = parse_http_date(value)
    if when is None:
        return None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return min(max(when - now, timedelta(0)), _MAX_RETRY_AFTER)


def parse_http_date(value: str) -> datetime | None:
    """An HTTP-date (RFC 9110 §5.6.7, any of its three forms) as an aware UTC datetime."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # "-0000" and obsolete zone names come back naive; HTTP-dates are always GMT.
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
