"""I/O shell: what the pipeline runs with (``Deps``), and its one store-writing thread.

``Deps`` is built once by ``app`` and rebuilt on reload: the config, the store, the HTTP
clients, the worker processes, the notifier. Writes go through one store thread
(``Deps.writer``, ``write``): SQLite has one writer anyway, and threads queueing on its
lock cost more than the writes. Polls are written in groups (``Grouped``): all that finish
while the previous group is being written go in one transaction, those that found nothing
new as one UPDATE.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from monitor.errors import StoreError
from monitor.metrics import Counters
from monitor.models import CONSOLE, FeedSpec, SubscriberSpec

if TYPE_CHECKING:
    from monitor.clients import Http
    from monitor.config import Config
    from monitor.feedstore import PollDone
    from monitor.match import Matcher
    from monitor.notify import Notifier
    from monitor.store import Store
    from monitor.store_events import Finds, Recorded
    from monitor.workers import Workers

T = TypeVar("T")
R = TypeVar("R")

CONSOLE_SUBSCRIBER = SubscriberSpec("console", (CONSOLE,))


def utcnow() -> datetime:
    return datetime.now(UTC)


def subscribers_of(config: Config) -> tuple[SubscriberSpec, ...]:
    """Configured subscribers, or the console so a first run shows its alerts."""
    return config.subscribers or (CONSOLE_SUBSCRIBER,)


def _writer() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix="monitor-store")


class Grouped(Generic[T, R]):
    """Group commit for one kind of store write: each caller waits for its own result; all
    that arrive while a batch is being written go in the next one, up to ``most`` to a
    transaction. A batch the database refuses (``StoreError.refused``) is written again one
    by one, so one poll's bad row costs the others nothing; an unreachable or busy database
    fails the whole batch at once instead of once per poll."""

    def __init__(self, name: str, many: Callable[[Store, list[T]], list[R]], most: int) -> None:
        self._name, self._many, self._most = name, many, most
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, deps: Deps, item: T) -> R:
        waiter: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, waiter))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(deps), name=self._name)
        return await waiter

    async def _flush(self, deps: Deps) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._most]
                del self._pending[: self._most]
                await self._write(deps, batch)
        except BaseException:  # cancelled (the daemon stops): so are the waiting polls
            for _, waiter in self._pending:
                waiter.cancel()
            raise

    async def _write(self, deps: Deps, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await write(deps, self._many, deps.store, [item for item, _ in batch])
        except StoreError as e:
            if e.refused and len(batch) > 1:
                for one in batch:
                    await self._write(deps, [one])
                return
            _settle(batch, e)
        except Exception as e:  # every poll of the batch hears of it
            _settle(batch, e)
        except BaseException:
            for _, waiter in batch:
                waiter.cancel()
            raise
        else:
            for (_, waiter), result in zip(batch, results, strict=True):
                if not waiter.done():
                    waiter.set_result(result)


def _settle(batch: list[tuple[Any, asyncio.Future[Any]]], error: Exception) -> None:
    for _, waiter in batch:
        if not waiter.done():
            waiter.set_exception(error)


def _save_polls(store: Store, done: list[PollDone]) -> list[None]:
    store.save_polls(done)
    return [None] * len(done)


def _record_polls(store: Store, polls: list[Finds]) -> list[Recorded]:
    return store.record_polls(polls)


def _saves() -> Grouped[PollDone, None]:
    # polls that found nothing new: one UPDATE for the lot
    return Grouped("poll saves", _save_polls, most=256)


def _records() -> Grouped[Finds, Recorded]:
    # polls with new entries. Groups form when the store falls behind: on PostgreSQL ~7 to
    # a transaction in a fresh 1,000-feed poll, which took 4.0-4.2 s instead of 5.4-6.0 s;
    # on SQLite, recording the same polls in tens took a third less CPU, and 64 no less
    # than 32
    return Grouped("poll records", _record_polls, most=32)


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
    saves: Grouped[PollDone, None] = field(default_factory=_saves)
    records: Grouped[Finds, Recorded] = field(default_factory=_records)
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
