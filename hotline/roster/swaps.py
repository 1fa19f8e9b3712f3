"""Swaps (调班): an agent hands one of their shifts to a colleague, or
exchanges it for one of the colleague's; the lead approves or refuses. An
approval changes the roster in the same transaction, and only if both
entries are still as they were when asked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline.config import Shift
from hotline.db.models import RosterEntry, RosterSwap
from hotline.errors import BadRequest, HotlineError
from hotline.identity import Identity

STATE_TEXT = {"pending": "待审批", "approved": "已批准", "refused": "未批准"}


class SwapRefused(HotlineError):
    error_id = "swap-refused"
    status = 409


class Swaps:
    def __init__(
        self,
        sessions: async_sessionmaker,
        clock: Callable[[], dt.datetime],
        today: Callable[[], dt.date],
        shifts: dict[str, Shift],
        people: Callable[[set[str]], Any],
    ):
        self.sessions = sessions
        self.clock = clock
        self.today = today  # the city's date
        self.shifts = shifts
        self.people = people  # user names -> {agent: name} of the staff among them (awaitable)

    async def ask(
        self, who: Identity, entry_id: object, with_agent: object, their_entry_id: object, note: object
    ) -> int:
        if type(entry_id) is not int:
            raise BadRequest("entry 是您的排班记录编号", field="entry")
        if type(with_agent) is not str or not with_agent.strip() or with_agent == who.username:
            raise BadRequest("请填写接班同事的账号", field="with_agent")
        if their_entry_id is not None and type(their_entry_id) is not int:
            raise BadRequest("their_entry 是同事的排班记录编号（交换时）", field="their_entry")
        text = note.strip()[:200] if type(note) is str else ""
        if not (await self.people({with_agent})):
            raise BadRequest(f"{with_agent} 不是坐席账号", field="with_agent")
        today = self.today()
        async with self.sessions() as db, db.begin():
            mine = await db.get(RosterEntry, entry_id)
            if mine is None or mine.agent != who.username:
                raise SwapRefused("只能为自己的班次申请调班")
            if mine.day < today:
                raise SwapRefused("已过去的班次不能调换")
            if their_entry_id is not None:
                theirs = await db.get(RosterEntry, their_entry_id)
                if theirs is None or theirs.agent != with_agent:
                    raise SwapRefused(f"{their_entry_id} 不是 {with_agent} 的班次")
            swap = RosterSwap(
                requester=who.username,
                entry_id=entry_id,
                with_agent=with_agent,
                their_entry_id=their_entry_id,
                note=text,
                state="pending",
                asked_at=self.clock(),
            )
            db.add(swap)
            await db.flush()
            return swap.id

    async def decide(self, swap_id: int, approve: bool, who: Identity) -> dict[str, Any]:
        async with self.sessions() as db, db.begin():
            swap = await db.get(RosterSwap, swap_id)
            if swap is None:
                raise SwapRefused(f"没有调班申请 {swap_id}")
            if swap.state != "pending":
                raise SwapRefused(f"该申请已{STATE_TEXT.get(swap.state, swap.state)}")
            if approve:
                mine = await db.get(RosterEntry, swap.entry_id)
                if mine is None or mine.agent != swap.requester:
                    raise SwapRefused("申请人的班次已变动，无法批准")
                if swap.their_entry_id is not None:
                    theirs = await db.get(RosterEntry, swap.their_entry_id)
                    if theirs is None or theirs.agent != swap.with_agent:
                        raise SwapRefused("同事的班次已变动，无法批准")
                    theirs.agent = swap.requester
                mine.agent = swap.with_agent
            swap.state = "approved" if approve else "refused"
            swap.decided_by, swap.decided_at = who.username, self.clock()
        return {"id": swap_id, "state": swap.state, "state_text": STATE_TEXT[swap.state]}

    async def listing(self, agent: str | None = None) -> list[dict[str, Any]]:
        """Pending and recent swaps; `agent`: only theirs (asked by them or of them)."""
        async with self.sessions() as db:
            q = select(RosterSwap).order_by(RosterSwap.id.desc()).limit(200)
            if agent is not None:
                q = q.where((RosterSwap.requester == agent) | (RosterSwap.with_agent == agent))
            rows = (await db.scalars(q)).all()
            ids = {r.entry_id for r in rows} | {r.their_entry_id for r in rows if r.their_entry_id}
            entries = {e.id: e for e in (await db.scalars(select(RosterEntry).where(RosterEntry.id.in_(ids)))).all()}

        def shift(entry_id: int | None) -> str:
            e = entries.get(entry_id) if entry_id else None
            return (
                f"{e.day.isoformat()} {self.shifts[e.shift].name if e.shift in self.shifts else e.shift}" if e else ""
            )

        return [
            {
                "id": r.id,
                "requester": r.requester,
                "with_agent": r.with_agent,
                "shift": shift(r.entry_id),
                "their_shift": shift(r.their_entry_id),
                "note": r.note,
                "state": r.state,
                "state_text": STATE_TEXT.get(r.state, r.state),
                "decided_by": r.decided_by,
            }
            for r in rows
        ]
