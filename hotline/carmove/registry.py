"""Vehicles and their owners' phones: who car moving may call for a plate.

A phone is registered for a plate only with the one-time code sent to it.
A plate that already has a verified owner changes hands only with that
owner's consent: a second code goes to the current owner's phone and the
new registrant must give both (chosen over a desk override because the
owner is the only party who can tell a sold car from a hijack, and it needs
no agent). The previous owner is told of the change by SMS, and every change
is in car moving's log. Registrations are named by unguessable tokens, so
nobody can spend another's attempts; codes to one phone are limited per hour,
so the gateway cannot be turned on a number."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.carmove import plates
from hotline.carmove.errors import CarmoveRefused, CodeRefused, LimitReached
from hotline.channels.outbox import Outbox
from hotline.config import Settings
from hotline.db.models import CarmoveEvent, Vehicle, VehicleCode
from hotline.errors import BadRequest
from hotline.numbers import ascii_digits, mask_number

log = logging.getLogger(__name__)

MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,43}$")


def _hash(token: str, code: str) -> str:
    return hashlib.sha256(f"{token}:{code}".encode()).hexdigest()


def _code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def _six_digits(value: object) -> bool:
    return type(value) is str and len(value) == 6 and ascii_digits(value)


class VehicleRegistry:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        clock: Callable[[], dt.datetime],
        kick_outbox: Callable[[], None] = lambda: None,
    ):
        self.settings = settings
        self.cfg = settings.carmove
        self.sessions = sessions
        self.outbox = outbox
        self.clock = clock
        # A code goes out at once, not at the outbox's next round.
        self.kick_outbox = kick_outbox

    async def start(self, plate_text: object, phone_text: object, via: str) -> dict[str, Any]:
        """Codes go out through the SMS gateway; the registration holds when
        they come back (verify)."""
        plate = plates.normalize(plate_text)
        phone = phone_text.strip() if type(phone_text) is str else ""
        if not MOBILE.match(phone):
            raise BadRequest("车主手机号应为 11 位手机号码", field="phone")
        if self.settings.gateway("sms") is None:
            raise CarmoveRefused("短信网关未配置，无法发送验证码")
        now = self.clock()
        code, owner_code = _code(), _code()
        token = secrets.token_urlsafe(24)
        async with self.sessions() as db, db.begin():
            car = await db.scalar(select(Vehicle).where(Vehicle.plate == plate))
            owner = car.owner_phone if car is not None and car.owner_phone != phone else ""
            for number in filter(None, (phone, owner)):
                await self._within_limit(db, number, now)
            db.add(
                VehicleCode(
                    token=token,
                    plate=plate,
                    phone=phone,
                    code_hash=_hash(token, code),
                    via=via,
                    owner_phone=owner,
                    owner_code_hash=_hash(token + ":owner", owner_code) if owner else "",
                    attempts=0,
                    used=False,
                    created_at=now,
                    expires_at=now + dt.timedelta(minutes=self.cfg.code_minutes),
                )
            )
            self._sms(
                db,
                phone,
                f"【12345】您正在登记挪车联系电话（车牌 {plate}），验证码 {code}，"
                f"{self.cfg.code_minutes} 分钟内有效。如非本人操作请忽略。",
                now,
            )
            if owner:
                self._sms(
                    db,
                    owner,
                    f"【12345】有人申请将车牌 {plate} 的挪车联系电话改为 {mask_number(phone)}。"
                    f"如您同意，请将验证码 {owner_code} 告知对方（{self.cfg.code_minutes} 分钟内有效）；"
                    "如不同意，请忽略本短信，联系电话不会更改。",
                    now,
                )
                db.add(
                    CarmoveEvent(
                        binding_id=None,
                        at=now,
                        kind="owner-change-asked",
                        note=f"{plate} 申请改为 {mask_number(phone)}（{via}），已请原车主同意",
                    )
                )
        self.kick_outbox()
        return {
            "registration": token,
            "plate": plate,
            "phone": mask_number(phone),
            "owner_consent": mask_number(owner) or None,
            "expires_in_s": self.cfg.code_minutes * 60,
        }

    async def _within_limit(self, db: AsyncSession, number: str, now: dt.datetime) -> None:
        sent = await db.scalar(
            select(func.count())
            .select_from(VehicleCode)
            .where(
                or_(VehicleCode.phone == number, VehicleCode.owner_phone == number),
                VehicleCode.created_at >= now - dt.timedelta(hours=1),
            )
        )
        if (sent or 0) >= self.cfg.codes_per_phone_hour:
            raise LimitReached(f"发往 {mask_number(number)} 的验证码过于频繁，请一小时后再试")

    async def verify(self, registration: object, code: object, owner_code: object = None) -> dict[str, Any]:
        if type(registration) is not str or not TOKEN.match(registration) or not _six_digits(code):
            raise BadRequest("请输入 6 位验证码", field="code")
        now = self.clock()
        async with self.sessions() as db, db.begin():
            row = await db.scalar(select(VehicleCode).where(VehicleCode.token == registration))
            if row is None or row.used or row.expires_at < now or row.attempts >= self.cfg.code_attempts:
                raise CodeRefused("验证码已失效，请重新获取")
            if row.owner_phone and not _six_digits(owner_code):
                raise CodeRefused(
                    f"该车牌已登记，需原车主（{mask_number(row.owner_phone)}）收到的验证码",
                    field="owner_code",
                    owner_consent=mask_number(row.owner_phone),
                )
            row.attempts += 1
            good = hmac.compare_digest(row.code_hash, _hash(row.token, str(code)))
            if row.owner_phone:
                good &= hmac.compare_digest(row.owner_code_hash, _hash(row.token + ":owner", str(owner_code)))
            if not good:
                left = self.cfg.code_attempts - row.attempts
                await db.commit()  # a wrong code counts even though the request fails
                raise CodeRefused(f"验证码不正确，还可尝试 {left} 次", attempts_left=left)
            row.used = True
            car = await db.scalar(select(Vehicle).where(Vehicle.plate == row.plate))
            previous = car.owner_phone if car is not None else ""
            if previous and previous != row.phone and previous != row.owner_phone:
                # The plate changed hands since the codes went out: the consent
                # given was not the current owner's.
                raise CodeRefused("该车牌的登记信息已变更，请重新获取验证码")
            if car is None:
                db.add(Vehicle(plate=row.plate, owner_phone=row.phone, via=row.via, verified_at=now, created_at=now))
            else:
                car.owner_phone, car.via, car.verified_at = row.phone, row.via, now
            if previous and previous != row.phone:
                db.add(
                    CarmoveEvent(
                        binding_id=None,
                        at=now,
                        kind="owner-changed",
                        note=f"{row.plate} 联系电话由 {mask_number(previous)} 改为 {mask_number(row.phone)}"
                        f"（原车主验证码同意，{row.via}）",
                    )
                )
                self._sms(
                    db,
                    previous,
                    f"【12345】车牌 {row.plate} 的挪车联系电话已按您的同意改为 "
                    f"{mask_number(row.phone)}。如非本人同意，请致电 12345。",
                    now,
                )
            plate, phone = row.plate, row.phone
        if previous and previous != phone:
            self.kick_outbox()
        log.info("vehicle %s registered (owner %s)", plate, mask_number(phone))
        return {"plate": plate, "phone": mask_number(phone), "verified": True}

    def _sms(self, db: AsyncSession, phone: str, text: str, now: dt.datetime) -> None:
        self.outbox.add_peer(
            db,
            "sms",
            "",
            "otp",
            {
                "ticket": "",
                "channel": "sms",
                "citizen": phone,
                "kind": "otp",
                "text": text,
                "at": now.isoformat(timespec="seconds"),
            },
            now,
        )
