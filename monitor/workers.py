"""CPU stage in worker processes: parse fetched bodies and match entries, off the event loop.

No network or database I/O: the parent sends a body (or entries), a worker process returns
picklable values (``Page`` with its ``Entry`` values, ``Meeting`` lists). feedparser and the
matcher are pure Python and hold the GIL, so in threads they use one core and stall the
loop; in ``processes`` workers (default: the CPUs this process may run on) they use them all.

Workers fork from the daemon at start-up, before it has threads (free: imports and all are
copied), later from a forkserver. Each builds its ``Matcher`` once, at its first match, from
the watchlists the pool was started with; a reloaded config brings a new watchlist tuple,
and the pool is replaced by one started with it (in-flight work finishes on the old one).
Workers ignore SIGINT/SIGTERM: the daemon stops them after its last poll; if it is killed,
the kernel kills them too (Linux parent-death signal), so none is left orphaned. Log records a
worker emits travel back with its result and are logged here, so worker lines keep the
daemon's format. A worker that dies (killed, out of memory) fails the feed it was working
on (WorkerCrash, stored as an internal error), and the pool is rebuilt.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from monitor.errors import ParseError
from monitor.gazetteer import load_gazetteer
from monitor.match import Matcher
from monitor.models import Entry, FeedSpec, Meeting, Watchlist
from monitor.pages import Page
from monitor.sources import parse_page

log = logging.getLogger(__name__)

Found = list[tuple[Entry, list[Meeting]]]
LogLine = tuple[str, int, str]  # logger name, level, message


def default_processes() -> int:
    """The CPUs this process may run on (affinity, cgroup-pinned sets), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def match_entries(matcher: Matcher, entries: Sequence[Entry]) -> Found:
    """Each entry with the meetings it reports (CPU only)."""
    return [
        (e, matcher.match(e.title, e.text, e.published.date() if e.published else None))
        for e in entries
    ]


def wants_match(entry: Entry, full_text_min: int) -> bool:
    """Whether an entry can be matched as parsed: not one whose full text will be fetched."""
    return entry.link is None or len(entry.text) >= full_text_min


# ------------------------------------------------------------ inside a worker process


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[LogLine] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.name, record.levelno, record.getMessage()))


_watchlists: Sequence[Watchlist] = ()
_matcher: Matcher | None = None
_logs = _Collect()


def _the_matcher() -> Matcher:
    # built at the first match, not at start: a poll where nothing changed never needs it
    global _matcher
    if _matcher is None:
        _matcher = Matcher(_watchlists, load_gazetteer())
        gc.freeze()  # it lives as long as this worker: no full collection walks it again
    return _matcher


def _die_with_parent() -> None:
    # Linux: the kernel kills this worker when its parent (the daemon, or the forkserver,
    # which exits with the daemon) dies, even by SIGKILL: a worker is never left orphaned,
    # blocked on its task queue.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the daemon's close() stops the workers
        return


def _init(watchlists: Sequence[Watchlist], level: int) -> None:
    global _watchlists, _matcher
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.set_wakeup_fd(-1)  # a forked copy must not wake the daemon's event loop
    for logger in logging.Logger.manager.loggerDict.values():
        if isinstance(logger, logging.Logger):
            logger.handlers.clear()  # a forked copy writes nothing itself: lines go back
    root = logging.getLogger()
    root.handlers[:] = [_logs]
    root.setLevel(level)
    _watchlists, _matcher = watchlists, None
    _logs.lines.clear()


def _ready() -> int:
    return os.getpid()


@dataclass(frozen=True, slots=True)
class _Failed:
    """A ParseError (or a crash) in a worker, sent back as values: ParseError's own pickling
    loses its arguments."""

    url: str
    detail: str
    crashed: bool = False


def _parse_task(
    spec: FeedSpec, url: str, body: bytes, headers: Mapping[str, str], full_text_min: int | None
) -> tuple[Page | _Failed, Found, list[LogLine]]:
    _logs.lines.clear()
    found: Found = []
    try:
        page = parse_page(spec, url, body, headers)
        if full_text_min is not None:
            wanted = [e for e in page.entries if wants_match(e, full_text_min)]
            found = match_entries(_the_matcher(), wanted)
        out: Page | _Failed = page
    except ParseError as e:
        out = _Failed(e.url, str(e).removeprefix(f"{e.url}: "))
    except Exception as e:  # the parent logs it as the feed's crash
        out = _Failed(url, f"{type(e).__name__}: {e}", crashed=True)
    return out, found, list(_logs.lines)


def _match_task(entries: Sequence[Entry]) -> tuple[Found, list[LogLine]]:
    _logs.lines.clear()
    return match_entries(_the_matcher(), entries), list(_logs.lines)


# ------------------------------------------------------------ in the daemon


class WorkerCrash(RuntimeError):
    """A worker failed on something other than an unreadable feed (a bug, or it died)."""


class Workers:
    """A process pool that parses and matches; one per daemon (or ``poll --once``)."""

    def __init__(self, watchlists: Sequence[Watchlist], processes: int | None = None) -> None:
        self.processes = processes or default_processes()
        self._watchlists = watchlists
        self._starting: list[Future[int]] = []
        self._pool = self._new_pool(watchlists)
        self._swap = asyncio.Lock()
        self.generation = 0  # pools replaced so far (reloads, dead workers)

    def _new_pool(self, watchlists: Sequence[Watchlist]) -> ProcessPoolExecutor:
        level = logging.getLogger("monitor").getEffectiveLevel()
        args = (tuple(watchlists), level)
        if threading.active_count() == 1:
            # Start-up, no thread yet: fork now (all workers at the first submit), which costs
            # nothing — a worker is a copy of this process, imports included.
            pool = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_init,
                initargs=args,
            )
            self._starting = [pool.submit(_ready)]
            return pool
        # Later (a reload, a dead worker) this process has threads, and forking it could copy
        # a lock another thread holds: workers fork from a clean server process instead (the
        # main module and this one imported there once).
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["__main__", "monitor.workers"])
        return ProcessPoolExecutor(self.processes, mp_context=ctx, initializer=_init, initargs=args)

    def warm(self) -> list[int]:
        """Start every worker and build its matcher now (blocking: call from a thread)."""
        futures = [*self._starting, *(self._pool.submit(_ready) for _ in range(self.processes))]
        self._starting = []
        return sorted({f.result() for f in futures})

    async def parse(
        self,
        watchlists: Sequence[Watchlist],
        spec: FeedSpec,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        full_text_min: int | None = None,
    ) -> tuple[Page, Found]:
        """Parse a body by the source's kind; with ``full_text_min``, also match the entries
        that will not get their full text fetched (entries of a feed's first poll are all
        new: one trip to a worker instead of two)."""
        out, found, lines = await self._run(
            watchlists, _parse_task, spec, url, body, headers, full_text_min
        )
        _replay(lines)
        if isinstance(out, _Failed):
            if out.crashed:
                raise WorkerCrash(f"parser crashed url={out.url} error={out.detail}")
            raise ParseError(out.url, out.detail)
        return out, found

    async def match(self, watchlists: Sequence[Watchlist], entries: Sequence[Entry]) -> Found:
        """Each entry with the meetings the current watchlists find in it."""
        if not entries:
            return []
        found: Found
        found, lines = await self._run(watchlists, _match_task, list(entries))
        _replay(lines)
        return found

    async def _run(self, watchlists: Sequence[Watchlist], fn: Any, *args: Any) -> Any:
        if watchlists is not self._watchlists:
            await self._replace(watchlists, "config reloaded")
        pool = self._pool
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(pool, fn, *args)
        except BrokenProcessPool as e:
            await self._replace(self._watchlists, "worker died", broken=pool)
            raise WorkerCrash(f"worker process died: {e}") from e

    async def _replace(
        self,
        watchlists: Sequence[Watchlist],
        why: str,
        *,
        broken: ProcessPoolExecutor | None = None,
    ) -> None:
        async with self._swap:
            if broken is not None and broken is not self._pool:
                return  # another task replaced it meanwhile
            if broken is None and watchlists is self._watchlists:
                return
            old, self._watchlists = self._pool, watchlists
            self._pool = self._new_pool(watchlists)
            self.generation += 1
            old.shutdown(wait=False)  # queued work still finishes on the old workers
            await asyncio.to_thread(self.warm)
            log.info(
                "worker pool replaced reason=%s processes=%d generation=%d",
                why,
                self.processes,
                self.generation,
            )

    async def aclose(self) -> None:
        """Stop the workers (waits for the ones busy)."""
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _replay(lines: Sequence[LogLine]) -> None:
    for name, level, message in lines:
        logging.getLogger(name).log(level, "%s", message)
