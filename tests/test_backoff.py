"""Backoff: when to poll again and when to retry a delivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.backoff import next_poll_at, next_retry_at

NOW = datetime(2025, 11, 27, tzinfo=UTC)
TEN = timedelta(minutes=10)


@pytest.mark.parametrize(
    ("failures", "rand", "retry_after", "expected"),
    [
        pytest.param(0, 0.0, None, TEN, id="healthy"),
        pytest.param(0, 0.5, None, TEN * 1.05, id="healthy-jitter"),
        pytest.param(1, 0.0, None, TEN * 2, id="one-failure-doubles"),
        pytest.param(3, 0.0, None, TEN * 8, id="three-failures"),
        pytest.param(30, 0.0, None, timedelta(hours=6), id="ceiling-keeps-polling"),
        pytest.param(1, 0.0, timedelta(hours=1), timedelta(hours=1), id="retry-after-floor"),
        pytest.param(3, 0.0, timedelta(minutes=1), TEN * 8, id="retry-after-shorter"),
    ],
)
def test_next_poll_at(
    failures: int, rand: float, retry_after: timedelta | None, expected: timedelta
) -> None:
    assert next_poll_at(NOW, TEN, failures, rand, retry_after=retry_after) - NOW == expected


@pytest.mark.parametrize(
    ("attempts", "rand", "expected"),
    [
        pytest.param(1, 0.0, timedelta(seconds=15), id="first-low"),
        pytest.param(1, 1.0, timedelta(seconds=30), id="first-high"),
        pytest.param(3, 1.0, timedelta(seconds=120), id="third"),
        pytest.param(20, 1.0, timedelta(hours=1), id="capped"),
    ],
)
def test_next_retry_at(attempts: int, rand: float, expected: timedelta) -> None:
    got = next_retry_at(NOW, attempts, rand, base=timedelta(seconds=30), cap=timedelta(hours=1))
    assert got - NOW == expected


HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("interval", "failures", "rand", "retry_after", "ceiling", "expected"),
    [
        # jitter spreads feeds that fell due together: 0–10% on top, never below the interval
        pytest.param(TEN, 0, 0.999, None, HOUR, TEN * 1.0999, id="jitter-top"),
        pytest.param(TEN, 2, 0.5, None, HOUR, TEN * 4 * 1.05, id="backoff-jitter"),
        pytest.param(TEN, 10, 0.0, None, HOUR, HOUR, id="custom-ceiling"),
        pytest.param(TEN, 10, 1.0, None, HOUR, HOUR * 1.1, id="ceiling-jitter"),
        # a feed polled less often than the ceiling keeps its own interval when failing
        pytest.param(HOUR * 12, 3, 0.0, None, HOUR * 6, HOUR * 12, id="interval-over-ceiling"),
        # Retry-After on 429/503 is a floor for that URL, capped at the ceiling
        pytest.param(TEN, 1, 0.0, timedelta(seconds=90), HOUR, TEN * 2, id="retry-after-short"),
        pytest.param(TEN, 1, 0.0, HOUR / 2, HOUR, HOUR / 2, id="retry-after-honoured"),
        pytest.param(TEN, 1, 0.0, timedelta(days=365), HOUR, HOUR, id="retry-after-capped"),
        pytest.param(TEN, 0, 0.0, timedelta(0), HOUR, TEN, id="retry-after-zero"),
    ],
)
def test_next_poll_at_jitter_ceiling_retry_after(
    interval: timedelta,
    failures: int,
    rand: float,
    retry_after: timedelta | None,
    ceiling: timedelta,
    expected: timedelta,
) -> None:
    got = next_poll_at(NOW, interval, failures, rand, retry_after=retry_after, ceiling=ceiling)
    assert got - NOW == expected


def test_failing_feed_is_polled_forever_at_the_ceiling() -> None:
    delays = [next_poll_at(NOW, TEN, n, 0.0) - NOW for n in range(1, 200)]
    assert delays == sorted(delays)
    assert delays[-1] == timedelta(hours=6) and all(d <= timedelta(hours=6) for d in delays)
