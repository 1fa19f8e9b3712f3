"""The announcement played to every caller before the menu (an outage, a
holiday notice), set by the lead or an admin."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline.db.models import Announcement, utcnow
from hotline.errors import BadRequest
from hotline.ivr.prompts import PromptStore


class AnnouncementService:
    """The emergency notice: its prompt is made when the lead switches it on."""

    def __init__(self, sessions: async_sessionmaker, prompts: PromptStore):
        self.sessions = sessions
        self.prompts = prompts
        self._file: str | None = None
        self.active = False
        self.text = ""
        self._hooks: list[Callable[[], None]] = []

    def on_change(self, hook: Callable[[], None]) -> None:
        """hook() after the notice is switched on, off or changed."""
        self._hooks.append(hook)

    def _changed(self) -> None:
        for hook in self._hooks:
            hook()

    async def load(self) -> None:
        async with self.sessions() as db:
            row = await db.get(Announcement, 1)
        if row is not None:
            self.active, self.text = row.active, row.text
            self._file = await self.prompts.for_text(row.text) if row.active and row.text else None

    async def refresh(self) -> bool:
        """The notice as set at another controller (a cluster): True when it changed here."""
        async with self.sessions() as db:
            row = await db.get(Announcement, 1)
        if row is None or (row.active, row.text) == (self.active, self.text):
            return False
        file = await self.prompts.for_text(row.text) if row.active and row.text else None
        self.active, self.text, self._file = row.active, row.text, file
        self._changed()
        return True

    def current_file(self) -> str | None:
        return self._file if self.active else None

    async def set(self, active: bool, text: str, actor: str) -> dict[str, object]:
        text = text.strip()
        if active and not text:
            raise BadRequest("开启应急公告时必须填写公告内容", field="text")
        file = await self.prompts.for_text(text) if active else None
        async with self.sessions() as db, db.begin():
            row = await db.get(Announcement, 1)
            if row is None:
                row = Announcement(id=1)
                db.add(row)
            row.active, row.text, row.updated_by, row.updated_at = active, text, actor, utcnow()
        self.active, self.text, self._file = active, text, file
        self._changed()
        return self.view()

    def view(self) -> dict[str, object]:
        return {"active": self.active, "text": self.text}
