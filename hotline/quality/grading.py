"""Leads grade calls on the scorecard, two leads' grades of one call show
their calibration, agents read their own grades and may appeal a call once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.models import QaAppeal, QaCheck, QaGrade, QaScorecard, TicketCall
from hotline.errors import HotlineError
from hotline.identity import Identity
from hotline.quality import scorecards as sc


class CallNotFound(HotlineError):
    error_id = "quality-call-not-found"
    status = 404


class GradeRefused(HotlineError):
    error_id = "quality-refused"
    status = 409


class Grading:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], dt.datetime]):
        self.sessions = sessions
        self.clock = clock

    async def scorecard(self) -> tuple[sc.Item, ...]:
        async with self.sessions() as db:
            row = await db.get(QaScorecard, 1)
        return sc.as_items(row.items) if row is not None else sc.DEFAULT_ITEMS

    async def save_scorecard(self, raw: object, who: Identity) -> tuple[sc.Item, ...]:
        items = sc.parse_items(raw)
        async with self.sessions() as db, db.begin():
            row = await db.get(QaScorecard, 1)
            if row is None:
                row = QaScorecard(id=1)
                db.add(row)
            row.items, row.updated_at, row.updated_by = [i.as_dict() for i in items], self.clock(), who.username
        return items

    async def _agent_of(self, db: AsyncSession, call_id: str) -> str:
        agent = await db.scalar(select(QaCheck.agent).where(QaCheck.call_id == call_id).limit(1))
        agent = agent or await db.scalar(select(TicketCall.agent).where(TicketCall.call_id == call_id).limit(1))
        if not agent:
            raise CallNotFound(f"通话 {call_id} 不存在", call_id=call_id)
        return agent

    async def grade(self, call_id: str, who: Identity, raw_marks: object, comment: str) -> dict[str, Any]:
        """The lead's grade (a second look by the same lead replaces the first)."""
        items = await self.scorecard()
        marks = sc.parse_marks(items, raw_marks)
        async with self.sessions() as db, db.begin():
            agent = await self._agent_of(db, call_id)
            if agent == who.username:
                raise GradeRefused("不能给自己接听的通话评分")
            row = await db.scalar(select(QaGrade).where(QaGrade.call_id == call_id, QaGrade.grader == who.username))
            if row is None:
                row = QaGrade(call_id=call_id, agent=agent, grader=who.username)
                db.add(row)
            row.items, row.marks, row.total = [i.as_dict() for i in items], marks, sc.total(items, marks)
            row.comment, row.at = comment, self.clock()
        return await self.of_call(call_id)

    async def of_call(self, call_id: str) -> dict[str, Any]:
        """Every grade of the call, their agreement, and the agent's appeal."""
        return (await self.of_calls([call_id]))[call_id]

    async def of_calls(self, call_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The same for many calls, in two reads."""
        async with self.sessions() as db:
            rows = (await db.scalars(select(QaGrade).where(QaGrade.call_id.in_(call_ids)).order_by(QaGrade.id))).all()
            found = (await db.scalars(select(QaAppeal).where(QaAppeal.call_id.in_(call_ids)))).all()
        appeals = {a.call_id: a for a in found}
        card = await self.scorecard()
        out = {}
        for call_id in call_ids:
            grades = [g for g in rows if g.call_id == call_id]
            items = sc.as_items(grades[-1].items) if grades else card
            agreed = sc.agreement(items, [g.marks for g in grades])
            out[call_id] = {
                "call_id": call_id,
                "items": [i.as_dict() for i in items],
                "grades": [_grade(g) for g in grades],
                "agreement": {**agreed.as_dict(), "text": agreed.text} if agreed is not None else None,
                "appeal": _appeal(appeals.get(call_id)),
            }
        return out

    async def mine(self, agent: str) -> list[dict[str, Any]]:
        """An agent's graded calls: the scores, the leads' comments, the appeal."""
        async with self.sessions() as db:
            calls = list(
                dict.fromkeys(
                    (
                        await db.scalars(
                            select(QaGrade.call_id).where(QaGrade.agent == agent).order_by(QaGrade.id.desc()).limit(200)
                        )
                    ).all()
                )
            )
        graded = await self.of_calls(calls[:50])
        return [graded[c] for c in calls[:50]]

    async def appeal(self, call_id: str, who: Identity, reason: str) -> dict[str, Any]:
        async with self.sessions() as db:
            graded = await db.scalar(select(QaGrade.agent).where(QaGrade.call_id == call_id).limit(1))
        if graded != who.username:
            raise CallNotFound("只能对本人已被评分的通话申诉", call_id=call_id)
        try:
            async with self.sessions() as db, db.begin():
                db.add(QaAppeal(call_id=call_id, agent=who.username, reason=reason, at=self.clock(), state="open"))
        except IntegrityError:
            raise GradeRefused("每通电话只能申诉一次") from None
        return await self.of_call(call_id)

    async def answer(self, call_id: str, who: Identity, upheld: bool, answer: str) -> dict[str, Any]:
        async with self.sessions() as db, db.begin():
            row = await db.scalar(select(QaAppeal).where(QaAppeal.call_id == call_id))
            if row is None or row.state != "open":
                raise GradeRefused("没有待处理的申诉")
            row.state, row.answer, row.answered_by = ("upheld" if upheld else "rejected"), answer, who.username
        return await self.of_call(call_id)


def _grade(g: QaGrade) -> dict[str, Any]:
    return {"grader": g.grader, "marks": g.marks, "total": g.total, "comment": g.comment, "at": g.at}


STATE_TEXT = {"open": "待处理", "upheld": "申诉成立", "rejected": "申诉不成立"}


def _appeal(a: QaAppeal | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {"reason": a.reason, "at": a.at, "state": a.state, "state_text": STATE_TEXT[a.state], "answer": a.answer}
