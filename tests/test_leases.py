"""keep_leases: a claimed feed or delivery keeps its lease while its work runs, and only then."""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import timedelta

import pytest

from monitor.errors import StoreError
from monitor.leases import keep_leases, renew_every

LEASE = timedelta(seconds=0.6)  # renewed every 0.2 s


@pytest.mark.parametrize(
    ("lease", "expected"),
    [
        pytest.param(timedelta(seconds=60), 20.0, id="a-third-of-the-lease"),
        pytest.param(timedelta(seconds=0.3), 0.2, id="never-below-0.2s"),
    ],
)
def test_renew_every(lease: timedelta, expected: float) -> None:
    assert renew_every(lease) == expected


def test_work_shorter_than_a_period_never_renews() -> None:
    calls: list[float] = []

    async def renew() -> None:
        calls.append(asyncio.get_running_loop().time())

    async def main() -> None:
        for _ in range(100):
            async with keep_leases(renew, LEASE, "feed 1"):
                await asyncio.sleep(0)
        await asyncio.sleep(0.5)  # past a period: nothing was left scheduled

    asyncio.run(main())
    assert calls == []


def test_long_work_renews_every_period_and_stops_with_it() -> None:
    calls: list[float] = []

    async def renew() -> None:
        calls.append(asyncio.get_running_loop().time())

    async def main() -> float:
        async with keep_leases(renew, LEASE, "feed 1"):
            await asyncio.sleep(0.7)
        ended = asyncio.get_running_loop().time()
        await asyncio.sleep(0.5)
        return ended

    ended = asyncio.run(main())
    assert 2 <= len(calls) <= 3, calls  # at ~0.2, 0.4 and 0.6 s into the 0.7 s body
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert all(g >= 0.19 for g in gaps), gaps  # one period apart, never bunched
    assert all(c < ended for c in calls), "renewed after the work ended"


def test_a_failed_renewal_is_logged_and_retried_next_period(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def renew() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StoreError("database is locked")

    async def main() -> None:
        async with keep_leases(renew, LEASE, "deliveries"):
            await asyncio.sleep(0.5)

    with caplog.at_level(logging.WARNING, logger="monitor.leases"):
        asyncio.run(main())
    assert calls >= 2, "the failure did not stop the renewals"
    assert "lease renewal failed what=deliveries error=database is locked" in caplog.text


def test_a_renewal_in_progress_is_cancelled_when_the_work_ends() -> None:
    state = {"started": 0, "finished": 0}

    async def renew() -> None:
        state["started"] += 1
        await asyncio.sleep(10)  # the database hangs
        state["finished"] += 1

    async def main() -> None:
        async with keep_leases(renew, LEASE, "feed 1"):
            await asyncio.sleep(0.3)

    asyncio.run(asyncio.wait_for(main(), timeout=5))
    assert state == {"started": 1, "finished": 0}
