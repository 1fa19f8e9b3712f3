"""Cluster-wide decisions, each made once and only by the current leader.

`decide` runs inside the decision's own transaction: it holds the term row
(FOR SHARE), so a new leader's term cannot begin until this transaction ends,
checks that the term is still the one the decision was made in, and records
the decision under a (kind, key) that may exist once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import ClusterDecision, ClusterTerm, utcnow
from hotline.errors import HotlineError


class NotLeader(HotlineError):
    error_id = "cluster-not-leader"


class AlreadyDecided(HotlineError):
    error_id = "cluster-already-decided"


async def in_term(session: AsyncSession, *, epoch: int, node: str, what: str) -> None:
    """The term is still `epoch`, and stays so until this transaction ends
    (a write of the current state, such as where seats are, made only by the leader)."""
    current = await session.scalar(select(ClusterTerm.epoch).where(ClusterTerm.id == 1).with_for_update(read=True))
    if current != epoch:
        raise NotLeader(f"term {epoch} of {node} has ended (now {current}); {what} not decided")


async def decide(
    session: AsyncSession, *, epoch: int, node: str, kind: str, key: str, at: dt.datetime | None = None
) -> None:
    """Raises NotLeader when the term has moved on, AlreadyDecided when (kind, key) was decided before."""
    await in_term(session, epoch=epoch, node=node, what=f"{kind} {key}")
    try:
        async with session.begin_nested():
            session.add(ClusterDecision(kind=kind, key=key, epoch=epoch, node=node, at=at or utcnow()))
    except IntegrityError:
        raise AlreadyDecided(f"{kind} {key} was decided before") from None
