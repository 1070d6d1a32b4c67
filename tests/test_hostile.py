"""The hostile server (tests/hostile.py) against the real pipeline and the real daemon.

Every misbehaviour ends in its error kind or a salvaged parse, within the fetch deadline and
the decoded-size cap; nothing escapes the per-feed error wall; healthy feeds beside the
hostile ones keep being polled on time.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import resource
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.cli import main
from monitor.store import FeedState
from tests.hostile import EXPECTED, HostileServer, gzip_bomb, serve_hostile
from tests.site import Reply, Running, poll_all, rss, serve_site, write_config

SECRET = "TOP-SECRET-CONTENTS"


@pytest.fixture
def hostile(tmp_path: Path):
    gzip_bomb()  # built once, before any deadline runs
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    with serve_hostile(secret) as server:
        yield server


def hostile_feeds(server: HostileServer, interval: str = "1h") -> list[str]:
    return [
        f"{{name: {name}, url: '{server.url(name)}', interval: {interval}}}" for name in EXPECTED
    ]


def titles(store: object) -> list[str]:
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        return [r[0] for r in conn.execute(text("SELECT title FROM items"))]


def test_every_hostile_case_ends_in_its_kind(tmp_path: Path, hostile: HostileServer) -> None:
    with serve_site() as site:
        site.serve("/healthy", Reply(200, rss(("h1", "Healthy", "Fine."))))
        feeds = [*hostile_feeds(hostile), f"{{name: healthy, url: '{site.url('/healthy')}'}}"]
        path = write_config(tmp_path, feeds, "poll: {timeout: 1s, concurrency: 20}")

        async def scenario() -> tuple[dict[str, FeedState], list[str], float, int]:
            async with Running(path) as deps:
                tracemalloc.start()
                started = time.monotonic()
                summary = await poll_all(deps)
                elapsed = time.monotonic() - started
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                assert summary.feeds == len(EXPECTED) + 1
                feeds = {f.name: f for f in await asyncio.to_thread(deps.store.feeds)}
                return feeds, titles(deps.store), elapsed, peak

        feeds, stored, elapsed, peak = asyncio.run(scenario())

    outcome = {name: feeds[name].last_error_kind or "ok" for name in EXPECTED}
    assert outcome == EXPECTED
    assert feeds["healthy"].failures == 0 and feeds["healthy"].last_success_at is not None
    # The trickle would take 10 s and the bomb inflates to 200 MB: the deadline (1 s) and the
    # 5 MB cap stopped them. Generous bounds: these guard against hangs, not for speed.
    assert elapsed < 8.0
    assert peak < 48 * 1024 * 1024, f"peak traced memory {peak / 2**20:.0f} MiB"
    # salvaged parses, and nothing dangerous in what was stored
    assert "وزير الدفاع يستقبل السفير الأردني" in stored, "wrong charset salvaged"
    assert "Complete item" in stored, "truncated XML salvaged"
    assert all(SECRET not in t for t in stored), "XXE did not read the file"
    assert all(len(t) < 1000 for t in stored), "no entity expansion"
    limited = feeds["limited"]
    assert limited.failing_since is not None
    assert (limited.next_poll_at - limited.failing_since).total_seconds() >= 120, "Retry-After"


def test_failures_back_off_and_bursts_recover(tmp_path: Path, hostile: HostileServer) -> None:
    path = write_config(
        tmp_path,
        [f"{{name: burst, url: '{hostile.url('burst')}', interval: 1m}}"],
        "poll: {timeout: 1s}",
    )

    async def scenario() -> list[tuple[int, str | None, float]]:
        async with Running(path) as deps:
            seen = []
            for _ in range(4):
                await poll_all(deps)
                (f,) = await asyncio.to_thread(deps.store.feeds)
                wait = (f.next_poll_at - deps.clock()).total_seconds()
                seen.append((f.failures, f.last_error_kind, wait))
            return seen

    (f1, k1, w1), (f2, _, w2), (f3, _, w3), (f4, _, _) = asyncio.run(scenario())
    assert (f1, k1, f2) == (1, "http_5xx", 2)
    assert 110 < w1 < 135 and 230 < w2 < 270, "1 min interval doubles while failing"
    assert (f3, f4) == (0, 0) and 50 < w3 < 70, "recovered: back to the interval"


def test_daemon_stays_up_and_healthy_feeds_keep_their_pace(
    tmp_path: Path, hostile: HostileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve_site() as site:
        site.serve("/healthy", Reply(200, rss(("h1", "Healthy", "Fine."))))
        feeds = [
            *hostile_feeds(hostile, interval="0.3s"),
            f"{{name: healthy, url: '{site.url('/healthy')}', interval: 0.3s}}",
        ]
        path = write_config(tmp_path, feeds, "poll: {tick: 0.1s, timeout: 3s}")
        log = tmp_path / "daemon.log"
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(path), "run"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            deadline = time.monotonic() + 60
            while len(site.hits("/healthy")) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            start = len(site.hits("/healthy"))
            time.sleep(5.0)  # the trickle feed is re-polled and holds 3 s each time
            window = site.hits("/healthy")[start:]
            assert proc.poll() is None, log.read_text()
            assert hostile.hits["trickle"] >= 2 and hostile.hits["bomb"] >= 2
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
        output = log.read_text(errors="replace")
        assert code == 0, output
        assert "daemon stopped clean=True" in output
        assert "Traceback" not in output
        gaps = [b.at - a.at for a, b in itertools.pairwise(window)]
        assert len(window) >= 6, f"healthy feed polled {len(window)} times in 5 s"
        assert max(gaps) < 2.0, f"healthy feed waited {max(gaps):.1f} s behind hostile ones"
        rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if rss_kib > before:  # ru_maxrss is the largest child so far: ours, if it grew
            assert rss_kib < 400 * 1024, f"daemon peak RSS {rss_kib / 1024:.0f} MiB"

    capsys.readouterr()
    assert main(["--config", str(path), "feeds"]) == 0
    report = capsys.readouterr().out
    for name, kind in EXPECTED.items():
        if kind != "ok" and name != "burst":  # the burst is over by now: it recovered
            assert f"last error {kind}:" in report, (name, report)
    assert "burst  [ok]" in report
    assert "healthy  [ok]  feed" in report


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_items_postgresql_would_refuse_are_stored(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    """PostgreSQL refuses NUL in text and index entries over ~2,700 bytes: before the parse
    dropped control characters and hashed long keys, one such item failed its feed's every
    poll there, and its other items with it."""
    long_id = "".join(hashlib.sha256(b"%d" % i).hexdigest() for i in range(50))  # 3,200
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": ['
        b'{"id": "a\\u0000", "title": "Abu Qasra\\u0000 receives\\u001b[2J", "content_text": "x"},'
        b'{"id": "%s", "title": "Long id", "content_text": "z"},'
        b'{"id": "b", "title": "Second item", "content_text": "y"}]}' % long_id.encode()
    )
    with serve_site() as site:
        site.serve("/feed.json", Reply(200, body, {"Content-Type": "application/feed+json"}))
        path = write_config(tmp_path, [f"{{name: j, url: '{site.url('/feed.json')}'}}"])
        if database == "postgresql":
            url = request.getfixturevalue("pg_url")
            path.write_text(path.read_text().replace("sqlite:///var/m.db", url))

        async def scenario() -> tuple[int, list[str]]:
            async with Running(path) as deps:
                summary = await poll_all(deps)
                return summary.failed, titles(deps.store)

        failed, stored = asyncio.run(scenario())
    assert failed == 0
    assert sorted(stored) == ["Abu Qasra receives[2J", "Long id", "Second item"]
