"""I/O: the SQL behind the outbox (issue 4): claim due deliveries in channel order, record
each outcome, list them for admins, and free the leases of instances that died.

A mixin of ``store.Store`` (which provides ``engine``, ``_session`` and ``_guard``). A channel
is sent in order: a row is not claimed while an older row of the same subscriber channel is
leased or waits for a retry, so a channel that was down delivers its backlog in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, exists, func, or_, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from monitor.models import Batch, DeliveryStatus
from monitor.tables import DeliveryRow, FeedRow

PENDING = DeliveryStatus.PENDING.value


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery claimed from the outbox."""

    id: int
    event_id: int
    subscriber: str
    channel: str
    attempts: int
    batch: Batch | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row as ``monitor deliveries`` shows it."""

    id: int
    event_id: int
    subscriber: str
    channel: str
    status: str
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    batch: str | None


class OutboxStore:
    """Mixed into Store."""

    engine: Engine

    def _session(self) -> Session:
        raise NotImplementedError

    def _guard(self, what: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    def claim_deliveries(
        self, now: datetime, limit: int, owner: str, lease: timedelta
    ) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries, oldest first, never out of channel order."""
        older = aliased(DeliveryRow)
        blocked = exists().where(
            col(older.subscriber) == col(DeliveryRow.subscriber),
            col(older.channel) == col(DeliveryRow.channel),
            col(older.status) == PENDING,
            col(older.id) < col(DeliveryRow.id),
            or_(
                col(older.lease_until) > now,
                and_(col(older.attempts) > 0, col(older.next_attempt_at) > now),
            ),
        )
        due = (
            select(col(DeliveryRow.id))
            .where(
                col(DeliveryRow.status) == PENDING,
                col(DeliveryRow.next_attempt_at) <= now,
                or_(col(DeliveryRow.lease_until).is_(None), col(DeliveryRow.lease_until) < now),
                ~blocked,
            )
            .order_by(col(DeliveryRow.next_attempt_at), col(DeliveryRow.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            update(DeliveryRow)
            .where(col(DeliveryRow.id).in_(due))
            .values(lease_owner=owner, lease_until=now + lease)
            .returning(
                col(DeliveryRow.id),
                col(DeliveryRow.event_id),
                col(DeliveryRow.subscriber),
                col(DeliveryRow.channel),
                col(DeliveryRow.attempts),
                col(DeliveryRow.batch),
            )
        )
        with self._guard("claim deliveries"), self._session() as s:
            claimed = [
                Claimed(i, e, sub, ch, n, Batch(b) if b else None)
                for i, e, sub, ch, n, b in s.execute(stmt)
            ]
            s.commit()
        return sorted(claimed, key=lambda c: c.id)

    def mark_sent(self, ids: int | Sequence[int], now: datetime) -> None:
        """The channel accepted these rows' message (one transaction for a batch)."""
        self._finish(ids, status=DeliveryStatus.SENT, sent_at=now)

    def mark_failed(self, ids: int | Sequence[int], error: str, retry_at: datetime | None) -> None:
        """Retry at ``retry_at``, or give up for good when it is None."""
        status = DeliveryStatus.FAILED if retry_at is None else DeliveryStatus.PENDING
        self._finish(ids, status=status, error=error, retry_at=retry_at)

    def release(self, ids: Sequence[int]) -> None:
        """Give claimed rows back unsent and uncounted (their channel is busy or down)."""
        if ids:
            with self._guard("release deliveries"), self._session() as s:
                s.execute(
                    update(DeliveryRow)
                    .where(col(DeliveryRow.id).in_(list(ids)))
                    .values(lease_owner=None, lease_until=None)
                )
                s.commit()

    def _finish(
        self,
        ids: int | Sequence[int],
        *,
        status: DeliveryStatus,
        sent_at: datetime | None = None,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        values: dict[str, object] = {
            "attempts": col(DeliveryRow.attempts) + 1,
            "status": status.value,
            "lease_owner": None,
            "lease_until": None,
        }
        if sent_at is not None:
            values["sent_at"] = sent_at
        if error is not None:
            values["last_error"] = error[:500]
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        wanted = [ids] if isinstance(ids, int) else list(ids)
        with self._guard("finish delivery"), self._session() as s:
            s.execute(update(DeliveryRow).where(col(DeliveryRow.id).in_(wanted)).values(values))
            s.commit()

    def delivery_counts(self) -> dict[str, int]:
        with self._guard("count deliveries"), self._session() as s:
            rows = s.execute(
                select(col(DeliveryRow.status), func.count()).group_by(col(DeliveryRow.status))
            ).all()
            return {status: n for status, n in rows}

    def deliveries(self, status: str | None = None, limit: int = 50) -> list[Delivery]:
        """The newest outbox rows, optionally of one status."""
        query = select(DeliveryRow).order_by(col(DeliveryRow.id).desc()).limit(limit)
        if status is not None:
            query = query.where(col(DeliveryRow.status) == status)
        with self._guard("list deliveries"), self._session() as s:
            return [
                Delivery(
                    r.id or 0,
                    r.event_id,
                    r.subscriber,
                    r.channel,
                    r.status,
                    r.attempts,
                    r.next_attempt_at,
                    r.sent_at,
                    r.last_error,
                    r.batch,
                )
                for r in s.execute(query).scalars()
            ]

    # ------------------------------------------------------------ leases of dead instances

    def lease_owners(self) -> set[str]:
        """Every instance name holding a feed or delivery lease."""
        with self._guard("lease owners"), self._session() as s:
            owners: set[str] = set()
            for table in (FeedRow, DeliveryRow):
                owners.update(
                    o
                    for o in s.execute(
                        select(col(table.lease_owner))
                        .distinct()
                        .where(col(table.lease_owner).is_not(None))
                    ).scalars()
                    if o
                )
            return owners

    def release_leases(self, owners: Sequence[str]) -> int:
        """Free the feeds and deliveries leased by ``owners`` (instances known to be dead)."""
        if not owners:
            return 0
        freed = 0
        with self._guard("release leases"), self._session() as s:
            for table in (FeedRow, DeliveryRow):
                result = s.execute(
                    update(table)
                    .where(col(table.lease_owner).in_(list(owners)))
                    .values(lease_owner=None, lease_until=None)
                    .returning(col(table.id))
                )
                freed += len(result.all())
            s.commit()
        return freed
