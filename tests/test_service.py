"""The daemon under a systemd-like supervisor: notify socket, watchdog, SIGHUP, SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import WATCHLIST, write
from tests.servers import FeedServer, serve_feed


def read_until(sock: socket.socket, wanted: str, timeout: float = 20.0) -> list[str]:
    """Datagrams received until one contains ``wanted``."""
    seen: list[str] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        sock.settimeout(max(end - time.monotonic(), 0.01))
        try:
            msg = sock.recv(4096).decode()
        except TimeoutError:
            break
        seen.append(msg)
        if wanted in msg:
            return seen
    raise AssertionError(f"never got {wanted!r}; got {seen}")


def test_notify_watchdog_reload_and_stop(tmp_path: Path) -> None:
    watchlist = write(tmp_path / "watchlists" / "syria.yaml", WATCHLIST)
    config = write(
        tmp_path / "monitor.yaml",
        """\
        database: sqlite:///var/monitor.db
        watchlists: [watchlists/syria.yaml]
        poll: {tick: 0.2s}
        """,
    )
    sock_path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, serve_feed(FeedServer()) as feed:
        sock.bind(str(sock_path))
        env = {**os.environ, "NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "400000"}
        env.pop("WATCHDOG_PID", None)
        log = (tmp_path / "daemon.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            assert any("READY=1" in m for m in read_until(sock, "READY=1"))
            read_until(sock, "WATCHDOG=1", timeout=5)

            # an invalid edit: refused, the running config stays
            watchlist.write_text(WATCHLIST.replace("since:", "sinse:"))
            proc.send_signal(signal.SIGHUP)
            got = read_until(sock, "reload refused")
            assert any("RELOADING=1" in m and "MONOTONIC_USEC=" in m for m in got)
            assert proc.poll() is None
            read_until(sock, "WATCHDOG=1", timeout=5)

            # a valid edit takes effect without a restart: the new feed gets polled
            watchlist.write_text(WATCHLIST)
            config.write_text(config.read_text() + f"feeds:\n  - {{name: w, url: '{feed.url}'}}\n")
            proc.send_signal(signal.SIGHUP)
            read_until(sock, "config reloaded")
            end = time.monotonic() + 10
            while feed.requests == 0 and time.monotonic() < end:
                time.sleep(0.05)
            assert feed.requests >= 1

            proc.send_signal(signal.SIGTERM)
            read_until(sock, "STOPPING=1")
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
    output = (tmp_path / "daemon.log").read_text()
    assert f"{watchlist}:8: officials[0].sinse: unknown key" in output
    assert "reload refused" in output and "config reloaded" in output
