"""Parsing and matching in worker processes (issue 7): real processes, real HTTP on 127.0.0.1,
real SQLite. The values that come back equal what the same code gives in this process; a
config reload, an unreadable feed and a killed worker are handled; nothing outlives close.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psutil
import pytest

from monitor.config import load_config
from monitor.deps import close
from monitor.errors import ParseError
from monitor.gazetteer import load_gazetteer
from monitor.match import Matcher
from monitor.models import Entry, FeedSpec, Watchlist
from monitor.parse import parse_feed
from monitor.pipeline import poll_due
from monitor.store import FeedState
from monitor.workers import WorkerCrash, Workers
from tests.site import Reply, Running, poll_all, rss, serve_site, write_config

MEETING = (
    "pk-1",
    "Defence Minister receives Pakistani ambassador",
    "Syria's Defence Minister Murhaf Abu Qasra received the Ambassador of Pakistan, Air "
    "Marshal Saeed Afzal, to discuss training and air defence.",
)
SPEECH = ("sp-1", "Minister speaks at academy", "The minister spoke to cadets about history.")
BODY = rss(MEETING, SPEECH)
URL = "http://127.0.0.1:9/feed.xml"
HEADERS = {"content-type": "application/rss+xml"}


@pytest.fixture
def watchlists(tmp_path: Path) -> tuple[Watchlist, ...]:
    return load_config(write_config(tmp_path, [])).watchlists


def spec(url: str = URL) -> FeedSpec:
    return FeedSpec("F", url, timedelta(minutes=10))


def gone(pids: list[int]) -> bool:
    return all(not psutil.pid_exists(p) or psutil.Process(p).status() == "zombie" for p in pids)


def test_parse_and_match_in_workers_equal_this_process(
    watchlists: tuple[Watchlist, ...],
) -> None:
    here = parse_feed(URL, BODY, HEADERS)
    matcher = Matcher(watchlists, load_gazetteer())
    expected = [(e, matcher.match(e.title, e.text, None)) for e in here]

    async def go() -> tuple[list[Entry], list[object], list[object], list[int]]:
        workers = Workers(watchlists, 2)
        try:
            pids = await asyncio.to_thread(workers.warm)
            page, found = await workers.parse(watchlists, spec(), URL, BODY, HEADERS, 0)
            unmatched, none = await workers.parse(watchlists, spec(), URL, BODY, HEADERS, None)
            assert unmatched.entries == page.entries and none == []
            later = await workers.match(watchlists, page.entries)
            return page.entries, list(found), list(later), pids
        finally:
            await workers.aclose()

    entries, found, later, pids = asyncio.run(go())
    assert entries == here
    assert found == expected and later == expected
    assert expected[0][1] and not expected[1][1], "one meeting, one speech"
    assert pids and gone(pids), "close stops every worker"


def test_unreadable_feed_is_a_parse_error_and_worker_logs_come_back(
    watchlists: tuple[Watchlist, ...], caplog: pytest.LogCaptureFixture
) -> None:
    malformed = BODY.replace(b"</channel></rss>", b"<item><title>a & b</title></item>")

    async def go() -> None:
        workers = Workers(watchlists, 1)
        try:
            with pytest.raises(ParseError) as caught:
                await workers.parse(watchlists, spec(), URL, b"<html><body>hi</body></html>", {})
            assert caught.value.url == URL and "HTML page" in str(caught.value)
            page, _ = await workers.parse(watchlists, spec(), URL, malformed, HEADERS)
            assert len(page.entries) == 3
        finally:
            await workers.aclose()

    with caplog.at_level(logging.WARNING, logger="monitor"):
        asyncio.run(go())
    assert any(
        r.name == "monitor.parse" and r.getMessage().startswith("feed malformed but readable")
        for r in caplog.records
    )


def test_new_watchlists_replace_the_pool_and_a_killed_worker_is_replaced(
    tmp_path: Path, watchlists: tuple[Watchlist, ...]
) -> None:
    entry = parse_feed(URL, BODY, HEADERS)[0]
    other = tmp_path / "other"
    (other / "watchlists").mkdir(parents=True)
    (other / "watchlists" / "syria.yaml").write_text(
        "officials:\n  - {id: x, name: Nobody Here, country: Syria, titles: [Defence Minister]}\n"
        "countries: [Pakistan]\n",
        encoding="utf-8",
    )
    (other / "monitor.yaml").write_text(
        "database: sqlite:///var/m.db\nwatchlists: [watchlists/syria.yaml]\n", encoding="utf-8"
    )
    reloaded = load_config(other / "monitor.yaml").watchlists

    async def go() -> None:
        workers = Workers(watchlists, 1)
        try:
            [first] = await asyncio.to_thread(workers.warm)
            [(_, meetings)] = await workers.match(watchlists, [entry])
            assert [m.official_id for m in meetings] == ["abu-qasra"]
            [(_, meetings)] = await workers.match(reloaded, [entry])
            assert all(m.official_id != "abu-qasra" for m in meetings)
            assert workers.generation == 1
            [second] = await asyncio.to_thread(workers.warm)
            assert second != first and gone([first])
            os.kill(second, signal.SIGKILL)
            with pytest.raises(WorkerCrash):
                while True:  # until the pool has noticed its worker is gone
                    await workers.match(reloaded, [entry])
            assert workers.generation == 2
            [(_, meetings)] = await workers.match(reloaded, [entry])
            assert all(m.official_id != "abu-qasra" for m in meetings)
            third = await asyncio.to_thread(workers.warm)
        finally:
            await workers.aclose()
        assert gone(third)

    asyncio.run(go())


def test_poll_with_workers_stores_items_events_and_batched_unchanged_polls(
    tmp_path: Path,
) -> None:
    with serve_site() as site:
        for i in range(6):
            site.serve(
                f"/f{i}",
                lambda req: (
                    Reply(304)
                    if req.headers.get("if-none-match") == '"v1"'
                    else Reply(200, BODY, {"ETag": '"v1"', "Content-Type": "application/xml"})
                ),
            )
        feeds = [f"{{name: F{i}, url: '{site.url(f'/f{i}')}'}}" for i in range(6)]
        path = write_config(tmp_path, feeds, "poll: {concurrency: 6}", "fetch: {full_text: false}")

        async def scenario() -> tuple[int, int, int, list[FeedState], set[str], int]:
            async with Running(path) as deps:
                deps.workers = Workers(deps.config.watchlists, 2)
                try:
                    first = await poll_all(deps)
                    events = await asyncio.to_thread(deps.store.recent_events)
                    second = await poll_all(deps)
                    states = await asyncio.to_thread(deps.store.feeds)
                    owners = await asyncio.to_thread(deps.store.lease_owners)
                    third = await poll_due(deps)  # nothing due: every poll was saved
                finally:
                    await close(deps)
            assert events, "the meeting was matched in a worker and stored"
            return first.new_items, second.feeds, second.new_items, states, owners, third.feeds

        new, polled, again, states, owners, due = asyncio.run(scenario())
    assert new == 12 and polled == 6 and again == 0 and due == 0
    assert not owners, "every lease released"
    assert all(s.etag == '"v1"' and s.failures == 0 for s in states)
    assert all(s.last_success_at is not None and s.last_new_item_at is not None for s in states)
    assert len([r for r in site.log if r.headers.get("if-none-match") == '"v1"']) == 6


KILLED_PARENT = """
import asyncio, sys
from pathlib import Path
from monitor.config import load_config
from monitor.workers import Workers

workers = Workers(load_config(Path(sys.argv[1])).watchlists, 2)
print(*asyncio.run(asyncio.to_thread(workers.warm)), flush=True)
sys.stdin.read()  # until killed
"""


def test_workers_die_with_a_killed_daemon(tmp_path: Path) -> None:
    """SIGKILL leaves the daemon no chance to stop its workers: the kernel does it."""
    path = write_config(tmp_path, [])
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_PARENT, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as parent:
        try:
            assert parent.stdout is not None
            pids = [int(p) for p in parent.stdout.readline().split()]
            assert pids and not gone(pids)
        finally:
            parent.kill()
    for proc in psutil.Process().children():  # none of them became ours
        assert proc.pid not in pids
    waited = [psutil.Process(p) for p in pids if psutil.pid_exists(p)]
    psutil.wait_procs(waited, timeout=60)
    assert gone(pids)
