"""I/O: wire the daemon together; signals, reload and systemd notifications.

SIGTERM/SIGINT: stop ticking, let in-flight polls and sends finish, exit 0.
SIGHUP: re-read every YAML file; a valid config takes effect, an invalid one is logged
with file and line and the running config stays.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from monitor import db, sdnotify
from monitor.clients import make_http
from monitor.config import Config, load_config
from monitor.deps import Deps, close, subscribers_of, utcnow
from monitor.errors import ConfigError, MonitorError
from monitor.gazetteer import load_gazetteer
from monitor.match import Matcher
from monitor.notify import Notifier
from monitor.pipeline import drain_outbox, poll_due
from monitor.store import Store
from monitor.workers import Workers

log = logging.getLogger(__name__)

STOP_TIMEOUT = 20.0


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def dead_local_owners(owners: Iterable[str], host: str, alive: Callable[[int], bool]) -> list[str]:
    """Lease owners that were instances on this host whose process is gone (killed, crashed):
    their leases are freed at once instead of when they expire."""
    dead = []
    for owner in owners:
        name, _, rest = owner.partition(":")
        pid = rest.partition(":")[0]
        if name == host and pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            dead.append(owner)
    return dead


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def make_notifier(config: Config) -> Notifier:
    pace = config.delivery.min_interval
    return Notifier(subscribers_of(config), min_interval=pace.total_seconds() if pace else None)


def open_store(config: Config) -> Store:
    """Migrate the schema, then open the store and align the feeds table with the config."""
    db.upgrade(config.database)
    store = Store(db.make_engine(config.database))
    dead = dead_local_owners(store.lease_owners(), socket.gethostname(), _alive)
    if dead:
        log.info(
            "freed leases of dead instances owners=%s rows=%d",
            ",".join(dead),
            store.release_leases(dead),
        )
    store.sync_feeds(config.feeds, utcnow())
    return store


def start_workers(config: Config) -> Workers:
    """The parse + match processes: ``poll.workers`` of them, else one per usable CPU. Call
    it before anything starts a thread: the workers are then forked at once, cheaply
    (monitor.workers)."""
    # What exists now (modules, the config, the gazetteer) lives as long as the process:
    # frozen, the collector's full passes never walk it again (a pass over it took ~80 ms,
    # and one fell due at every start and every few seconds of a busy poll), and forked
    # workers keep sharing its pages instead of copying those the collector touches
    # (the gc.freeze documentation's advice for processes that fork)
    gc.freeze()
    processes = config.poll.workers
    return Workers(config.watchlists, processes)


async def open_with_workers(config: Config) -> tuple[Store, Workers]:
    """``open_store`` while the worker processes start and build their matchers."""
    workers = start_workers(config)
    try:
        store, _ = await asyncio.gather(
            asyncio.to_thread(open_store, config), asyncio.to_thread(workers.warm)
        )
    except BaseException:
        await workers.aclose()
        raise
    return store, workers


def build_deps(config: Config, store: Store, workers: Workers | None = None) -> Deps:
    """Without ``workers`` (tests), parsing and matching run in threads of this process."""
    return Deps(
        config=config,
        store=store,
        # fetch: settings (guard, per-host limit, user agent) take effect at the next start
        http=make_http(
            allow_private_links=config.fetch.allow_private_links,
            max_connections=config.poll.concurrency,
            per_host=config.fetch.per_host,
            user_agent=config.fetch.user_agent,
        ),
        matcher=None if workers else Matcher(config.watchlists, load_gazetteer()),
        notifier=make_notifier(config),
        owner=instance_name(),
        workers=workers,
    )


async def poll_once(config: Config) -> int:
    """One pass: poll every active feed now, match, deliver; then exit."""
    store, workers = await open_with_workers(config)
    deps = build_deps(config, store, workers)
    try:
        await asyncio.to_thread(store.make_all_due, utcnow())
        feeds = failed_feeds = new_items = new_events = 0
        # each call claims a batch; polled feeds are no longer due, so this ends
        while (summary := await poll_due(deps)).feeds:
            feeds += summary.feeds
            failed_feeds += summary.failed
            new_items += summary.new_items
            new_events += summary.new_events
        sent = failed = 0
        while True:  # a batch at a time; failed sends wait for their retry time, so this ends
            batch_sent, batch_failed = await drain_outbox(deps)
            if not batch_sent + batch_failed:
                break
            sent, failed = sent + batch_sent, failed + batch_failed
        log.info(
            "poll once done feeds=%d failed=%d new_items=%d events=%d sent=%d send_failures=%d",
            feeds,
            failed_feeds,
            new_items,
            new_events,
            sent,
            failed,
        )
        return 0
    finally:
        await deps.http.aclose()
        await close(deps)
        store.engine.dispose()


async def run(config_path: Path, config: Config) -> int:
    """The daemon: returns an exit code when told to stop."""
    # the daemon's own machinery (APScheduler, the web server, housekeeping) is imported
    # here: one-shot commands such as ``poll --once`` would pay ~0.3 s of start-up for it
    from monitor.operations import Operations
    from monitor.scheduler import Ticks
    from monitor.webserve import start_web

    store, workers = await open_with_workers(config)
    web = await start_web(store, config.web, lambda: deps.config.web)  # issue 8; None when off
    deps = build_deps(config, store, workers)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    ticks = Ticks()

    async def poll_then_send() -> None:
        # new events go out now rather than at the next outbox tick; leases keep the two
        # ticks from sending the same delivery twice
        if (await poll_due(deps)).new_events:
            await drain_outbox(deps)

    # Ticks may overlap: a feed trickling bytes until its deadline must not hold up the
    # feeds that fall due meanwhile (poll_due keeps the total within poll.concurrency).
    ticks.every("poll", config.poll.tick, poll_then_send, overlap=config.poll.concurrency + 1)
    ticks.every("outbox", config.delivery.tick, lambda: drain_outbox(deps))
    ops = Operations(deps, ticks, config_path)  # issue 6: pid file, housekeeping, /healthz

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
            await ops.refused(e)
            return
        ops.reloaded(deps.config, new)
        deps.config = new
        # the worker pool is replaced when it first sees the new watchlists
        deps.matcher = None if deps.workers else Matcher(new.watchlists, load_gazetteer())
        deps.notifier = make_notifier(new)
        ticks.reschedule("poll", new.poll.tick)
        ticks.reschedule("outbox", new.delivery.tick)
        log.info("config reloaded feeds=%d subscribers=%d", len(new.feeds), len(new.subscribers))
        sdnotify.ready("config reloaded")

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(reload()))

    try:
        await ops.start()
    except MonitorError:
        await ops.stop()
        await close(deps)
        raise
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
        if web is not None:
            await web.stop()
        finished = await ticks.stop(STOP_TIMEOUT)
        await ops.stop()
        await deps.http.aclose()
        await close(deps)  # worker processes and the store thread
        store.engine.dispose()
        log.info("daemon stopped clean=%s", finished)
    return 0
