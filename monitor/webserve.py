"""I/O: run the web interface (issue 8) with uvicorn inside the daemon's asyncio loop.

The daemon (``app``) owns SIGTERM, SIGINT and SIGHUP: uvicorn's ``Server.serve`` would
replace those handlers with its own (``capture_signals`` calls ``signal.signal``) and re-raise
the signal when it stops, so that step is switched off here and ``stop()`` ends the server.
The socket is bound before serving, so a port in use stops the daemon at start with a
clear error instead of a ``sys.exit`` inside a task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator

import uvicorn

from monitor.errors import MonitorError
from monitor.store import Store
from monitor.websettings import WebSettings

log = logging.getLogger(__name__)

STOP_TIMEOUT = 5.0


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the daemon's handlers stay in place


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; MonitorError when the address cannot be used."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family, backlog=128)
    except OSError as e:
        raise MonitorError(f"web: cannot listen on {host}:{port}: {e.strerror or e}") from e
    sock.set_inheritable(False)
    return sock


class WebServer:
    """The web interface's server task; ``start`` binds and serves, ``stop`` ends it."""

    def __init__(
        self, store: Store, first: WebSettings, settings: Callable[[], WebSettings]
    ) -> None:
        from monitor.web import create_app  # starlette and jinja load only when web is on

        self.first = first  # where to listen; ``settings()`` gives the credentials per request
        self.config = uvicorn.Config(
            create_app(store, settings),
            log_config=None,  # logging is ours (logs.py); uvicorn's own lines only when wrong
            log_level="warning",
            access_log=False,
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=int(STOP_TIMEOUT),
        )
        self.server = _Server(self.config)
        self.task: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self) -> None:
        sock = bind(self.first.host, self.first.port)
        self.port = int(sock.getsockname()[1])
        self.task = asyncio.create_task(self.server.serve(sockets=[sock]), name="web")
        self.task.add_done_callback(self._ended)
        while not self.server.started and not self.task.done():
            await asyncio.sleep(0.01)
        if self.task.done():
            sock.close()
            raise MonitorError(f"web: the server on {self.first.host}:{self.port} did not start")
        log.info("web interface listening url=http://%s:%d/", self._host(), self.port)

    def _host(self) -> str:
        return f"[{self.first.host}]" if ":" in self.first.host else self.first.host

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("web interface stopped error=%r", task.exception())

    async def stop(self) -> None:
        if self.task is None:
            return
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), STOP_TIMEOUT + 1)
        except TimeoutError:
            self.server.force_exit = True
            self.task.cancel()
        except Exception:  # already logged by _ended
            pass
        log.info("web interface stopped")


async def start_web(
    store: Store, settings: WebSettings | None, current: Callable[[], WebSettings | None]
) -> WebServer | None:
    """Serve the web interface when ``settings`` (the config at start) ask for it.
    Credentials come from ``current()`` per request, so a reload changes them; a new address,
    or turning the interface on or off, takes a restart."""
    if settings is None:
        return None
    server = WebServer(store, settings, lambda: current() or settings)
    await server.start()
    return server
