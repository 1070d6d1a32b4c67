"""Edge: ``monitor status``, ``monitor reload`` and ``monitor db backup`` (issue 6). Prints;
the work is done by probe, pidfile, housekeeping and the store.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor import db, pidfile
from monitor.config import Config
from monitor.housekeeping import backup_sqlite, sqlite_file
from monitor.httpd import parse_listen
from monitor.probe import render_status
from monitor.store import Store

EXIT_USAGE = 2


def _daemon(config: Config) -> str:
    found = pidfile.find_running(pidfile.candidates(config.database, config.path, os.environ))
    if found is None:
        return "no running daemon found on this host (no live PID file)"
    path, pid = found
    return f"running, pid {pid} ({path})"


def _health(config: Config) -> dict[str, Any] | None:
    """The running daemon's /healthz, when the endpoint is configured and answers."""
    if config.http.listen is None:
        return None
    listen = parse_listen(config.http.listen, allow_remote=config.http.allow_remote)
    host = "127.0.0.1" if listen.host in ("0.0.0.0", "") else listen.host
    host = "[::1]" if host == "::" else (f"[{host}]" if ":" in host else host)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{host}:{listen.port}/healthz", timeout=5) as r:
            data: dict[str, Any] = json.loads(r.read())
            return data
    except urllib.request.HTTPError as e:  # 503 still carries the verdict
        with e:
            data = json.loads(e.read())
            return data
    except (OSError, ValueError) as e:
        return {"status": f"no answer from {listen} ({e})", "checks": {}}


def status(config: Config) -> int:
    """Print the daemon, its health and the database's figures; 1 if the daemon says it is
    unhealthy."""
    source = sqlite_file(config.database)
    if source is not None and not source.exists():
        print(f"database:    {config.database}: not created yet (the daemon creates it)")
        return 1
    store = Store(db.make_engine(config.database))
    try:
        snapshot = store.snapshot(datetime.now(UTC))
    finally:
        store.engine.dispose()
    health = _health(config)
    print(
        render_status(
            config=str(config.path),
            database=db.redact(config.database),
            daemon=_daemon(config),
            db=snapshot,
            health=health,
        ),
        end="",
    )
    return 1 if health is not None and health.get("status") != "ok" else 0


def reload(config: Config) -> int:
    """SIGHUP the daemon of this config (found by its PID file). The config was validated
    before we got here: an invalid one is reported, and not sent."""
    paths = pidfile.candidates(config.database, config.path, os.environ)
    found = pidfile.find_running(paths)
    if found is None:
        print(
            "monitor: no running daemon found (no live PID file in "
            + ", ".join(str(p.parent) for p in paths)
            + "); under systemd run: systemctl reload monitor",
            file=sys.stderr,
        )
        return 1
    path, pid = found
    try:
        os.kill(pid, signal.SIGHUP)
    except PermissionError:
        print(
            f"monitor: not allowed to signal pid {pid}; run as its user or root, "
            "or: systemctl reload monitor",
            file=sys.stderr,
        )
        return 1
    print(f"config valid; sent SIGHUP to pid {pid} ({path})")
    print("its log says 'config reloaded', or 'reload refused' with the reason")
    return 0


def backup(config: Config, dest: Path) -> int:
    """``monitor db backup PATH``: an online copy of the SQLite database."""
    if sqlite_file(config.database) is None:
        print(
            f"monitor: {db.redact(config.database)} is not a SQLite file; back up PostgreSQL "
            "with its own tools, e.g. pg_dump --format=custom --file=monitor.dump DBNAME",
            file=sys.stderr,
        )
        return EXIT_USAGE
    pages = backup_sqlite(config.database, dest)
    print(f"backed up {db.redact(config.database)} to {dest} ({pages} pages, checked)")
    return 0
