"""The ACD's read models: a seat, the floor, the header, the figures; shared
by the seat map, the desk and the API."""

from __future__ import annotations

import itertools
from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select

from hotline.acd import figures
from hotline.db.models import Callback, QueueCall
from hotline.seats import state as st


class AcdViews:
    """The AcdService's views (a base class: they read its state)."""

    async def figures(self) -> dict[str, Any]:
        await self.drain()
        now = self.now()
        async with self.sessions() as db:
            all_rows = (await db.scalars(select(QueueCall).where(
                QueueCall.joined_at >= now - figures.WINDOW_S))).all()
            made = await db.scalar(select(func.count()).select_from(Callback).where(
                Callback.created_at >= now - figures.WINDOW_S, Callback.attempts > 0))
            reached = await db.scalar(select(func.count()).select_from(Callback).where(
                Callback.created_at >= now - figures.WINDOW_S, Callback.status == "reached"))
        # A callback waits in the queue as a placeholder; it is not a call offered.
        rows = [r for r in all_rows if r.callback_id is None]
        callbacks = (made or 0, reached or 0)
        return {
            "window_hours": 24,
            "total": figures.compute(rows, callbacks).as_dict(),
            "by_seat": {k: v.as_dict() for k, v in figures.by(rows, "seat").items()},
            "by_tag": {k: v.as_dict() for k, v in figures.by(rows, "tag").items()},
            "by_queue": {k: v.as_dict() for k, v in figures.by(rows, "queue").items()},
            "hourly": figures.hourly(rows, now),
        }

    def seat_view(self, s: st.Seat) -> dict[str, Any]:
        return {
            "seat": s.name, "agent": s.agent, "agent_name": s.agent_name, "status": s.status().value,
            "pause_reason": s.queue_pause(), "on_line": s.on_line, "standby": s.standby,
            "since": s.since, "caller": s.caller, "wrapup_until": s.wrapup_until,
            "desynced": self.desynced.get(s.name),
            **self._call_info.get(s.interface, {"tag": "", "category": ""}),
        }

    def floor_view(self) -> dict[str, Any]:
        return {**self.header_view(), "seats": [self.seat_view(s) for s in self.floor.seats.values()],
                "changes": self.recent_changes(50)}

    def recent_changes(self, n: int) -> list[dict[str, Any]]:
        return [asdict(c) for c in list(itertools.islice(reversed(self.changes), n))[::-1]]

    def header_view(self) -> dict[str, Any]:
        """Lines and waiting callers: cheap, for callers who track seats themselves."""
        now = self.now()
        return {
            "lines": {"window": self.lines.window, "scheduled": self.lines.scheduled, "target": self.lines.target,
                      "override": self.lines.override, "standby_active": self.lines.standby_active,
                      "standby_reason": self.lines.standby_reason,
                      "staffed": sum(1 for s in self.floor.seats.values() if s.on_line)},
            "waiting": {"count": len(self.waiting),
                        "longest_s": round(max((now - t for t in self.waiting.values()), default=0.0), 1)},
        }
