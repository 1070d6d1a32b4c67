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
