"""I/O: the SQL behind fetching (issue 5): seen keys for catch-up, source health, article cache.

A mixin of ``store.Store`` so store.py stays one screenful per concern; the same rules hold
here: one short transaction per call, values out (never ORM rows), SQLAlchemy errors become
StoreError through ``Store._guard``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlmodel import Session, col

from monitor.db import insert_for
from monitor.tables import ArticleRow, FeedRow, ItemRow


@dataclass(frozen=True, slots=True)
class CachedArticle:
    """A full-text fetch remembered per URL: its text, or why it failed and when to retry."""

    url: str
    fetched_at: datetime
    text: str | None
    error_kind: str | None
    retry_at: datetime | None


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


class FeedStore:
    """Mixed into Store, which provides ``engine``, ``_session`` and ``_guard``."""

    engine: Engine

    def _session(self) -> Session:
        raise NotImplementedError

    def _guard(self, what: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    # ------------------------------------------------------------ catch-up

    def known_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` this feed already stored."""
        if not keys:
            return set()
        with self._guard("known keys"), self._session() as s:
            found = s.execute(
                select(col(ItemRow.key)).where(
                    col(ItemRow.feed_id) == feed_id, col(ItemRow.key).in_(list(keys))
                )
            ).scalars()
            return set(found)

    def has_items(self, feed_id: int) -> bool:
        """True once the feed has stored any item (a first poll does not page back)."""
        with self._guard("has items"), self._session() as s:
            first = s.execute(
                select(col(ItemRow.id)).where(col(ItemRow.feed_id) == feed_id).limit(1)
            ).first()
            return first is not None

    # ------------------------------------------------------------ health

    def set_health(
        self, feed_id: int, expected: str | None, new: str | None, now: datetime
    ) -> bool:
        """Move a feed's notified health state from ``expected`` to ``new``; True if this
        call made the change (so exactly one instance sends the notice)."""
        current = (
            col(FeedRow.health_state).is_(None)
            if expected is None
            else col(FeedRow.health_state) == expected
        )
        stmt = (
            update(FeedRow)
            .where(col(FeedRow.id) == feed_id, current)
            .values(health_state=new, health_changed_at=now)
        )
        with self._guard("set health"), self._session() as s:
            changed = s.execute(stmt).rowcount  # type: ignore[attr-defined]
            s.commit()
        return bool(changed)

    # ------------------------------------------------------------ article cache

    def article(self, url: str) -> CachedArticle | None:
        with self._guard("load article"), self._session() as s:
            row = s.execute(
                select(ArticleRow).where(col(ArticleRow.url_hash) == url_hash(url))
            ).scalar_one_or_none()
            if row is None:
                return None
            return CachedArticle(row.url, row.fetched_at, row.text, row.error_kind, row.retry_at)

    def save_article(
        self,
        url: str,
        now: datetime,
        *,
        text: str | None,
        error_kind: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """Remember a full-text result for ``url`` (insert or replace)."""
        values: dict[str, Any] = {
            "url_hash": url_hash(url),
            "url": url,
            "fetched_at": now,
            "text": text,
            "error_kind": error_kind,
            "retry_at": retry_at,
        }
        stmt = (
            insert_for(self.engine, ArticleRow)
            .values(values)
            .on_conflict_do_update(
                index_elements=["url_hash"],
                set_={k: v for k, v in values.items() if k != "url_hash"},
            )
        )
        with self._guard("save article"), self._session() as s:
            s.execute(stmt)
            s.commit()
