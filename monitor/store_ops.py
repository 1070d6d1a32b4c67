"""I/O: the SQL behind operations (issue 6): lease renewal, retention, SQLite upkeep, and
the figures /metrics, /healthz and ``monitor status`` show.

A mixin of ``store.Store`` (which provides ``engine``, ``_session`` and ``_guard``): one short
transaction per call, values out, SQLAlchemy errors become StoreError. Deletes go in batches
so no transaction holds the write lock for long.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, exists, func, select, text, update
from sqlalchemy.sql.dml import ReturningDelete
from sqlmodel import Session, col

from monitor.metrics import DbSnapshot, feed_figures
from monitor.models import DeliveryStatus
from monitor.tables import DeliveryRow, EventRow, EventSourceRow, FeedRow, ItemRow

PENDING = DeliveryStatus.PENDING.value
PURGE_BATCH = 2000


@dataclass(frozen=True, slots=True)
class _FeedLease:
    active: bool
    failures: int
    health_state: str | None
    last_error_kind: str | None
    next_poll_at: datetime
    lease_until: datetime | None


class OpsStore:
    """Mixed into Store."""

    engine: Engine

    def _session(self) -> Session:
        raise NotImplementedError

    def _guard(self, what: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    # ------------------------------------------------------------ leases

    def renew_feed_lease(self, feed_id: int, owner: str, until: datetime) -> bool:
        """Extend ``owner``'s lease on a feed; False if it is no longer ``owner``'s."""
        stmt = (
            update(FeedRow)
            .where(col(FeedRow.id) == feed_id, col(FeedRow.lease_owner) == owner)
            .values(lease_until=until)
            .returning(col(FeedRow.id))
        )
        with self._guard("renew feed lease"), self._session() as s:
            renewed = s.execute(stmt).first() is not None
            s.commit()
        return renewed

    def renew_delivery_leases(self, ids: Sequence[int], owner: str, until: datetime) -> int:
        """Extend ``owner``'s leases on the still-pending rows among ``ids``; how many."""
        if not ids:
            return 0
        stmt = (
            update(DeliveryRow)
            .where(
                col(DeliveryRow.id).in_(list(ids)),
                col(DeliveryRow.lease_owner) == owner,
                col(DeliveryRow.status) == PENDING,
            )
            .values(lease_until=until)
            .returning(col(DeliveryRow.id))
        )
        with self._guard("renew delivery leases"), self._session() as s:
            renewed = len(s.execute(stmt).all())
            s.commit()
        return renewed

    def feed_error_kind(self, feed_id: int) -> str | None:
        with self._guard("feed error kind"), self._session() as s:
            return s.execute(
                select(col(FeedRow.last_error_kind)).where(col(FeedRow.id) == feed_id)
            ).scalar_one_or_none()

    # ------------------------------------------------------------ retention

    def purge_items(self, before: datetime, batch: int = PURGE_BATCH) -> int:
        """Delete items fetched before ``before`` that no event cites; how many."""
        cited = exists().where(col(EventSourceRow.item_id) == col(ItemRow.id))
        doomed = (
            select(col(ItemRow.id))
            .where(col(ItemRow.fetched_at) < before, ~cited)
            .limit(batch)
            .scalar_subquery()
        )
        stmt = delete(ItemRow).where(col(ItemRow.id).in_(doomed)).returning(col(ItemRow.id))
        return self._purge("purge items", stmt)

    def purge_deliveries(self, before: datetime, batch: int = PURGE_BATCH) -> int:
        """Delete sent and failed outbox rows created before ``before``; pending ones stay."""
        doomed = (
            select(col(DeliveryRow.id))
            .where(col(DeliveryRow.created_at) < before, col(DeliveryRow.status) != PENDING)
            .limit(batch)
            .scalar_subquery()
        )
        stmt = (
            delete(DeliveryRow)
            .where(col(DeliveryRow.id).in_(doomed))
            .returning(col(DeliveryRow.id))
        )
        return self._purge("purge deliveries", stmt)

    def _purge(self, what: str, stmt: ReturningDelete[int | None]) -> int:
        total = 0
        while True:
            with self._guard(what), self._session() as s:
                n = len(s.execute(stmt).all())
                s.commit()
            total += n
            if n == 0:
                return total

    def sqlite_pages(self) -> tuple[int, int]:
        """SQLite: (pages in the file, free pages)."""
        with self._guard("sqlite pages"), self.engine.connect() as conn:
            pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar() or 0)
            free = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)
            return pages, free

    def sqlite_maintain(self, vacuum: bool) -> None:
        """SQLite: refresh the planner's statistics where useful; VACUUM if asked."""
        with self._guard("sqlite maintenance"), self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            # PRAGMA optimize reads, then may ANALYZE (a write): in WAL mode that upgrade
            # fails at once, without the busy wait, if another connection holds or has just
            # committed a write, as a poll does at any moment. Taking the write lock first
            # makes maintenance wait its turn like any writer.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                conn.exec_driver_sql("PRAGMA optimize")
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
            if vacuum:
                conn.execute(text("VACUUM"))
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    # ------------------------------------------------------------ figures

    def snapshot(self, now: datetime) -> DbSnapshot:
        """Everything /metrics and ``monitor status`` read from the database."""
        with self._guard("snapshot"), self._session() as s:
            feeds = [
                _FeedLease(*row)
                for row in s.execute(
                    select(
                        col(FeedRow.active),
                        col(FeedRow.failures),
                        col(FeedRow.health_state),
                        col(FeedRow.last_error_kind),
                        col(FeedRow.next_poll_at),
                        col(FeedRow.lease_until),
                    )
                )
            ]
            items = s.execute(select(func.count()).select_from(ItemRow)).scalar_one()
            events = s.execute(select(func.count()).select_from(EventRow)).scalar_one()
            by_status = {
                status: n
                for status, n in s.execute(
                    select(col(DeliveryRow.status), func.count()).group_by(col(DeliveryRow.status))
                )
            }
            pending = col(DeliveryRow.status) == PENDING
            oldest = s.execute(select(func.min(col(DeliveryRow.created_at))).where(pending))
            oldest_at = oldest.scalar_one_or_none()
            due = s.execute(
                select(func.count())
                .select_from(DeliveryRow)
                .where(pending, col(DeliveryRow.next_attempt_at) <= now)
            ).scalar_one()
            owners: set[str] = set()
            for table in (FeedRow, DeliveryRow):
                owners.update(
                    o
                    for o in s.execute(
                        select(col(table.lease_owner))
                        .distinct()
                        .where(col(table.lease_until) > now)
                    ).scalars()
                    if o
                )
        return DbSnapshot(
            at=now,
            feeds=feed_figures(feeds, now),
            items=int(items),
            events=int(events),
            deliveries=by_status,
            outbox_due=int(due),
            outbox_oldest=(now - oldest_at).total_seconds() if oldest_at else None,
            lease_owners=tuple(sorted(owners)),
        )
