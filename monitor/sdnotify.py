"""I/O: tell systemd about our state over $NOTIFY_SOCKET; does nothing outside systemd.

A dozen lines of the sd_notify(3) protocol instead of the unmaintained ``sdnotify``
package: one datagram of ``KEY=value`` lines to the AF_UNIX socket systemd names in
``$NOTIFY_SOCKET`` (a leading ``@`` means the Linux abstract namespace).

The daemon sends ``READY=1`` once the database and config are loaded, ``WATCHDOG=1``
every :func:`watchdog_interval` seconds from the main loop (only while the database
answers), ``RELOADING=1`` then ``READY=1`` around a SIGHUP reload, and ``STOPPING=1``
on SIGTERM. Every function returns whether the message was sent and never raises:
systemd being absent or unreachable must not stop the daemon.
"""

from __future__ import annotations

import logging
import os
import socket
import time

log = logging.getLogger(__name__)


def notify(*lines: str) -> bool:
    """Send ``lines`` (``"READY=1"``, ``"STATUS=…"``) as one datagram; False if not sent."""
    addr = os.environ.get("NOTIFY_SOCKET", "")
    if not addr:
        return False
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    payload = "\n".join(lines).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(addr)
            sock.sendall(payload)
    except OSError as exc:
        log.debug("sd_notify failed socket=%s error=%s", addr.replace("\0", "@"), exc)
        return False
    return True


def watchdog_interval() -> float | None:
    """Seconds between ``WATCHDOG=1`` pings (half of ``WatchdogSec=``), or None without one."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    try:
        timeout = int(usec)
        if pid and int(pid) != os.getpid():
            return None
    except ValueError:
        if usec:
            log.debug("sd_notify watchdog ignored watchdog_usec=%s watchdog_pid=%s", usec, pid)
        return None
    if timeout <= 0:
        return None
    return timeout / 2 / 1e6


def _status_line(text: str) -> str:
    # one message is newline-separated KEY=value lines: a newline in the text would end it
    return "STATUS=" + " ".join(text.splitlines())


def ready(status: str = "") -> bool:
    """Startup (or a reload) finished: the service is up."""
    return notify("READY=1", _status_line(status)) if status else notify("READY=1")


def stopping() -> bool:
    """Shutdown began (SIGTERM): finishing in-flight work."""
    return notify("STOPPING=1")


def reloading() -> bool:
    """A reload began (SIGHUP); follow with :func:`ready` when it is done."""
    return notify("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")


def watchdog() -> bool:
    """Keep-alive ping; call from the main loop every :func:`watchdog_interval` seconds."""
    return notify("WATCHDOG=1")


def status(text: str) -> bool:
    """Free-form one-line status shown by ``systemctl status``."""
    return notify(_status_line(text))
