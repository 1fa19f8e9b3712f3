"""Rolling 24-hour figures per kind of work: arrived, handled, handled within
the deadline, average handling time (accepted → done). The computation is
pure; the read is one query."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline.db.models import WorkItem
from hotline.work.board import KIND_TEXT

WINDOW = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class KindFigures:
    kind: str
    text: str
    arrived: int
    handled: int
    within_deadline: int
    within_deadline_pct: float | None
    avg_handle_s: float | None


def compute(
    rows: Iterable[tuple[str, float, float | None, float | None, float, str]], since: float, kinds: Iterable[str]
) -> list[KindFigures]:
    """rows: (kind, created_at, accepted_at, done_at, due_at, outcome)."""
    acc: dict[str, list[Any]] = {k: [0, 0, 0, []] for k in kinds}
    for kind, created, accepted, done, due, _outcome in rows:
        a = acc.setdefault(kind, [0, 0, 0, []])
        if created >= since:
            a[0] += 1
        if done is not None and done >= since:
            a[1] += 1
            a[2] += done <= due
            if accepted is not None:
                a[3].append(done - accepted)
    return [
        KindFigures(
            k,
            KIND_TEXT.get(k, k),
            a[0],
            a[1],
            a[2],
            round(100 * a[2] / a[1], 1) if a[1] else None,
            round(sum(a[3]) / len(a[3]), 1) if a[3] else None,
        )
        for k, a in acc.items()
    ]


class WorkFigures:
    def __init__(self, sessions: async_sessionmaker, clock: Callable[[], dt.datetime], kinds: Iterable[str]):
        self.sessions = sessions
        self.clock = clock
        self.kinds = list(kinds)

    async def rolling(self) -> list[dict[str, Any]]:
        since = self.clock().timestamp() - WINDOW
        async with self.sessions() as db:
            rows = (
                await db.execute(
                    select(
                        WorkItem.kind,
                        WorkItem.created_at,
                        WorkItem.accepted_at,
                        WorkItem.done_at,
                        WorkItem.due_at,
                        WorkItem.outcome,
                    ).where(or_(WorkItem.created_at >= since, WorkItem.done_at >= since))
                )
            ).all()
        return [asdict(f) for f in compute([tuple(r) for r in rows], since, self.kinds)]
