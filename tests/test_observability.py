"""/healthz, /metrics and `monitor status`: the pure verdicts and renderings, the endpoint on
a real socket, the config that switches it on, and where the PID file goes."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor import httpd, pidfile
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.httpd import Endpoint, Listen, Response, parse_listen
from monitor.metrics import Counters, DbSnapshot, FeedFigures, TickState, render_metrics
from monitor.probe import assess, render_status
from tests.conftest import write

NOW = datetime(2025, 11, 27, 12, tzinfo=UTC)


def tick(name: str, period: float, fired_ago: float | None, lag: float = 0.01) -> TickState:
    fired = NOW - timedelta(seconds=fired_ago) if fired_ago is not None else None
    return TickState(name, period, fired, fired, lag, 5, 1, 0)


SNAPSHOT = DbSnapshot(
    at=NOW,
    feeds=FeedFigures(
        {"ok": 48, "failing": 2, "silent": 0, "inactive": 1}, {"timeout": 2}, 3, 1, 4.5
    ),
    items=1200,
    events=7,
    deliveries={"sent": 6, "pending": 1},
    outbox_due=1,
    outbox_oldest=12.0,
    lease_owners=("a:1:x", "b:2:y"),
)


# ---------------------------------------------------------------- /healthz verdicts


@pytest.mark.parametrize(
    ("db_ok", "ticks", "stopping", "healthy", "failed"),
    [
        pytest.param(True, [tick("poll", 10, 3), tick("outbox", 5, 1)], False, True, [], id="ok"),
        pytest.param(False, [tick("poll", 10, 3)], False, False, ["database"], id="db-down"),
        pytest.param(True, [tick("poll", 10, 31)], False, False, ["tick_poll"], id="stuck"),
        pytest.param(True, [tick("poll", 60, 170)], False, True, [], id="slow-tick-in-grace"),
        pytest.param(True, [tick("poll", 10, None)], False, True, [], id="not-fired-yet"),
        pytest.param(True, [tick("poll", 10, 1)], True, False, ["running"], id="stopping"),
        pytest.param(True, [], False, False, ["scheduler"], id="no-ticks"),
    ],
)
def test_health_verdicts(db_ok, ticks, stopping, healthy, failed) -> None:
    started = NOW - timedelta(seconds=20)
    h = assess(NOW, db_ok=db_ok, ticks=ticks, started_at=started, stopping=stopping)
    assert h.ok is healthy
    assert [c.name for c in h.checks if not c.ok] == failed
    body = json.loads(h.as_json("host:1:x"))
    assert body["status"] == ("ok" if healthy else "unhealthy")
    assert set(body["checks"]) >= {"database", "running"}


# ---------------------------------------------------------------- /metrics text format

_SAMPLE = re.compile(
    r'^[a-z_]+(\{([a-z_]+="[^"\\\n]*(\\.[^"\\\n]*)*",?)*\})? -?[0-9.e+-]+$|^[a-z_]+\{.*\} -?[0-9.e+-]+$'
)


def test_metrics_text_format() -> None:
    c = Counters()
    c.observe_poll(0.3, None, 2, 1)
    c.observe_poll(12.0, "timeout", 0, 0)
    c.reloads["refused"] += 1
    text = render_metrics(
        SNAPSHOT, c, [tick("poll", 10, 2, lag=0.25)], NOW, instance='h"1', version="0.1"
    )
    lines = text.splitlines()
    families = [line.split()[2] for line in lines if line.startswith("# TYPE")]
    assert len(families) == len(set(families)), "each family declared once"
    for line in lines:
        assert line.startswith("#") or _SAMPLE.match(line), line
    assert 'monitor_info{instance="h\\"1",version="0.1"} 1' in lines
    assert 'monitor_feeds{state="failing"} 2' in lines
    assert 'monitor_feeds_failing{kind="timeout"} 2' in lines
    assert "monitor_poll_lag_seconds 4.5" in lines
    assert 'monitor_deliveries{status="failed"} 0' in lines, "every status, even at zero"
    assert 'monitor_polls_total{outcome="error"} 1' in lines
    assert 'monitor_fetch_errors_total{kind="timeout"} 1' in lines
    assert 'monitor_poll_duration_seconds_bucket{le="0.5"} 1' in lines
    assert 'monitor_poll_duration_seconds_bucket{le="30.0"} 2' in lines
    assert 'monitor_poll_duration_seconds_bucket{le="+Inf"} 2' in lines
    assert "monitor_poll_duration_seconds_count 2" in lines
    assert 'monitor_tick_lag_seconds{tick="poll"} 0.25' in lines
    assert 'monitor_tick_age_seconds{tick="poll"} 2.0' in lines
    assert 'monitor_reloads_total{result="refused"} 1' in lines
    assert "monitor_outbox_oldest_seconds 12.0" in lines
    assert text.endswith("\n")


def test_metrics_without_database() -> None:
    text = render_metrics(None, Counters(), [], NOW, instance="x", version="0")
    assert "monitor_database_up 0" in text.splitlines()
    assert "monitor_feeds{" not in text


def test_status_at_a_glance() -> None:
    health = {
        "status": "unhealthy",
        "last_tick_age_seconds": 40.0,
        "checks": {"tick_poll": {"ok": False}},
    }
    out = render_status(
        config="c.yaml",
        database="sqlite:///m.db",
        daemon="running, pid 7",
        db=SNAPSHOT,
        health=health,
    )
    assert "health:      unhealthy (failed: tick_poll); poll tick fired 40.0s ago" in out
    assert "feeds:       50 active: 48 ok, 2 failing (timeout 2), 0 silent; 1 inactive" in out
    assert "polling:     3 in flight, 1 overdue (most by 4.5s)" in out
    assert "deliveries:  6 sent, 0 failed, 1 pending (1 due; oldest 12.0s)" in out
    assert "instances:   2 holding leases: a:1:x, b:2:y" in out


# ---------------------------------------------------------------- the endpoint


@pytest.mark.parametrize(
    ("text", "remote", "expected"),
    [
        ("127.0.0.1:9464", False, Listen("127.0.0.1", 9464)),
        ("[::1]:9464", False, Listen("::1", 9464)),
        ("localhost:1", False, Listen("localhost", 1)),
        ("127.0.0.2:80", False, Listen("127.0.0.2", 80)),
        ("0.0.0.0:9464", True, Listen("0.0.0.0", 9464)),
        ("0.0.0.0:9464", False, "not a loopback"),
        ("[::]:9464", False, "not a loopback"),
        ("monitor.example.org:9464", False, "not a loopback"),
        ("10.1.2.3:9464", False, "allow_remote"),
        ("9464", False, "host:port"),
        ("127.0.0.1:http", False, "port must be a number"),
        ("127.0.0.1:70000", False, "out of range"),
    ],
)
def test_parse_listen(text: str, remote: bool, expected: Listen | str) -> None:
    if isinstance(expected, Listen):
        assert parse_listen(text, allow_remote=remote) == expected
    else:
        with pytest.raises(ValueError, match=expected):
            parse_listen(text, allow_remote=remote)


async def _request(port: int, raw: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_endpoint_answers_and_refuses(monkeypatch) -> None:
    monkeypatch.setattr(httpd, "READ_DEADLINE", 0.3)

    async def ok() -> Response:
        return Response(200, b"fine\n")

    async def boom() -> Response:
        raise RuntimeError("bug")

    async def scenario() -> list[tuple[int, bytes]]:
        ep = Endpoint(Listen("127.0.0.1", 0), {"/healthz": ok, "/boom": boom})
        await ep.start()
        try:
            return [
                await _request(ep.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
                await _request(ep.port, b"GET /healthz?x=1 HTTP/1.0\r\n\r\n"),
                await _request(ep.port, b"HEAD /healthz HTTP/1.1\r\n\r\n"),
                await _request(ep.port, b"POST /healthz HTTP/1.1\r\n\r\n"),
                await _request(ep.port, b"GET /nope HTTP/1.1\r\n\r\n"),
                await _request(ep.port, b"GET /boom HTTP/1.1\r\n\r\n"),
                await _request(ep.port, b"garbage\r\n\r\n"),
                await _request(ep.port, b"GET /healthz HTTP/1.1\r\n"),  # never finishes
                await _request(ep.port, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n"),
            ]
        finally:
            await ep.stop()

    got = asyncio.run(scenario())
    assert [status for status, _ in got] == [200, 200, 200, 405, 404, 500, 400, 400, 400]
    assert got[0][1] == b"fine\n" and got[2][1] == b"", "HEAD has no body"


# ---------------------------------------------------------------- config


def _config(tmp_path: Path, extra: str) -> Path:
    write(tmp_path / "watchlists" / "w.yaml", "officials: [{id: a, name: A, country: Syria}]\n")
    return write(tmp_path / "monitor.yaml", "watchlists: [watchlists/w.yaml]\n" + extra)


def test_config_defaults_and_keys(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, ""))
    assert config.http.listen is None, "the endpoint is off by default"
    assert config.poll.lease == config.delivery.lease == timedelta(seconds=60)
    assert config.retention.items == timedelta(days=90)
    assert config.retention.deliveries == timedelta(days=30)
    extra = (
        "http: {listen: '[::1]:9464'}\npoll: {lease: 20s}\ndelivery: {lease: 30s}\n"
        "retention: {items: null, deliveries: 7d, every: 1h}\n"
    )
    config = load_config(_config(tmp_path, extra))
    assert config.http.listen == "[::1]:9464"
    assert (config.poll.lease, config.delivery.lease) == (
        timedelta(seconds=20),
        timedelta(seconds=30),
    )
    assert config.retention.items is None and config.retention.every == timedelta(hours=1)


@pytest.mark.parametrize(
    ("extra", "line", "key", "message"),
    [
        ("http:\n  listen: 0.0.0.0:9464\n", 3, "http", "not a loopback"),
        ("poll:\n  lease: 1s\n", 4, "poll.lease", "between 2s and 1h"),
        ("retention:\n  items: 12h\n", 4, "retention.items", "at least 86400s"),
        ("http:\n  listen: 127.0.0.1:9464\n  auth: x\n", 5, "http.auth", "unknown key"),
    ],
)
def test_config_errors_name_file_line_and_key(tmp_path, extra, line, key, message) -> None:
    path = _config(tmp_path, "database: sqlite:///m.db\n" + extra)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert f"{path}:{line}: {key}:" in str(e.value) and message in str(e.value)


def test_remote_bind_needs_allow_remote(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, "http: {listen: '0.0.0.0:9464', allow_remote: true}\n"))
    assert config.http.allow_remote


# ---------------------------------------------------------------- PID file


def test_pid_file_places(tmp_path: Path) -> None:
    conf = tmp_path / "etc" / "monitor.yaml"
    sqlite = "sqlite:////var/lib/monitor/monitor.db"
    env = {"RUNTIME_DIRECTORY": "/run/monitor:/run/other"}
    assert pidfile.candidates(sqlite, conf, env) == [
        Path("/run/monitor/monitor.pid"),
        Path("/var/lib/monitor/monitor.pid"),
        tmp_path / "etc" / "monitor.pid",
    ]
    assert pidfile.candidates("postgresql+psycopg://h/d", conf, {}) == [
        tmp_path / "etc" / "monitor.pid"
    ]


def test_pid_file_written_found_and_removed(tmp_path: Path) -> None:
    import subprocess
    import sys

    daemon = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "monitor"])
    try:
        # until the child has exec'd, /proc shows the parent's (pytest's) command line
        cmdline = Path(f"/proc/{daemon.pid}/cmdline")
        for _ in range(200):
            if b"\0monitor" in cmdline.read_bytes():
                break
            time.sleep(0.05)
        missing = tmp_path / "nope" / "monitor.pid"
        path = pidfile.write([missing, tmp_path / "monitor.pid"], pid=daemon.pid)
        assert path == tmp_path / "monitor.pid"
        assert pidfile.find_running([missing, path]) == (path, daemon.pid)
        pidfile.remove(path)
        assert path.exists(), "only our own PID file is removed"
        pidfile.remove(path, pid=daemon.pid)
        assert not path.exists()
        path.write_text(f"{os.getpid()}\n")
        assert pidfile.read_live(path) is None, "a process that is not monitor"
    finally:
        daemon.kill()
        daemon.wait()
    path.write_text(f"{daemon.pid}\n")
    assert pidfile.read_live(path) is None, "a dead PID is stale"
