"""Test data for the web interface: a local feed with seven meetings (English and Arabic,
every kind, hostile markup) polled once through the real pipeline into SQLite, and the web
interface served on a real uvicorn server."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from monitor.cli import main
from monitor.store import Store
from monitor.webserve import WebServer
from monitor.websettings import WebSettings
from tests.conftest import WATCHLIST, write
from tests.servers import FeedItem, FeedServer, free_port, serve_feed

HOSTILE_TITLE = "<script>alert('title')</script> Talks with Russia"
HOSTILE_EVIDENCE = "<img src=x onerror=alert(1)>"
FEED_NAME = "Local <b>wire</b>"
JS_LINK = "javascript:alert(3)"


def _at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


# FeedServer escapes once for XML; the feed's HTML is escaped again so that the markup
# survives as text (as a hostile feed would deliver it).
ITEMS = [
    FeedItem(
        "eu-1",
        "Minister meets EU envoy",
        "Syria's Defence Minister Murhaf Abu Qasra met EU Chargé d'Affaires Michael Ohnmacht "
        "in Damascus on 26 November 2025.",
        _at(11, 26),
    ),
    FeedItem(
        "pk-1",
        "Defence Minister receives Pakistani ambassador",
        "Syria's Defence Minister Murhaf Abu Qasra received the Ambassador of Pakistan, Air "
        "Marshal Saeed Afzal, on 25 November 2025 to discuss training.",
        _at(11, 25),
    ),
    FeedItem(  # the same meeting, in Arabic: a second source of the event above
        "pk-ar",
        "وزير الدفاع يستقبل سفير باكستان",
        "استقبل وزير الدفاع السوري مرهف أبو قصرة اليوم في دمشق سفير جمهورية باكستان "
        "الإسلامية، وبحث الجانبان سبل تعزيز التعاون.",
        _at(11, 25, 11),
    ),
    FeedItem(
        "jo-ar",
        "وزير الدفاع يستقبل السفير الأردني",
        "استقبل وزير الدفاع السوري مرهف أبو قصرة اليوم في دمشق السفير الأردني سفيان القضاة.",
        _at(11, 3),
    ),
    FeedItem(
        "ru-1",
        HOSTILE_TITLE.replace("<", "&lt;").replace(">", "&gt;"),
        "Syria's Defence Minister Murhaf Abu Qasra held talks with Russian Deputy Defence "
        "Minister Yunus-Bek Yevkurov &lt;img src=x onerror=alert(1)&gt; in Damascus on "
        "17 November 2025 &lt;script&gt;alert(2)&lt;/script&gt;.",
        _at(11, 17),
    ),
    FeedItem(
        "ru-call",
        "Phone call with Moscow",
        "Syria's Defence Minister Murhaf Abu Qasra spoke by phone with Russian Defence Minister "
        "Andrei Belousov on 10 November 2025.",
        _at(11, 10),
    ),
    FeedItem(
        "jo-call",
        "Call with Amman",
        "Syria's Defence Minister Murhaf Abu Qasra held a phone call with Jordanian Defence "
        "Minister Yousef Huneiti on 10 November 2025.",
        _at(11, 10, 12),
    ),
    FeedItem(
        "pk-plan",
        "Minister to visit Islamabad",
        "Syria's Defence Minister Murhaf Abu Qasra will meet Pakistan's Defence Minister Khawaja "
        "Asif in Islamabad on 15 December 2025.",
        _at(11, 28),
    ),
    FeedItem(
        "speech-1",
        "Minister speaks at academy",
        "Defence Minister Murhaf Abu Qasra praised cooperation with Pakistan in a speech.",
        _at(11, 24),
    ),
]
# (country, kind, date) of every event the items above make
EXPECTED = {
    ("European Union", "meeting", "2025-11-26"),
    ("Pakistan", "meeting", "2025-11-25"),
    ("Jordan", "meeting", "2025-11-03"),
    ("Russia", "meeting", "2025-11-17"),
    ("Russia", "call", "2025-11-10"),
    ("Jordan", "call", "2025-11-10"),
    ("Pakistan", "planned", "2025-12-15"),
}


@dataclass
class World:
    config: Path
    feed: FeedServer
    database: str  # its URL


def write_config(tmp: Path, feed_url: str, database: str = "sqlite:///var/monitor.db") -> Path:
    write(tmp / "watchlists" / "syria.yaml", WATCHLIST)
    broken = f"http://127.0.0.1:{free_port()}/feed.xml"  # nothing listens: a failing feed
    return write(
        tmp / "monitor.yaml",
        f"""\
        database: "{database}"
        watchlists: [watchlists/syria.yaml]
        poll: {{timeout: 2s}}
        fetch: {{full_text: false}}  # the items' links point at news.example.org: no lookups
        feeds:
          - name: "{FEED_NAME}"
            url: {feed_url}
            backfill: alert
          - name: Broken source
            url: {broken}
        """,
    )


@contextmanager
def polled_world(tmp: Path, database: str | None = None) -> Iterator[World]:
    """The items above served on 127.0.0.1 and polled once (``monitor poll --once``) into
    SQLite in ``tmp``, or into the ``database`` URL given."""
    url = database or f"sqlite:///{tmp / 'var' / 'monitor.db'}"
    with serve_feed(FeedServer(items=list(ITEMS))) as feed:
        config = write_config(tmp, feed.url, url)
        assert main(["--config", str(config), "--log-level", "WARNING", "poll", "--once"]) == 0
        # parse keeps only http(s) links; a row written some other way (an older version, a
        # hand edit) must still never become a live link
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE items SET link = :js WHERE link LIKE '%/jo-call'"), {"js": JS_LINK}
            )
        engine.dispose()
        yield World(config, feed, url)


def strip_tags(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


@contextmanager
def serve_web(store: Store, settings: WebSettings | None = None) -> Iterator[httpx.Client]:
    """The web interface on a real uvicorn server (127.0.0.1, a free port) in a thread of its
    own, and an HTTP client for it; ``settings`` give the credentials asked for."""
    creds = settings or WebSettings("127.0.0.1", 0)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = WebServer(store, WebSettings("127.0.0.1", 0), lambda: creds)
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        base = f"http://127.0.0.1:{server.port}"
        with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
            yield client
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


class Daemon:
    """``monitor run`` in a child process, with its output in a log file."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(self.config), "run"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def wait_for(self, phrase: str, timeout: float = 20.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if phrase in self.output():
                return True
            if self.proc is not None and self.proc.poll() is not None:
                return phrase in self.output()
            time.sleep(0.05)
        return False

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextmanager
def web_daemon(world: World, log: Path, web: str) -> Iterator[tuple[Daemon, str]]:
    """The daemon on ``world``'s config with ``web`` (YAML of the web section's keys, without
    listen) added; yields it and the web interface's base URL once it listens."""
    port = free_port()
    text = world.config.read_text()
    extra = f", {web}" if web else ""
    world.config.write_text(f'{text}web: {{listen: "127.0.0.1:{port}"{extra}}}\n')
    daemon = Daemon(world.config, log)
    daemon.start()
    try:
        assert daemon.wait_for("web interface listening"), daemon.output()
        yield daemon, f"http://127.0.0.1:{port}"
    finally:
        daemon.kill()
        world.config.write_text(text)
