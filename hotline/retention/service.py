"""The retention run: each kind of personal data past its period deleted or
anonymised (retention/rules.py says which and why), a ticket under a legal
hold and its calls kept whole, and the run written to the audit.

Runs daily on every controller (recordings, voice messages and logs are on
its own node's disk; the database's steps find nothing left to do the
second time), from `hotline retention run`, and from the admin's page."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.config import Settings
from hotline.db.models import (
    Call,
    Callback,
    QueueCall,
    RetentionRun,
    Ticket,
    TicketCall,
    TicketPhoto,
    VoiceMessage,
    WebSession,
)
from hotline.pbx.paths import Paths
from hotline.recordings.store import RecordingStore
from hotline.retention import rules
from hotline.retention.rules import Cutoffs, Purged

log = logging.getLogger(__name__)

CLOSED = "closed"


class Retention:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], dt.datetime],
        rotate_logs: Callable[[], Awaitable[None]] | None = None,
    ):
        """rotate_logs: asks the PBX to start new log files (the controller; the CLI has none)."""
        self.settings = settings
        self.sessions = sessions
        self.clock = clock
        self.rotate_logs = rotate_logs
        self._lock = asyncio.Lock()

    async def run(self, actor: str, dry_run: bool = False) -> list[Purged]:
        """One pass; stored in the audit unless it is a dry run."""
        async with self._lock:
            now = self.clock()
            cut = rules.cutoffs(self.settings, now)
            kept = await self._kept_calls()
            steps = (
                ("recordings", self._recordings(cut, kept, dry_run)),
                ("voice-messages", self._voice_messages(cut, kept, dry_run)),
                ("photos", self._photos(cut, dry_run)),
                ("callers", self._callers(cut, kept, now, dry_run)),
                ("sessions", self._sessions(cut, dry_run)),
                ("logs", self._logs(cut, dry_run)),
            )
            items = [Purged(what, await step, rules.why(self.settings, what)) for what, step in steps]
            if not dry_run:
                async with self.sessions() as db, db.begin():
                    db.add(RetentionRun(at=now, actor=actor[:64], items=[i.as_dict() for i in items]))
                log.info("retention run by %s: %s", actor, ", ".join(f"{i.what} {i.count}" for i in items))
            return items

    async def runs(self, limit: int = 30) -> list[RetentionRun]:
        async with self.sessions() as db:
            return list((await db.scalars(select(RetentionRun).order_by(RetentionRun.id.desc()).limit(limit))).all())

    async def _kept_calls(self) -> frozenset[str]:
        """Calls whose data stays whatever its age: those of tickets under a
        legal hold, and of tickets still open (the case is not over)."""
        async with self.sessions() as db:
            rows = await db.scalars(
                select(TicketCall.call_id)
                .join(Ticket, Ticket.id == TicketCall.ticket_id)
                .where(Ticket.legal_hold.is_(True) | (Ticket.status != CLOSED))
            )
            direct = await db.scalars(
                select(Ticket.call_id).where(
                    Ticket.call_id.is_not(None), Ticket.legal_hold.is_(True) | (Ticket.status != CLOSED)
                )
            )
            return frozenset(rows.all()) | frozenset(c for c in direct.all() if c)

    async def _recordings(self, cut: Cutoffs, kept: frozenset[str], dry_run: bool) -> int:
        store = RecordingStore(self.settings, self.sessions)
        gone = await store.purge(dry_run=dry_run, keep=kept, before=cut.recordings.timestamp())
        return len(gone)

    async def _voice_messages(self, cut: Cutoffs, kept: frozenset[str], dry_run: bool) -> int:
        async with self.sessions() as db:
            rows = (
                await db.execute(
                    select(VoiceMessage.id, VoiceMessage.file, VoiceMessage.call_id).where(
                        VoiceMessage.created_at < cut.voice_messages, VoiceMessage.file != ""
                    )
                )
            ).all()
        old = [(i, f) for i, f, call_id in rows if call_id not in kept]
        if dry_run or not old:
            return len(old)
        folder = self.settings.messages_dir
        await asyncio.to_thread(_unlink, [folder / Path(f).name for _, f in old])
        async with self.sessions() as db, db.begin():
            for chunk in _chunks([i for i, _ in old]):
                await db.execute(update(VoiceMessage).where(VoiceMessage.id.in_(chunk)).values(file="", caller=""))
        return len(old)

    async def _photos(self, cut: Cutoffs, dry_run: bool) -> int:
        async with self.sessions() as db:
            rows = (
                await db.execute(
                    select(TicketPhoto.id, TicketPhoto.file)
                    .join(Ticket, Ticket.id == TicketPhoto.ticket_id)
                    .where(Ticket.status == CLOSED, Ticket.closed_at < cut.photos, Ticket.legal_hold.is_(False))
                )
            ).all()
        if dry_run or not rows:
            return len(rows)
        await asyncio.to_thread(_unlink, [self.settings.photos_dir / Path(f).name for _, f in rows])
        async with self.sessions() as db, db.begin():
            for chunk in _chunks([i for i, _ in rows]):
                await db.execute(delete(TicketPhoto).where(TicketPhoto.id.in_(chunk)))
        return len(rows)

    async def _callers(self, cut: Cutoffs, kept: frozenset[str], now: dt.datetime, dry_run: bool) -> int:
        """Tickets closed before the cutoff, and calls, queue stays and
        callbacks of that age that belong to no open or held ticket."""
        limit = cut.callers.timestamp()
        async with self.sessions() as db, db.begin():
            tickets = await db.scalars(
                select(Ticket.id).where(
                    Ticket.status == CLOSED,
                    Ticket.closed_at < cut.callers,
                    Ticket.legal_hold.is_(False),
                    Ticket.anonymised_at.is_(None),
                )
            )
            ids = list(tickets.all())
            named = (Call.caller != "") | (Call.caller_name != "")
            calls = (await db.execute(select(Call.call_id).where(Call.started_at < cut.callers, named))).all()
            stays = (
                await db.execute(
                    select(QueueCall.uniqueid, QueueCall.call_id).where(
                        QueueCall.joined_at < limit, QueueCall.caller != ""
                    )
                )
            ).all()
            done = Callback.status.in_(("reached", "failed"))
            callbacks = await db.scalars(
                select(Callback.id).where(done, Callback.created_at < limit, Callback.number != "")
            )
            changes: list[tuple[type[Any], Any, list[Any], dict[str, Any]]] = [
                (Ticket, Ticket.id, ids, {"caller": "", "caller_name": "", "anonymised_at": now}),
                (Call, Call.call_id, [c for (c,) in calls if c not in kept], {"caller": "", "caller_name": ""}),
                (QueueCall, QueueCall.uniqueid, [u for u, c in stays if c not in kept], {"caller": ""}),
                (Callback, Callback.id, list(callbacks.all()), {"number": ""}),
            ]
            if not dry_run:
                for model, column, keys, values in changes:
                    for chunk in _chunks(keys):
                        await db.execute(update(model).where(column.in_(chunk)).values(**values))
        return sum(len(keys) for _, _, keys, _ in changes)

    async def _sessions(self, cut: Cutoffs, dry_run: bool) -> int:
        async with self.sessions() as db, db.begin():
            old = list(
                (await db.scalars(select(WebSession.token_hash).where(WebSession.expires_at < cut.sessions))).all()
            )
            if not dry_run:
                for chunk in _chunks(old):
                    await db.execute(delete(WebSession).where(WebSession.token_hash.in_(chunk)))
            return len(old)

    async def _logs(self, cut: Cutoffs, dry_run: bool) -> int:
        if self.rotate_logs is not None and not dry_run:
            try:
                await self.rotate_logs()
            except Exception as exc:  # a PBX that is away keeps its log one more day
                log.warning("retention: the PBX's logs were not rotated: %s", exc)
        folder = Paths(self.settings.pbx.instance_dir).log
        names = await asyncio.to_thread(_mtimes, folder)
        old = rules.old_logs(names, cut.logs)
        if not dry_run:
            await asyncio.to_thread(_unlink, [folder / n for n in old])
        return len(old)


def _chunks(keys: list[Any], size: int = 500) -> list[list[Any]]:
    """Keys a few hundred at a time (SQLite limits an IN list's parameters)."""
    return [keys[i : i + size] for i in range(0, len(keys), size)]


def _mtimes(folder: Path) -> dict[str, float]:
    if not folder.is_dir():
        return {}
    return {p.name: p.stat().st_mtime for p in folder.iterdir() if p.is_file()}


def _unlink(paths: list[Path]) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
