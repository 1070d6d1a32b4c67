"""I/O shell: what the pipeline runs with (``Deps``), and its one store-writing thread.

``Deps`` is built once by ``app`` and rebuilt on reload: the config, the store, the HTTP
clients, the worker processes, the notifier. Writes go through one store thread
(``Deps.writer``, ``write``): SQLite has one writer anyway, and threads queueing on its
lock cost more than the writes. Polls that found nothing new are saved together
(``PollSaves``): one UPDATE for all that finished while the previous batch was written.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from monitor.metrics import Counters
from monitor.models import CONSOLE, FeedSpec, SubscriberSpec

if TYPE_CHECKING:
    from monitor.clients import Http
    from monitor.config import Config
    from monitor.feedstore import PollDone
    from monitor.match import Matcher
    from monitor.notify import Notifier
    from monitor.store import Store
    from monitor.workers import Workers

T = TypeVar("T")

CONSOLE_SUBSCRIBER = SubscriberSpec("console", (CONSOLE,))


def utcnow() -> datetime:
    return datetime.now(UTC)


def subscribers_of(config: Config) -> tuple[SubscriberSpec, ...]:
    """Configured subscribers, or the console so a first run shows its alerts."""
    return config.subscribers or (CONSOLE_SUBSCRIBER,)


def _writer() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix="monitor-store")


class PollSaves:
    """Group commit for polls that found nothing new: each waits for its row to be written;
    all that arrive while a batch is being written go together in the next one."""

    def __init__(self) -> None:
        self._pending: list[tuple[PollDone, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def save(self, deps: Deps, done: PollDone) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((done, waiter))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(deps), name="poll saves")
        await waiter

    async def _flush(self, deps: Deps) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await write(deps, deps.store.save_polls, [done for done, _ in batch])
            except Exception as e:  # StoreError: every poll of the batch hears of it
                for _, waiter in batch:
                    if not waiter.done():
                        waiter.set_exception(e)
            except BaseException:  # cancelled (the daemon stops): so are the waiting polls
                for _, waiter in batch + self._pending:
                    waiter.cancel()
                raise
            else:
                for _, waiter in batch:
                    if not waiter.done():
                        waiter.set_result(None)


@dataclass
class Deps:
    """What the shell needs; built once by app and rebuilt on reload."""

    config: Config
    store: Store
    http: Http  # trusted client for configured feed hosts, guarded one for the rest
    matcher: Matcher | None  # matching in this process (no ``workers``); built when needed
    notifier: Notifier
    owner: str
    clock: Callable[[], datetime] = utcnow
    rand: Callable[[], float] = field(default=random.random)
    busy: int = 0  # feeds in flight across overlapping poll ticks (≤ poll.concurrency)
    health_checked_at: datetime | None = None
    metrics: Counters = field(default_factory=Counters)  # issue 6: this process's totals
    workers: Workers | None = None  # parse + match processes (daemon, poll --once); else threads
    writer: ThreadPoolExecutor = field(default_factory=_writer)  # the one store-writing thread
    saves: PollSaves = field(default_factory=PollSaves)
    specs: tuple[Config, dict[str, FeedSpec]] | None = None  # feed specs by URL, per config


async def write(deps: Deps, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a store call that writes on the store thread (``Deps.writer``)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(deps.writer, functools.partial(fn, *args, **kwargs))


async def close(deps: Deps) -> None:
    """Stop the worker processes and the store thread (after the last poll)."""
    if deps.workers is not None:
        await deps.workers.aclose()
    await asyncio.to_thread(deps.writer.shutdown, wait=True)
