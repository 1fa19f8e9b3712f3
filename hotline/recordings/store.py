"""Where recordings live, who may hear them, and the retention purge.

Asterisk writes `<call id>.wav` (dialplan [hotline-record]); the ticket's
calls name the file, so the index is the ticket store itself.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline.accounts import Identity
from hotline.config import Settings
from hotline.db.models import TicketCall
from hotline.errors import HotlineError
from hotline.roles import Role

_CALL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


# Each party's own file beside the mixed one (the quality checks read them).
LEGS = ("-caller", "-agent")


def call_of(stem: str) -> str:
    """The call a recording file belongs to: `<call id>`, `<call id>-caller` or `<call id>-agent`."""
    for leg in LEGS:
        if stem.endswith(leg):
            return stem.removesuffix(leg)
    return stem


class RecordingNotFound(HotlineError):
    error_id = "recording-not-found"
    status = 404


class RecordingForbidden(HotlineError):
    error_id = "recording-forbidden"
    status = 403


class RecordingStore:
    def __init__(self, settings: Settings, sessions: async_sessionmaker):
        self.settings = settings
        self.folder = settings.recordings_dir
        self.sessions = sessions

    def path(self, call_id: str) -> Path:
        if not _CALL_ID.match(call_id):
            raise RecordingNotFound("录音不存在")
        return self.folder / f"{call_id}.wav"

    async def open_for(self, call_id: str, who: Identity) -> Path:
        """The file, if `who` may hear it: agents their own calls, leads and admins all."""
        path = self.path(call_id)
        async with self.sessions() as db:
            rows = (await db.scalars(select(TicketCall).where(TicketCall.call_id == call_id))).all()
        if not rows or all(r.recording_purged for r in rows):
            raise RecordingNotFound("录音不存在或已过保存期")
        if not (who.roles & {Role.LEAD, Role.ADMIN}) and who.username not in {r.agent for r in rows}:
            raise RecordingForbidden("只能收听本人接听的通话录音")
        if not path.is_file():
            raise RecordingNotFound("录音文件不存在")
        return path

    async def purge(
        self,
        days: int | None = None,
        dry_run: bool = False,
        keep: frozenset[str] = frozenset(),
        before: float | None = None,
    ) -> list[str]:
        """Recordings older than their period (or than `before`), except the
        calls in `keep` (a ticket under a legal hold, or still open)."""
        period = days if days is not None else self.settings.recordings.retention_days
        cutoff = before if before is not None else time.time() - period * 86400
        old = [p for p in await asyncio.to_thread(self._old_files, cutoff) if call_of(p.stem) not in keep]
        if dry_run:
            return [p.name for p in old]
        gone = []
        for p in old:
            try:
                p.unlink()
                gone.append(p)
            except FileNotFoundError:
                pass
        if gone:
            async with self.sessions() as db, db.begin():
                await db.execute(
                    update(TicketCall)
                    .where(TicketCall.call_id.in_({call_of(p.stem) for p in gone}))
                    .values(recording_purged=True)
                )
        return [p.name for p in gone]

    def _old_files(self, cutoff: float) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob("*.wav") if p.is_file() and os.stat(p).st_mtime < cutoff)
