"""Photos on a ticket: taken on site by the grid station handling it, or on
patrol by the worker who reported it. Streamed in with a size limit,
checked to be JPEG or PNG by their first bytes, written private to the
service user beside the recordings, and served only to who may read the
ticket."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, MultipartReader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline.accounts import Identity
from hotline.config import Settings
from hotline.db.models import Ticket, TicketPhoto
from hotline.errors import BadRequest, HotlineError
from hotline.roles import Role
from hotline.tickets import history
from hotline.tickets.access import NotYourTicket, TicketNotFound, may_read, unit_only

KINDS = {b"\xff\xd8\xff": ("jpeg", ".jpg"), b"\x89PNG\r\n\x1a\n": ("png", ".png")}


class PhotoTooLarge(HotlineError):
    error_id = "photo-too-large"
    status = 413


class PhotoRefused(HotlineError):
    error_id = "photo-refused"
    status = 400


class PhotoStore:
    def __init__(self, settings: Settings, sessions: async_sessionmaker, clock: Callable[[], dt.datetime]):
        self.settings = settings
        self.cfg = settings.grid
        self.folder = settings.photos_dir
        self.sessions = sessions
        self.clock = clock

    def _may_add(self, t: Ticket, who: Identity) -> None:
        may_read(t, who)
        if who.roles & {Role.LEAD, Role.ADMIN}:
            return
        if unit_only(who) and (t.department == who.department or t.agent == who.username):
            return
        raise NotYourTicket("只有承办单位或上报人可以添加照片")

    async def add(self, number: str, who: Identity, reader: MultipartReader) -> dict[str, Any]:
        async with self.sessions() as db:
            t = await db.scalar(select(Ticket).where(Ticket.number == number))
            if t is None:
                raise TicketNotFound(f"工单 {number} 不存在", number=number)
            self._may_add(t, who)
            count = await db.scalar(select(func.count()).select_from(TicketPhoto).where(TicketPhoto.ticket_id == t.id))
        if (count or 0) >= self.cfg.photos_per_ticket:
            raise PhotoRefused(f"每张工单最多 {self.cfg.photos_per_ticket} 张照片")
        part = await reader.next()
        if not isinstance(part, BodyPartReader) or part.name != "photo":
            raise BadRequest("请上传照片（表单字段 photo）", field="photo")
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.folder, 0o700)
        tmp = self.folder / f".{uuid.uuid4().hex}.part"
        digest, size, head = hashlib.sha256(), 0, b""
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                while chunk := await part.read_chunk(64 * 1024):
                    size += len(chunk)
                    if size > self.cfg.photo_max_bytes:
                        raise PhotoTooLarge(
                            f"照片不能超过 {self.cfg.photo_max_bytes // (1024 * 1024)} MB",
                            limit=self.cfg.photo_max_bytes,
                        )
                    if len(head) < 8:
                        head += chunk[: 8 - len(head)]
                    digest.update(chunk)
                    fh.write(chunk)
            kind = next((v for magic, v in KINDS.items() if head.startswith(magic)), None)
            if kind is None:
                raise PhotoRefused("只接受 JPEG 或 PNG 照片")
            name = f"{number}-{uuid.uuid4().hex[:12]}{kind[1]}"
            os.replace(tmp, self.folder / name)
        finally:
            tmp.unlink(missing_ok=True)
        now = self.clock()
        async with self.sessions() as db, db.begin():
            # Counted again inside the write: uploads racing past the first
            # check (12 at 15 made 27) queue here one at a time (SQLite's
            # BEGIN IMMEDIATE; the ticket's row lock on PostgreSQL).
            t = await db.scalar(select(Ticket).where(Ticket.number == number).with_for_update())
            assert t is not None
            count = await db.scalar(select(func.count()).select_from(TicketPhoto).where(TicketPhoto.ticket_id == t.id))
            if (count or 0) >= self.cfg.photos_per_ticket:
                (self.folder / name).unlink(missing_ok=True)
                raise PhotoRefused(f"每张工单最多 {self.cfg.photos_per_ticket} 张照片")
            photo = TicketPhoto(
                ticket_id=t.id,
                file=name,
                content_type=kind[0],
                size=size,
                sha256=digest.hexdigest(),
                uploaded_by=who.username,
                at=now,
            )
            db.add(photo)
            history.record(db, t, actor=who.username, action="photo", note=f"上传照片（{size // 1024} KB）", at=now)
            await db.flush()
            return self.view(photo)

    async def open(self, photo_id: int, who: Identity) -> tuple[Path, str]:
        async with self.sessions() as db:
            photo = await db.get(TicketPhoto, photo_id)
            t = await db.get(Ticket, photo.ticket_id) if photo is not None else None
        if photo is None or t is None:
            raise TicketNotFound("照片不存在")
        may_read(t, who)
        path = self.folder / Path(photo.file).name
        if not path.is_file():
            raise TicketNotFound("照片文件不存在")
        return path, f"image/{photo.content_type}"

    @staticmethod
    def view(p: TicketPhoto) -> dict[str, Any]:
        return {
            "id": p.id,
            "url": f"/api/photos/{p.id}",
            "size": p.size,
            "uploaded_by": p.uploaded_by,
            "at": p.at.isoformat(),
        }
