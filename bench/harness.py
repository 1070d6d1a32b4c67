"""The benchmark's handles on what it runs: monitor as of a git ref (a byte-compiled
snapshot put first on PYTHONPATH), the environment of a child process, and the local feed
server (``feedserver.py``) as a child process with its request counters. I/O: git,
subprocesses, HTTP to 127.0.0.1 only, and PostgreSQL databases on the server given.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import common
import psutil

PY = sys.executable


def monitor_source(ref: str) -> tuple[Path, str]:
    """A directory to put first on PYTHONPATH holding monitor at ``ref``, and a label.

    The snapshot is byte-compiled, as ``pip install`` does: with PYTHONDONTWRITEBYTECODE set
    (it is on some machines) every run would otherwise compile monitor's source again,
    ~0.1 s of start-up no installed copy pays."""
    if ref == "WORKTREE":
        sha = _git("rev-parse", "--short=12", "HEAD")
        dirty = bool(_git("status", "--porcelain", "--", "monitor", "migrations"))
        dest = Path(tempfile.mkdtemp(prefix="monitor-bench-worktree-"))
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(common.ROOT / "monitor", dest / "monitor", ignore=ignore)
        shutil.copytree(common.ROOT / "migrations", dest / "monitor" / "migrations", ignore=ignore)
        _compile(dest)
        return dest, f"work tree at {sha}{' + uncommitted changes' if dirty else ''}"
    sha = _git("rev-parse", ref)
    dest = Path(tempfile.gettempdir()) / "monitor-bench-src" / sha[:12]
    if not (dest / "monitor" / "migrations").is_dir():
        tmp = dest.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(common.ROOT), "archive", sha, "monitor", "migrations"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        # the wheel maps migrations/ to monitor.migrations; do the same in the snapshot
        shutil.copytree(tmp / "migrations", tmp / "monitor" / "migrations")
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    _compile(dest)  # also a snapshot left by an older bench that did not compile it
    return dest, f"commit {sha[:12]} ({ref})"


class PgDatabases:
    """Fresh PostgreSQL databases for monitor's runs (``run.py --postgres``), dropped at the
    end: ``url(name)`` creates ``monitor_bench_<name>`` on the server of ``server_url``."""

    def __init__(self, server_url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self._base = make_url(server_url)
        self._engine = create_engine(self._base, isolation_level="AUTOCOMMIT")
        self._made: list[str] = []

    def url(self, name: str) -> str:
        from sqlalchemy import text

        db = f"monitor_bench_{re.sub(r'[^a-z0-9_]', '_', name.lower())}"
        with self._engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}"'))
            conn.execute(text(f'CREATE DATABASE "{db}"'))
        self._made.append(db)
        return self._base.set(database=db).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        from sqlalchemy import text

        with self._engine.connect() as conn:
            for db in self._made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        self._engine.dispose()


def _compile(root: Path) -> None:
    subprocess.run([PY, "-m", "compileall", "-q", str(root / "monitor")], check=True)


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(common.ROOT), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def child_env(src: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(common.BENCH)] + ([str(src)] if src else [])
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("MONITOR_CONFIG", None)
    return env


class FeedServer:
    def __init__(self, feeds: int, workers: int, log: Path, extra: list[str]) -> None:
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [
                PY,
                str(common.BENCH / "feedserver.py"),
                "--feeds",
                str(feeds),
                "--workers",
                str(workers),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        m = re.search(r"READY port=(\d+)", line)
        if not m:
            raise SystemExit(f"feed server did not start: {line!r} (see {log})")
        self.port = int(m.group(1))
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.workers = [psutil.Process(p) for p in self.stats()["pids"]]

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.port}/feed/{i}.xml"

    def stats(self) -> dict[str, Any]:
        with self.opener.open(f"http://127.0.0.1:{self.port}/stats", timeout=5) as r:
            doc: dict[str, Any] = json.loads(r.read())
        return doc

    def snapshot(self) -> tuple[int, float]:
        cpu = sum(sum(p.cpu_times()[:2]) for p in self.workers)
        return int(self.stats()["requests"]), cpu

    def stop(self) -> str:
        """Stop the server; returns its own summary line (requests/s while busy)."""
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()
        lines = Path(self.log.name).read_text().splitlines()
        return next((x for x in reversed(lines) if "served" in x), "")
