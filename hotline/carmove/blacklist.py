"""Numbers barred from car moving (abuse, harassment), kept by the lead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline.carmove.errors import CarmoveRefused
from hotline.db.models import CarmoveBlacklist
from hotline.errors import BadRequest
from hotline.identity import Identity
from hotline.numbers import ascii_digits, mask_number


class BlacklistAdmin:
    """The CarMoveService's blacklist (a base class: it writes its log)."""

    sessions: async_sessionmaker
    clock: Callable[[], dt.datetime]
    _log: Callable[[int | None, str, str], Awaitable[None]]

    async def bar(self, number: object, reason: object, who: Identity) -> None:
        if type(number) is not str or not ascii_digits(number) or not 5 <= len(number) <= 20:
            raise BadRequest("号码必须是 5-20 位数字", field="number")
        if type(reason) is not str or not reason.strip() or len(reason) > 200:
            raise BadRequest("请填写列入黑名单的理由（200 字以内）", field="reason")
        try:
            async with self.sessions() as db, db.begin():
                db.add(CarmoveBlacklist(number=number, reason=reason.strip(), added_by=who.username, at=self.clock()))
        except IntegrityError:
            raise CarmoveRefused("该号码已在黑名单中") from None
        await self._log(None, "blacklist", f"{mask_number(number)} 列入黑名单：{reason.strip()}（{who.username}）")

    async def unbar(self, number: str, who: Identity) -> None:
        async with self.sessions() as db, db.begin():
            row = await db.get(CarmoveBlacklist, number)
            if row is None:
                raise CarmoveRefused("该号码不在黑名单中")
            await db.delete(row)
        await self._log(None, "unblacklist", f"{mask_number(number)} 移出黑名单（{who.username}）")
