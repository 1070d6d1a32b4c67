"""I/O: what runs beside the poll and outbox ticks in the daemon (issue 6).

    PID file          for ``monitor reload`` (monitor.pidfile)
    housekeeping      a tick every ``retention.every`` (monitor.housekeeping)
    /healthz /metrics the local endpoint, when ``http.listen`` is set (monitor.httpd),
                      answering from the database and this process's counters
    reload outcomes   counted; a refused reload is told to the admins

app.py creates one ``Operations`` after the ticks and calls start, reloaded/refused, stop.
"""

from __future__ import annotations

import asyncio
import logging
import os
from http import HTTPStatus
from pathlib import Path

from monitor import __version__, db, pidfile
from monitor.config import Config
from monitor.deps import Deps, utcnow
from monitor.errors import MonitorError
from monitor.housekeeping import housekeep
from monitor.httpd import Endpoint, Response, parse_listen
from monitor.metrics import DbSnapshot, render_metrics
from monitor.pipeline import notify_admins
from monitor.probe import assess
from monitor.scheduler import Ticks

log = logging.getLogger(__name__)

PING_DEADLINE = 5.0
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class Operations:
    """The daemon's operational side; one per ``monitor run``."""

    def __init__(self, deps: Deps, ticks: Ticks, config_path: Path) -> None:
        self.deps = deps
        self.ticks = ticks
        self.config_path = config_path
        self.started_at = utcnow()
        self.endpoint: Endpoint | None = None
        self.pid_path: Path | None = None

    async def start(self) -> None:
        """Write the PID file, schedule housekeeping, open the endpoint (MonitorError if its
        address cannot be bound)."""
        config = self.deps.config
        paths = pidfile.candidates(config.database, self.config_path, os.environ)
        self.pid_path = await asyncio.to_thread(pidfile.write, paths)
        self.ticks.every("housekeeping", config.retention.every, self.housekeep)
        if config.http.listen is not None:
            listen = parse_listen(config.http.listen, allow_remote=config.http.allow_remote)
            endpoint = Endpoint(listen, {"/healthz": self.healthz, "/metrics": self.metrics})
            try:
                await endpoint.start()
            except OSError as e:
                raise MonitorError(f"http.listen {listen}: {e.strerror or e}") from e
            self.endpoint = endpoint

    async def stop(self) -> None:
        if self.endpoint is not None:
            await self.endpoint.stop()
        await asyncio.to_thread(pidfile.remove, self.pid_path)

    async def housekeep(self) -> None:
        deps = self.deps
        done = await asyncio.to_thread(housekeep, deps.store, deps.config.retention, deps.clock())
        deps.metrics.purged["items"] += done.items
        deps.metrics.purged["deliveries"] += done.deliveries

    def reloaded(self, old: Config, new: Config) -> None:
        """A reload was applied: pick up the new housekeeping period."""
        self.deps.metrics.reloads["applied"] += 1
        self.ticks.reschedule("housekeeping", new.retention.every)
        if new.http != old.http:
            log.warning("http settings change at the next start, not on reload")

    async def refused(self, error: MonitorError) -> None:
        """A reload was refused: the running config stays; the admins hear of it."""
        self.deps.metrics.reloads["refused"] += 1
        await notify_admins(
            self.deps,
            "monitor: config reload refused",
            f"The edited configuration was not applied; the running one stays in use.\n\n"
            f"{error}\n\nFix it, check with `monitor check-config`, then reload again.",
        )

    # ------------------------------------------------------------ the endpoint

    async def _db_ok(self) -> bool:
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(db.ping, self.deps.store.engine), PING_DEADLINE
            )
        except TimeoutError:
            return False

    async def healthz(self) -> Response:
        health = assess(
            utcnow(),
            db_ok=await self._db_ok(),
            ticks=self.ticks.states(),
            started_at=self.started_at,
            stopping=self.ticks.stopping,
        )
        status = HTTPStatus.OK if health.ok else HTTPStatus.SERVICE_UNAVAILABLE
        return Response(status, health.as_json(self.deps.owner), "application/json")

    async def metrics(self) -> Response:
        now = utcnow()
        snapshot: DbSnapshot | None = None
        try:
            snapshot = await asyncio.to_thread(self.deps.store.snapshot, now)
        except MonitorError as e:
            log.error("metrics without database figures error=%s", e)
        text = render_metrics(
            snapshot,
            self.deps.metrics,
            self.ticks.states(),
            now,
            instance=self.deps.owner,
            version=__version__,
        )
        return Response(HTTPStatus.OK, text.encode(), PROMETHEUS_TEXT)
