"""Live reload and the operator's view, on a real daemon process with real local servers.

`monitor reload` finds the daemon by its PID file and sends SIGHUP. A valid edit (a new
subscriber, a new feed with a meeting in its backlog, another interval) takes effect without
a restart and without alerting anything again; an invalid one is refused by `monitor reload`
before it is sent, and, sent anyway (SIGHUP), is refused by the daemon, which keeps running
the old config and tells the admins with file and line. /healthz, /metrics and
`monitor status` show the same figures.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import WATCHLIST, write
from tests.servers import (
    FeedItem,
    FeedServer,
    free_port,
    serve_feed,
    serve_smtp,
    serve_webhook,
)
from tests.test_daemon import NO_MEETING, Daemon, wait_until

PUBLISHED = datetime(2025, 11, 25, 10, tzinfo=UTC)
ANY_COUNTRY = WATCHLIST.replace(
    "countries: [European Union, Pakistan, Jordan, Russia]", "countries: all"
)


def meeting(guid: str, country: str) -> FeedItem:
    return FeedItem(
        guid,
        f"Defence Minister receives ambassador of {country}",
        f"Syria's Defence Minister Murhaf Abu Qasra received the Ambassador of {country} on "
        "25 November to discuss training.",
        PUBLISHED,
    )


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def get(port: int, path: str) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read()
    except urllib.request.HTTPError as e:
        with e:
            return e.code, e.read()


def deliveries(db: Path) -> list[tuple[int, str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT event_id, subscriber, status FROM deliveries").fetchall()


def test_reload_applies_valid_edits_without_realerting_and_refuses_bad_ones(
    tmp_path: Path,
) -> None:
    port = free_port()
    first = FeedServer(items=[NO_MEETING])
    second = FeedServer(items=[meeting("jo-0", "Jordan")])  # a backlog: recorded, not alerted
    with serve_feed(first), serve_feed(second), serve_smtp() as smtp, serve_webhook() as admins:
        watchlist = write(tmp_path / "watchlists" / "syria.yaml", ANY_COUNTRY)

        def text(subscribers: list[str], feeds: list[str]) -> str:
            return (
                f"database: sqlite:///var/monitor.db\n"
                f"watchlists: [watchlists/syria.yaml]\n"
                f'admins: ["{admins.url}"]\n'
                f'http: {{listen: "127.0.0.1:{port}"}}\n'
                f"poll: {{tick: 0.2s}}\n"
                f"delivery: {{tick: 0.2s}}\n"
                "fetch: {full_text: false}\n"  # articles live on news.example.org: no DNS
                "subscribers:\n"
                + "".join(
                    f'  - {{name: {n}, notify: ["{smtp.url(n + "@example.org")}"]}}\n'
                    for n in subscribers
                )
                + "feeds:\n"
                + "".join(f"  - {f}\n" for f in feeds)
            )

        one = f'{{name: One, url: "{first.url}", interval: 0.5s}}'
        config = write(tmp_path / "monitor.yaml", text(["desk"], [one]))
        daemon = Daemon(config, tmp_path / "daemon.log")
        daemon.start()
        try:
            assert wait_until(lambda: first.requests >= 2), daemon.output()
            first.add(meeting("pk-1", "Pakistan"))
            assert wait_until(lambda: len(smtp.messages) == 1), daemon.output()

            # the operator's view
            status, body = get(port, "/healthz")
            health = json.loads(body)
            assert status == 200 and health["status"] == "ok", health
            status, body = get(port, "/metrics")
            metrics = body.decode()
            assert status == 200 and 'monitor_deliveries{status="sent"} 1' in metrics
            assert 'monitor_polls_total{outcome="ok"}' in metrics
            out = cli(config, "status")
            assert out.returncode == 0, out.stderr
            assert f"running, pid {daemon.proc.pid}" in out.stdout
            assert "health:      ok" in out.stdout and "1 sent, 0 failed, 0 pending" in out.stdout

            # a valid edit: another subscriber, a new feed with a meeting in its backlog, and
            # another interval; `monitor reload` finds the daemon and sends SIGHUP
            before = deliveries(tmp_path / "var" / "monitor.db")
            two = f'{{name: Two, url: "{second.url}", interval: 0.3s}}'
            config.write_text(text(["desk", "desk2"], [one.replace("0.5s", "0.4s"), two]))
            out = cli(config, "reload")
            assert out.returncode == 0, out.stderr
            assert f"sent SIGHUP to pid {daemon.proc.pid}" in out.stdout
            assert wait_until(lambda: "config reloaded feeds=2 subscribers=2" in daemon.output())
            polls_one, polls_two = first.requests, second.requests
            assert wait_until(
                lambda: second.requests >= polls_two + 3 and first.requests >= polls_one + 3
            )
            time.sleep(0.5)  # every chance for a re-alert to show up
            assert len(smtp.messages) == 1, "nothing alerted again"
            assert deliveries(tmp_path / "var" / "monitor.db") == before, "no new outbox rows"

            # the edit took effect: a new meeting reaches both subscribers
            first.add(meeting("ru-1", "Russia"))
            assert wait_until(lambda: len(smtp.messages) == 3), daemon.output()
            assert sorted(m["To"] for m in smtp.messages[1:]) == [
                "desk2@example.org",
                "desk@example.org",
            ]

            # an invalid edit: `monitor reload` refuses to send it
            good = watchlist.read_text()
            watchlist.write_text(good.replace("since:", "sinse:"))
            out = cli(config, "reload")
            assert out.returncode == 2
            assert f"{watchlist}:8: officials[0].sinse: unknown key" in out.stderr
            # sent anyway (as `systemctl reload` would): refused, admins told, old config runs
            assert daemon.proc is not None
            daemon.proc.send_signal(signal.SIGHUP)
            assert wait_until(lambda: len(admins.posts) >= 1), daemon.output()
            notice = admins.posts[-1]
            assert "reload refused" in notice["title"]
            assert f"{watchlist}:8: officials[0].sinse: unknown key" in notice["message"]
            assert "reload refused" in daemon.output() and daemon.proc.poll() is None
            first.add(meeting("iq-1", "Iraq"))
            assert wait_until(lambda: len(smtp.messages) == 5), daemon.output()
            metrics = get(port, "/metrics")[1].decode()
            assert 'monitor_reloads_total{result="applied"} 1' in metrics
            assert 'monitor_reloads_total{result="refused"} 1' in metrics

            assert daemon.stop() == 0
            assert not (tmp_path / "var" / "monitor.pid").exists(), "pid file removed on stop"
        finally:
            if daemon.proc and daemon.proc.poll() is None:
                daemon.proc.kill()
                daemon.proc.wait()
    assert len(smtp.messages) == 5
