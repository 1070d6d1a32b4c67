"""End to end with real parts on 127.0.0.1: feed server, daemon process, SMTP, webhook.

A meeting appears in a feed → exactly one email and one webhook message; polling again,
restarting the daemon, and items without a meeting send nothing more.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import WATCHLIST, write
from tests.servers import (
    FeedItem,
    FeedServer,
    SmtpSink,
    WebhookReceiver,
    body_text,
    serve_feed,
    serve_smtp,
    serve_webhook,
)

PUBLISHED = datetime(2025, 11, 25, 10, tzinfo=UTC)
NO_MEETING = FeedItem(
    "speech-1",
    "Minister speaks at academy",
    "Defence Minister Murhaf Abu Qasra praised cooperation with Pakistan in a speech to cadets.",
    PUBLISHED,
)
MEETING = FeedItem(
    "pk-1",
    "Defence Minister receives Pakistani ambassador",
    "Syria's Defence Minister Murhaf Abu Qasra received the Ambassador of Pakistan, Air Marshal "
    "Saeed Afzal, on 25 November to discuss training &lt;script&gt;alert(1)&lt;/script&gt; "
    "&amp; air defence.",
    PUBLISHED,
)


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return check()


class Daemon:
    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(self.config), "run"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[FeedServer, SmtpSink, WebhookReceiver, Daemon]]:
    with (
        serve_feed(FeedServer(items=[NO_MEETING])) as feed,
        serve_smtp() as smtp,
        serve_webhook() as hook,
    ):
        write(tmp_path / "watchlists" / "syria.yaml", WATCHLIST)
        config = write(
            tmp_path / "monitor.yaml",
            f"""\
            database: sqlite:///var/monitor.db
            watchlists: [watchlists/syria.yaml]
            poll: {{tick: 0.2s}}
            delivery: {{tick: 0.2s}}
            feeds:
              - name: Local wire
                url: {feed.url}
                interval: 0.5s
            subscribers:
              - name: desk
                notify: ["{smtp.url()}", "{hook.url}"]
            """,
        )
        daemon = Daemon(config, tmp_path / "daemon.log")
        try:
            yield feed, smtp, hook, daemon
        finally:
            if daemon.proc and daemon.proc.poll() is None:
                daemon.proc.kill()
                daemon.proc.wait()


def polls_after(feed: FeedServer, n: int) -> Callable[[], bool]:
    start = feed.requests
    return lambda: feed.requests >= start + n


def test_one_alert_per_meeting_across_polls_and_restarts(world) -> None:
    feed, smtp, hook, daemon = world
    daemon.start()
    assert wait_until(polls_after(feed, 2)), daemon.output()
    time.sleep(0.5)
    assert smtp.messages == [] and hook.posts == [], "a speech is not a meeting"

    feed.add(MEETING)
    assert wait_until(lambda: len(smtp.messages) >= 1 and len(hook.posts) >= 1), daemon.output()
    assert wait_until(polls_after(feed, 4))
    time.sleep(0.5)  # give a duplicate every chance to arrive
    assert len(smtp.messages) == 1 and len(hook.posts) == 1

    mail = smtp.messages[0]
    assert "Murhaf Abu Qasra" in mail["Subject"] and "Pakistan" in mail["Subject"]
    assert "2025-11-25" in mail["Subject"]
    text = body_text(mail)
    assert "received the Ambassador of Pakistan" in text
    html = body_text(mail, "html")
    assert "training &lt;script&gt;alert(1)" in html, "feed text is escaped in the HTML email"
    assert "<script>" not in html
    post = hook.posts[0]
    assert "Pakistan" in post["title"] and "Evidence" in post["message"]

    assert daemon.stop() == 0
    assert "daemon stopped clean=True" in daemon.output()

    daemon.start()
    feed.etags = False  # full bodies again: dedup must hold on items, not only on 304s
    assert wait_until(polls_after(feed, 4)), daemon.output()
    feed.add(
        FeedItem(
            "speech-2",
            "Minister visits base",
            "Abu Qasra toured a base near Jordan's border.",
            PUBLISHED,
        )
    )
    assert wait_until(polls_after(feed, 3))
    time.sleep(0.5)
    assert daemon.stop() == 0
    assert len(smtp.messages) == 1 and len(hook.posts) == 1, daemon.output()


def test_daemon_refuses_bad_watchlist(tmp_path: Path) -> None:
    write(
        tmp_path / "watchlists" / "syria.yaml",
        WATCHLIST.replace(
            "    role: Minister of Defence\n", "    role: Minister of Defence\n    rank: general\n"
        ),
    )
    config = write(tmp_path / "monitor.yaml", "watchlists: [watchlists/syria.yaml]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    path = tmp_path / "watchlists" / "syria.yaml"
    assert f"{path}:6: officials[0].rank: unknown key" in proc.stderr
    assert not (tmp_path / "var").exists(), "nothing is created before the config is valid"
