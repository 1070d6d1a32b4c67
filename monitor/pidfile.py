"""I/O: the daemon's PID file, so ``monitor reload`` can find the running daemon and SIGHUP it.

Where it goes: ``$RUNTIME_DIRECTORY`` (systemd's ``RuntimeDirectory=monitor``, i.e.
/run/monitor), else next to the SQLite database, else next to the config file; the first
of those that is a writable directory. ``monitor reload`` looks in the same places plus
/run/monitor. A PID file is trusted only while that process lives and runs monitor.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

PID_NAME = "monitor.pid"
SYSTEMD_RUNTIME = Path("/run/monitor")


def candidates(database: str, config_path: Path, environ: Mapping[str, str]) -> list[Path]:
    """Where the daemon of this config writes its PID file, most preferred first (pure)."""
    dirs: list[Path] = []
    if environ.get("RUNTIME_DIRECTORY"):
        # systemd may list several, separated by ":"; ours is the first
        dirs.append(Path(environ["RUNTIME_DIRECTORY"].split(":")[0]))
    if database.startswith("sqlite:///") and database != "sqlite:///:memory:":
        dirs.append(Path(database.removeprefix("sqlite:///")).parent)
    dirs.append(config_path.resolve().parent)
    return [d / PID_NAME for d in dirs]


def write(paths: list[Path], pid: int | None = None) -> Path | None:
    """Write our PID to the first writable candidate; None (and a log line) if none is."""
    pid = os.getpid() if pid is None else pid
    for path in paths:
        if not (path.parent.is_dir() and os.access(path.parent, os.W_OK)):
            continue
        other = read_live(path)
        if other is not None and other != pid:
            log.warning("pid file names another running daemon path=%s pid=%d", path, other)
        tmp = path.with_name(f".{path.name}.{pid}")
        try:
            tmp.write_text(f"{pid}\n", encoding="ascii")
            tmp.replace(path)
        except OSError as e:
            log.warning("pid file not written path=%s error=%s", path, e.strerror or e)
            continue
        return path
    log.info("no pid file: no writable directory among %s", ",".join(str(p) for p in paths))
    return None


def remove(path: Path | None, pid: int | None = None) -> None:
    """Remove the PID file if it is still ours."""
    if path is not None and read_pid(path) == (os.getpid() if pid is None else pid):
        with contextlib.suppress(OSError):
            path.unlink()


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def read_live(path: Path) -> int | None:
    """The PID in ``path`` if that process is alive and runs monitor, else None."""
    pid = read_pid(path)
    if pid is None or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by another user (systemd's DynamicUser=)
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid  # no /proc to check against: trust the file
    # the console script (/usr/local/bin/monitor) or `python -m monitor`
    runs_monitor = any(Path(arg).name == "monitor" for arg in _argv(cmdline))
    return pid if runs_monitor else None


def _argv(cmdline: bytes) -> list[str]:
    return [a.decode(errors="replace") for a in cmdline.split(b"\0") if a]


def find_running(paths: list[Path]) -> tuple[Path, int] | None:
    """The first candidate naming a live monitor process (also tries /run/monitor)."""
    for path in [*paths, SYSTEMD_RUNTIME / PID_NAME]:
        pid = read_live(path)
        if pid is not None:
            return path, pid
    return None
