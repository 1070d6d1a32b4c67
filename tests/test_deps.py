"""The store thread's grouped writes (monitor.deps.Grouped) on a real database: polls that
finish together share a transaction; a poll the database refuses fails alone; a database
that cannot be reached fails the batch once, not once per poll."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from monitor.deps import Deps
from monitor.errors import StoreError
from monitor.models import Entry
from monitor.store import Store
from monitor.store_events import Finds, Recorded
from tests.test_store_events import NOW, make_store, router


class Counting(Store):
    """The real store, noting how many polls each ``record_polls`` call was given."""

    calls: list[int]

    def record_polls(self, polls: Any) -> list[Recorded]:
        self.calls.append(len(polls))
        return super().record_polls(polls)


def counting(store: Store) -> Counting:
    out = Counting(store.engine)
    out.calls = []
    return out


def deps_for(store: Store) -> Deps:
    # Grouped uses only the store and the store thread
    return Deps(config=None, store=store, http=None, matcher=None, notifier=None, owner="t")  # type: ignore[arg-type]


def finds(feed_id: int, key: str, title: str = "A title") -> Finds:
    return Finds(feed_id, [(Entry(key, title, "text", None, NOW), [])], router, NOW)


async def submit_all(deps: Deps, polls: list[Finds]) -> list[Any]:
    try:
        return await asyncio.gather(
            *(deps.records.submit(deps, p) for p in polls), return_exceptions=True
        )
    finally:
        deps.writer.shutdown()


def test_polls_that_finish_together_share_one_transaction(tmp_path: Path) -> None:
    store, feeds = make_store(f"sqlite:///{tmp_path / 'm.db'}", feeds=10)
    deps = deps_for(store := counting(store))
    results = asyncio.run(submit_all(deps, [finds(f, f"k{f}") for f in feeds]))
    assert store.calls == [10]
    assert [[e.key for _, e in r.new_items] for r in results] == [[f"k{f}"] for f in feeds]


def test_a_poll_the_database_refuses_fails_alone(pg_url: str) -> None:
    store, feeds = make_store(pg_url, feeds=5)
    deps = deps_for(store := counting(store))
    polls = [finds(f, f"k{f}", "NUL\x00" if i == 2 else "fine") for i, f in enumerate(feeds)]
    results = asyncio.run(submit_all(deps, polls))
    assert store.calls == [5, 1, 1, 1, 1, 1], "refused together, then written one by one"
    refused = results.pop(2)
    assert isinstance(refused, StoreError) and refused.refused
    assert [len(r.new_items) for r in results] == [1, 1, 1, 1]
    store.engine.dispose()


def test_an_unreachable_database_fails_the_batch_once(tmp_path: Path) -> None:
    gone = Counting(create_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'm.db'}"))
    gone.calls = []
    results = asyncio.run(submit_all(deps_for(gone), [finds(i, f"k{i}") for i in range(5)]))
    assert gone.calls == [5], "not written again one by one: nothing would pass"
    assert all(isinstance(r, StoreError) and not r.refused for r in results)
