"""The ticket store's write primitives, shared by its parts (store.py,
desk_writes.py, actions.py): the transaction, ticket numbers, the form, and
the one way a ticket changes state (`_move`), which writes its history and
publishes the change to the features that react to it (moves.py)."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.config import Settings, TicketSettings
from hotline.db.models import Ticket, TicketEvent, TicketSequence
from hotline.errors import BadRequest
from hotline.tickets import duplicates
from hotline.tickets import workflow as wf
from hotline.tickets.duplicates import Candidate
from hotline.tickets.form import read_form
from hotline.tickets.moves import Moves, TicketMove
from hotline.tickets.reads import TicketReads


@functools.cache
def _next_in_sequence(dialect: str) -> Any:
    # Built once: building it cost more than running it (bench/channel_intake.py, profiled).
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(TicketSequence).values(day=bindparam("day"), last=1)
    return stmt.on_conflict_do_update(
        index_elements=[TicketSequence.day], set_={"last": TicketSequence.last + 1}
    ).returning(TicketSequence.last)


class TicketCore(TicketReads):
    settings: Settings
    cfg: TicketSettings
    tz: zoneinfo.ZoneInfo
    moves: Moves

    def _read_form(
        self, body: dict[str, Any], *, require_content: bool, require_category: bool = True
    ) -> dict[str, Any]:
        return read_form(body, self.tree, self.cfg, require_content=require_content, require_category=require_category)

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[AsyncSession]:
        """A write transaction (on SQLite, queued behind the engine's write
        lock); once committed, the listeners learn what it did."""
        async with self.sessions() as db:
            async with db.begin():
                yield db
            info = dict(db.info)
        self.moves.committed(info)

    async def _next_number(self, db: AsyncSession, now: dt.datetime) -> str:
        """Date + per-day sequence: 20261127000042. One upsert, so two
        writers on PostgreSQL never draw the same number."""
        day = now.astimezone(self.tz).strftime("%Y%m%d")
        seq = (await db.execute(_next_in_sequence(db.bind.dialect.name), {"day": day})).scalar_one()
        return f"{day}{seq:06d}"

    def label(self, t: Ticket) -> str:
        return f"{t.number} {self.views.category_label(t.category) or '未分类'}"

    async def _move(
        self,
        db: AsyncSession,
        t: Ticket,
        action: str,
        after: wf.Status,
        actor: str,
        note: str,
        now: dt.datetime,
        suspects: Sequence[Candidate] = (),
    ) -> None:
        before = t.status
        db.add(
            TicketEvent(
                ticket_id=t.id, at=now, actor=actor, action=action, from_status=before, to_status=after.value, note=note
            )
        )
        t.status = after.value
        t.updated_at = now
        dept = self.tree.departments.get(t.department)
        await self.moves.publish(
            TicketMove(
                db,
                t,
                action,
                before,
                note,
                actor,
                now,
                self.label(t),
                dept.name if dept else "",
                suspects=tuple(suspects),
            )
        )

    async def suspects(self, body: dict[str, Any], caller: str | None = None, number: str = "") -> list[Candidate]:
        """Open tickets this request may repeat. Read before the write
        transaction: comparing texts must not hold up other writers."""

        def text(key: str) -> str:
            v = body.get(key)
            return v.strip() if type(v) is str else ""

        probe = duplicates.Probe(
            text("content"),
            caller if caller is not None else text("caller"),
            text("address"),
            text("category"),
            text("district"),
            number,
        )
        if not probe.content:
            return []
        async with self.sessions() as db:
            return await duplicates.candidates(db, self.settings, probe, self.clock(), limit=1)

    def _dispatch(self, t: Ticket, body: dict[str, Any], now: dt.datetime) -> str:
        given = body.get("department")
        if given is not None and type(given) is not str:
            raise BadRequest("department 必须是部门代码", field="department")
        dept = given or t.department or ""
        if not dept:
            # 属地优先: the community owning the address, else the category's department.
            unit = self.tree.units.locate(t.address, t.district)
            node = self.tree.get(t.category)
            dept = unit.code if unit else node.department if node else ""
        if dept not in self.tree.departments:
            raise BadRequest("派单需要选择承办部门", field="department")
        node = self.tree.get(t.category)
        days = body.get("deadline_days")
        if days in (None, ""):
            days = node.deadline_days if node else self.cfg.deadline_days
        if type(days) is str:
            try:
                days = float(days)
            except ValueError:
                raise BadRequest("deadline_days 必须是天数", field="deadline_days") from None
        if type(days) not in (int, float) or days != days:  # NaN is no number of days
            raise BadRequest("deadline_days 必须是天数", field="deadline_days")
        if not 0 < days <= 365:
            raise BadRequest("办理时限必须在 0-365 天之间", field="deadline_days")
        t.department = dept
        t.deadline_at = now + dt.timedelta(days=days)
        return f"派往{self.tree.departments[dept].name}，时限 {days:g} 天"
