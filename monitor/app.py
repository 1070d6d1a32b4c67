"""I/O: wire the daemon together; signals, reload and systemd notifications.

SIGTERM/SIGINT: stop ticking, let in-flight polls and sends finish, exit 0.
SIGHUP: re-read every YAML file; a valid config takes effect, an invalid one is logged
with file and line and the running config stays.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid
from pathlib import Path

from monitor import db, sdnotify
from monitor.config import Config, load_config
from monitor.errors import ConfigError, MonitorError
from monitor.fetch import make_client
from monitor.gazetteer import load_gazetteer
from monitor.match import Matcher
from monitor.notify import Notifier
from monitor.pipeline import Deps, drain_outbox, poll_due, subscribers_of, utcnow
from monitor.scheduler import Ticks
from monitor.store import Store

log = logging.getLogger(__name__)

STOP_TIMEOUT = 20.0


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def open_store(config: Config) -> Store:
    """Migrate the schema, then open the store and align the feeds table with the config."""
    db.upgrade(config.database)
    store = Store(db.make_engine(config.database))
    store.sync_feeds(config.feeds, utcnow())
    return store


def build_deps(config: Config, store: Store) -> Deps:
    return Deps(
        config=config,
        store=store,
        client=make_client(max_connections=config.poll.concurrency),
        matcher=Matcher(config.watchlists, load_gazetteer()),
        notifier=Notifier(subscribers_of(config)),
        owner=instance_name(),
    )


async def poll_once(config: Config) -> int:
    """One pass: poll every active feed now, match, deliver; then exit."""
    store = await asyncio.to_thread(open_store, config)
    deps = build_deps(config, store)
    try:
        await asyncio.to_thread(store.make_all_due, utcnow())
        summary = await poll_due(deps)
        sent, failed = await drain_outbox(deps)
        log.info(
            "poll once done feeds=%d failed=%d new_items=%d events=%d sent=%d send_failures=%d",
            summary.feeds,
            summary.failed,
            summary.new_items,
            summary.new_events,
            sent,
            failed,
        )
        return 0
    finally:
        await deps.client.aclose()
        store.engine.dispose()


async def run(config_path: Path, config: Config) -> int:
    """The daemon: returns an exit code when told to stop."""
    store = await asyncio.to_thread(open_store, config)
    deps = build_deps(config, store)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    ticks = Ticks()

    async def poll_then_send() -> None:
        # new events go out now rather than at the next outbox tick; leases keep the two
        # ticks from sending the same delivery twice
        if (await poll_due(deps)).new_events:
            await drain_outbox(deps)

    ticks.every("poll", config.poll.tick, poll_then_send)
    ticks.every("outbox", config.delivery.tick, lambda: drain_outbox(deps))

    async def reload() -> None:
        sdnotify.reloading()
        try:
            new = await asyncio.to_thread(load_config, config_path)
            if new.database != deps.config.database:
                raise ConfigError(
                    str(config_path), "changing database needs a restart", key="database"
                )
            await asyncio.to_thread(store.sync_feeds, new.feeds, utcnow())
        except MonitorError as e:
            log.error("reload refused, keeping the running config error=%s", e)
            sdnotify.ready("reload refused: " + str(e))
            return
        deps.config = new
        deps.matcher = Matcher(new.watchlists, load_gazetteer())
        deps.notifier = Notifier(subscribers_of(new))
        ticks.reschedule("poll", new.poll.tick)
        ticks.reschedule("outbox", new.delivery.tick)
        log.info("config reloaded feeds=%d subscribers=%d", len(new.feeds), len(new.subscribers))
        sdnotify.ready("config reloaded")

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(reload()))

    ticks.start()
    log.info(
        "daemon started feeds=%d officials=%d subscribers=%d database=%s",
        len(config.feeds),
        len(config.officials),
        len(config.subscribers),
        db.redact(config.database),
    )
    sdnotify.ready(f"watching {len(config.feeds)} feeds")
    watchdog = sdnotify.watchdog_interval()
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=watchdog or 3600)
            except TimeoutError:
                # fed from the main loop, and only while the database answers
                if await asyncio.to_thread(db.ping, store.engine):
                    sdnotify.watchdog()
    finally:
        sdnotify.stopping()
        log.info("daemon stopping")
        finished = await ticks.stop(STOP_TIMEOUT)
        await deps.client.aclose()
        store.engine.dispose()
        log.info("daemon stopped clean=%s", finished)
    return 0
