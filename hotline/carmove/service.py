"""Car moving (挪车): vehicles registered with a verified owner's phone, and
bindings (X, requester, owner) through which the two reach each other from
a pool number X, never seeing the other's number.

The desk asks for a car to be moved while the requester is on the line:
the requester waits on hold music (hotline-carmove-wait) while the owner is
called from X (hotline-carmove-dial / -owner) and hears the plate, the place
and "press 1"; key 1 bridges them. For the binding's time to live, either
calling X reaches the other (hotline-carmove-in, FastAGI route `carmove`);
after it, a prompt says the binding has ended. Every step is logged
(carmove_events) and every call recorded under the binding's id, never a
number."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import zoneinfo
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline.accounts import Identity
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.ami.fastagi import AGISession
from hotline.carmove import plates
from hotline.carmove.errors import (
    Blacklisted,
    CarmoveRefused,
    LimitReached,
    Unregistered,
)
from hotline.carmove.pool import Active, choose, counterpart, month_start
from hotline.config import Settings
from hotline.db.models import (
    CarmoveBinding,
    CarmoveBlacklist,
    CarmoveEvent,
    Ticket,
    Vehicle,
)
from hotline.errors import BadRequest, HotlineError
from hotline.ivr.prompts import PromptStore
from hotline.numbers import ascii_digits, mask_number
from hotline.tasks import TaskSet
from hotline.tickets import history
from hotline.tickets.handoff import ActiveCall

log = logging.getLogger(__name__)

# Fixed prompts the dialplan plays (made at start).
PROMPTS = {
    "carmove-wait": "正在为您联系车主，请稍候。",
    "carmove-unreached": "车主暂时没有接通。三十分钟内，您可以拨打以下号码再次联系车主：",
    "carmove-unreached-end": "感谢您的来电，再见。",
    "carmove-owner-bye": "您没有按键，本次通话结束。请尽快挪车，谢谢配合。",
    "carmove-peer-gone": "等候的人已经挂机，请尽快挪车，谢谢配合。",
    "carmove-ended": "您拨打的挪车联系号码已过期，通话无法接通。如需挪车，请拨打 12345。",
}


class CarMoveService:
    def __init__(self, settings: Settings, sessions: async_sessionmaker, client: AMIClient, prompts: PromptStore,
                 clock: Callable[[], dt.datetime]):
        self.settings = settings
        self.cfg = settings.carmove
        self.sessions = sessions
        self.client = client
        self.prompts = prompts
        self.clock = clock
        self.tz = zoneinfo.ZoneInfo(settings.ivr.timezone)
        self._lock = asyncio.Lock()  # one pool allocation at a time
        self._waiting: dict[int, str] = {}  # binding -> the requester's channel, on hold
        self._tasks = TaskSet("carmove")
        client.on(ev.HotlineCarmove, self._on_step)

    async def close(self) -> None:
        await self._tasks.close()

    # -- a request from the desk -------------------------------------------------------------
    async def request(self, who: Identity, call: ActiveCall, plate_text: object, location_text: object) -> dict[str, Any]:
        plate = plates.normalize(plate_text)
        location = location_text.strip() if type(location_text) is str else ""
        if not 2 <= len(location) <= 100:
            raise BadRequest("请填写车辆所在位置（2-100 字）", field="location")
        requester = call.caller
        if not ascii_digits(requester) or not 5 <= len(requester) <= 20:
            raise CarmoveRefused("来电号码未知，无法建立挪车联系")
        now = self.clock()
        async with self._lock:
            async with self.sessions() as db:
                if await db.get(CarmoveBlacklist, requester) is not None:
                    await self._log(None, "refused", f"黑名单号码 {mask_number(requester)}")
                    raise Blacklisted("该号码已被限制使用挪车服务")
                used = await db.scalar(select(func.count()).select_from(CarmoveBinding).where(
                    CarmoveBinding.requester == requester,
                    CarmoveBinding.created_at >= month_start(now, self.tz).astimezone(dt.timezone.utc)))
                if (used or 0) >= self.cfg.monthly_limit:
                    await self._log(None, "refused", f"{mask_number(requester)} 本月已用 {used} 次")
                    raise LimitReached(f"每个号码每月最多使用 {self.cfg.monthly_limit} 次挪车服务", used=used)
                car = await db.scalar(select(Vehicle).where(Vehicle.plate == plate))
                if car is None:
                    raise Unregistered(f"车牌 {plate} 未登记挪车联系电话", plate=plate)
                owner = car.owner_phone
                if owner == requester:
                    raise CarmoveRefused("来电人就是登记的车主")
                active = [Active(b.x, b.requester, b.owner) for b in (await db.scalars(select(CarmoveBinding).where(
                    CarmoveBinding.expires_at > now))).all()]
            x = choose(self.cfg.pool, active, requester, owner)
            if x is None:
                raise CarmoveRefused("中间号已用完，请稍后再试")
            async with self.sessions() as db, db.begin():
                b = CarmoveBinding(x=x, requester=requester, owner=owner, plate=plate, location=location,
                                   agent=who.username, ticket_number=call.ticket, state="calling", created_at=now,
                                   expires_at=now + dt.timedelta(minutes=self.cfg.ttl_minutes))
                db.add(b)
                await db.flush()
                db.add(CarmoveEvent(binding_id=b.id, at=now, kind="created",
                                    note=f"{plate} {location}，中间号 {x}，坐席 {who.username}"))
                if call.ticket:
                    t = await db.scalar(select(Ticket).where(Ticket.number == call.ticket))
                    if t is not None:
                        history.record(db, t, actor=who.username, action="carmove", at=now,
                                       note=f"挪车：车牌 {plate}，位置 {location}，经中间号 {x} 呼叫车主")
                binding = b.id
        message = await self.prompts.for_text(
            f"您好，这里是 12345 挪车服务。车牌 {plates.spoken(plate)} 的车辆停在{location}，影响他人通行，"
            "请您尽快挪车。如需与等候的人通话，请按 1。")
        # The requester waits on hold, showing X to whoever they are bridged with.
        self._waiting[binding] = call.caller_channel
        await self.client.action("Setvar", Channel=call.caller_channel, Variable="HOTLINE_CM_X", Value=x)
        await self.client.action("Setvar", Channel=call.caller_channel, Variable="HOTLINE_CM", Value=str(binding))
        await self.client.action("Redirect", Channel=call.caller_channel, Context="hotline-carmove-wait", Exten="s",
                                 Priority="1")
        await self.client.action(
            "Originate", Channel=f"Local/{owner}@hotline-carmove-dial", Context="hotline-carmove-owner", Exten="s",
            Priority="1", CallerID=f'"12345" <{x}>', Async="true", Timeout=str((self.cfg.ring_seconds + 10) * 1000),
            Variable=[f"__HOTLINE_CM={binding}", f"__HOTLINE_CM_X={x}", f"HOTLINE_CM_PROMPT={message}",
                      f"HOTLINE_CM_PEER={call.caller_channel}"])
        return await self.view(binding)

    # -- what the dialplan reports -----------------------------------------------------------
    def _on_step(self, e: ev.HotlineCarmove) -> None:
        if not ascii_digits(e.binding) or len(e.binding) > 12:
            return
        binding, step = int(e.binding), e.step
        if step not in ("answered", "key1", "nokey", "unreached", "ended", "bridge-failed"):
            return
        self._tasks.spawn(self._step(binding, step), f"carmove-{binding}-{step}")

    async def _step(self, binding: int, step: str) -> None:
        text = {"answered": "车主已接听", "key1": "车主按 1，双方通话", "nokey": "车主未按键",
                "unreached": "车主未接通", "ended": "通话结束", "bridge-failed": "等候人已挂机"}[step]
        state = {"key1": "bridged", "unreached": "unreached", "nokey": "notified"}.get(step)
        async with self.sessions() as db, db.begin():
            if state is not None:
                await db.execute(update(CarmoveBinding).where(CarmoveBinding.id == binding).values(state=state))
            db.add(CarmoveEvent(binding_id=binding, at=self.clock(), kind=step, note=text))
        channel = self._waiting.get(binding)
        if step in ("key1", "bridge-failed", "ended"):
            self._waiting.pop(binding, None)
        elif step in ("unreached", "nokey") and channel:
            # Nobody will bridge the requester: tell them how to try again.
            self._waiting.pop(binding, None)
            try:
                await self.client.action("Redirect", Channel=channel, Context="hotline-carmove-wait",
                                         Exten="unreached", Priority="1")
            except HotlineError as exc:
                log.info("car moving %s: requester already gone (%s)", binding, exc)

    # -- a call to X -------------------------------------------------------------------------
    async def route(self, session: AGISession) -> None:
        """FastAGI `carmove`: who a caller to X reaches, if anyone."""
        x = session.arg(1)
        caller = session.env.get("agi_callerid", "")
        now = self.clock()
        async with self.sessions() as db:
            rows = (await db.scalars(select(CarmoveBinding).where(CarmoveBinding.x == x,
                                                                  CarmoveBinding.expires_at > now))).all()
            barred = ascii_digits(caller) and await db.get(CarmoveBlacklist, caller) is not None
        found = counterpart([Active(b.x, b.requester, b.owner) for b in rows], x, caller) if not barred else None
        if found is None:
            await self._log(None, "ended-call", f"{mask_number(caller)} 拨打 {x}：无有效绑定")
            return
        active, other = found
        b = next(r for r in rows if (r.x, r.requester, r.owner) == (active.x, active.requester, active.owner))
        side = "车主" if caller == b.owner else "求助人"
        await self._log(b.id, "call-in", f"{side}拨打中间号 {x}")
        await session.set_variable("HOTLINE_CM", str(b.id))
        await session.set_variable("HOTLINE_CM_TO", other)

    async def _log(self, binding: int | None, kind: str, note: str) -> None:
        async with self.sessions() as db, db.begin():
            db.add(CarmoveEvent(binding_id=binding, at=self.clock(), kind=kind, note=note[:200]))

    # -- views -------------------------------------------------------------------------------
    async def view(self, binding: int, agent: str | None = None) -> dict[str, Any]:
        """One binding and its log; `agent` limits it to the agent who asked
        for it (an agent has no business with another's car moving)."""
        async with self.sessions() as db:
            b = await db.get(CarmoveBinding, binding)
            events = (await db.scalars(select(CarmoveEvent).where(CarmoveEvent.binding_id == binding)
                                       .order_by(CarmoveEvent.id))).all()
        if b is None or (agent is not None and b.agent != agent):
            raise Unregistered("没有这个挪车记录")
        return {**self._row(b), "events": [{"at": e.at.isoformat(), "kind": e.kind, "note": e.note} for e in events]}

    def _row(self, b: CarmoveBinding) -> dict[str, Any]:
        # Numbers only masked: the agent and the lead need neither in full.
        return {"id": b.id, "x": b.x, "plate": b.plate, "location": b.location, "state": b.state,
                "requester": mask_number(b.requester), "owner": mask_number(b.owner), "agent": b.agent,
                "ticket": b.ticket_number, "created_at": b.created_at.isoformat(),
                "expires_at": b.expires_at.isoformat(), "active": b.expires_at > self.clock()}

    async def recent(self, limit: int = 100) -> dict[str, Any]:
        now = self.clock()
        async with self.sessions() as db:
            rows = (await db.scalars(select(CarmoveBinding).order_by(CarmoveBinding.id.desc()).limit(limit))).all()
            month = await db.scalar(select(func.count()).select_from(CarmoveBinding).where(
                CarmoveBinding.created_at >= month_start(now, self.tz).astimezone(dt.timezone.utc)))
            barred = (await db.scalars(select(CarmoveBlacklist).order_by(CarmoveBlacklist.at.desc()))).all()
        return {"bindings": [self._row(b) for b in rows], "this_month": month or 0,
                "pool": list(self.cfg.pool), "ttl_minutes": self.cfg.ttl_minutes,
                "monthly_limit": self.cfg.monthly_limit,
                "blacklist": [{"number": mask_number(b.number), "reason": b.reason,
                               "added_by": b.added_by, "at": b.at.isoformat()} for b in barred]}

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
