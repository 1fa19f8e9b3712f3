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

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts import Identity
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.ami.fastagi import AGISession
from hotline.carmove import plates
from hotline.carmove.blacklist import BlacklistAdmin
from hotline.carmove.errors import CarmoveRefused
from hotline.carmove.pool import Active, choose, counterpart, month_start
from hotline.carmove.rules import Asked, refusal
from hotline.carmove.views import BindingView, CarmoveViews
from hotline.config import Settings
from hotline.db.models import CarmoveBinding, CarmoveBlacklist, CarmoveEvent, Ticket, Vehicle
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
    "carmove-failed": "抱歉，暂时无法呼叫车主，请稍后再拨打 12345。再见。",
}
ACTOR = "carmove"  # who the tickets' history names for what car moving did by itself


class CarMoveService(CarmoveViews, BlacklistAdmin):
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker,
        client: AMIClient,
        prompts: PromptStore,
        clock: Callable[[], dt.datetime],
    ):
        self.settings = settings
        self.cfg = settings.carmove
        self.sessions = sessions
        self.client = client
        self.prompts = prompts
        self.clock = clock
        self.tz = zoneinfo.ZoneInfo(settings.ivr.timezone)
        self._lock = asyncio.Lock()  # one pool allocation at a time
        self._waiting: dict[int, str] = {}  # binding -> the requester's channel, on hold
        self._dialling: dict[tuple[str, str], int] = {}  # (owner, X) -> binding, until its call starts
        self._tasks = TaskSet("carmove")
        client.on(ev.HotlineCarmove, self._on_step)
        client.on(ev.OriginateResponse, self._on_originate)

    async def close(self) -> None:
        await self._tasks.close()

    # -- a request from the desk -------------------------------------------------------------
    async def request(self, who: Identity, call: ActiveCall, plate_text: object, location_text: object) -> BindingView:
        plate = plates.normalize(plate_text)
        location = location_text.strip() if type(location_text) is str else ""
        if not 2 <= len(location) <= 100:
            raise BadRequest("请填写车辆所在位置（2-100 字）", field="location")
        requester = call.caller
        if not ascii_digits(requester) or not 5 <= len(requester) <= 20:
            raise CarmoveRefused("来电号码未知，无法建立挪车联系")
        async with self._lock:  # one pool allocation at a time
            binding, x, owner = await self._bind(who, call, requester, plate, location)
        message = await self.prompts.for_text(
            f"您好，这里是 12345 挪车服务。车牌 {plates.spoken(plate)} 的车辆停在{location}，影响他人通行，"
            "请您尽快挪车。如需与等候的人通话，请按 1。"
        )
        try:
            await self._call_owner(binding, call.caller_channel, x, owner, message)
        except HotlineError as exc:
            await self._undo(binding, call.caller_channel, f"未能呼叫车主：{exc}")
            raise CarmoveRefused("未能呼叫车主，已告知求助人稍后再试") from None
        return await self.view(binding)

    async def _bind(
        self, who: Identity, call: ActiveCall, requester: str, plate: str, location: str
    ) -> tuple[int, str, str]:
        """The refusal rules, then a pool number and the binding, written with
        a line in the ticket's history."""
        now = self.clock()
        async with self.sessions() as db:
            used = await db.scalar(
                select(func.count())
                .select_from(CarmoveBinding)
                .where(
                    CarmoveBinding.requester == requester,
                    CarmoveBinding.created_at >= month_start(now, self.tz).astimezone(dt.timezone.utc),
                )
            )
            asked = Asked(
                requester,
                plate,
                await db.get(CarmoveBlacklist, requester) is not None,
                used or 0,
                self.cfg.monthly_limit,
                await db.scalar(select(Vehicle.owner_phone).where(Vehicle.plate == plate)),
            )
            active = [
                Active(b.x, b.requester, b.owner)
                for b in (await db.scalars(select(CarmoveBinding).where(CarmoveBinding.expires_at > now))).all()
            ]
        refused = refusal(asked)
        if refused is not None:
            if refused.log:
                await self._log(None, "refused", refused.log)
            raise refused.error
        owner = asked.owner or ""
        x = choose(self.cfg.pool, active, requester, owner)
        if x is None:
            raise CarmoveRefused("中间号已用完，请稍后再试")
        async with self.sessions() as db, db.begin():
            b = CarmoveBinding(
                x=x,
                requester=requester,
                owner=owner,
                plate=plate,
                location=location,
                agent=who.username,
                ticket_number=call.ticket,
                state="calling",
                created_at=now,
                expires_at=now + dt.timedelta(minutes=self.cfg.ttl_minutes),
            )
            db.add(b)
            await db.flush()
            note = f"{plate} {location}，中间号 {x}，坐席 {who.username}"
            db.add(CarmoveEvent(binding_id=b.id, at=now, kind="created", note=note))
            await self._note_ticket(
                db, call.ticket, who.username, f"挪车：车牌 {plate}，位置 {location}，经中间号 {x} 呼叫车主"
            )
            return b.id, x, owner

    async def _call_owner(self, binding: int, channel: str, x: str, owner: str, message: str) -> None:
        """The requester to hold music showing X, then the owner called from X.
        The owner's call is watched until it starts (OriginateResponse): one
        Asterisk refuses leaves the requester to be told and released."""
        self._waiting[binding] = channel
        await self.client.action("Setvar", Channel=channel, Variable="HOTLINE_CM_X", Value=x)
        await self.client.action("Setvar", Channel=channel, Variable="HOTLINE_CM", Value=str(binding))
        await self.client.action("Redirect", Channel=channel, Context="hotline-carmove-wait", Exten="s", Priority="1")
        self._dialling[(owner, x)] = binding
        try:
            await self.client.action(
                "Originate",
                Channel=f"Local/{owner}@hotline-carmove-dial",
                Context="hotline-carmove-owner",
                Exten="s",
                Priority="1",
                CallerID=f'"12345" <{x}>',
                Async="true",
                Timeout=str((self.cfg.ring_seconds + 10) * 1000),
                Variable=[
                    f"__HOTLINE_CM={binding}",
                    f"__HOTLINE_CM_X={x}",
                    f"HOTLINE_CM_PROMPT={message}",
                    f"HOTLINE_CM_PEER={channel}",
                ],
            )
        except HotlineError:
            self._dialling.pop((owner, x), None)
            raise

    def _on_originate(self, e: ev.OriginateResponse) -> None:
        """A failed start of the owner's call that no dialplan step explains
        (the dial context reports every owner it rang): Asterisk refused it."""
        head, _, context = e.channel.partition("@")
        if context != "hotline-carmove-dial" or not head.startswith("Local/"):
            return
        binding = self._dialling.pop((head.removeprefix("Local/"), e.caller_id_num), None)
        if binding is None or e.response == "Success":
            return
        channel = self._waiting.get(binding, "")
        self._tasks.spawn(
            self._undo(binding, channel, f"电话系统未能呼叫车主（原因 {e.reason}）"), f"carmove-{binding}-undo"
        )

    async def _undo(self, binding: int, channel: str, why: str) -> None:
        """Compensate a request that cannot reach the owner: the binding ends
        now (X reaches no one), the ticket says so, and the requester, if
        already on hold, hears that the owner could not be called and is released."""
        self._waiting.pop(binding, None)
        now = self.clock()
        async with self.sessions() as db, db.begin():
            b = await db.get(CarmoveBinding, binding)
            if b is None:
                return
            b.state, b.expires_at = "failed", now
            db.add(CarmoveEvent(binding_id=binding, at=now, kind="failed", note=why[:200]))
            await self._note_ticket(db, b.ticket_number, ACTOR, f"挪车未能呼叫车主（车牌 {b.plate}），已告知求助人")
        if not channel:
            return
        try:
            await self.client.action(
                "Redirect", Channel=channel, Context="hotline-carmove-wait", Exten="failed", Priority="1"
            )
        except HotlineError as exc:
            log.info("car moving %s: requester already gone (%s)", binding, exc)

    async def _note_ticket(self, db: AsyncSession, number: str, actor: str, note: str) -> None:
        if number:
            t = await db.scalar(select(Ticket).where(Ticket.number == number))
            if t is not None:
                history.record(db, t, actor=actor, action="carmove", at=self.clock(), note=note)

    # -- what the dialplan reports -----------------------------------------------------------
    def _on_step(self, e: ev.HotlineCarmove) -> None:
        if not ascii_digits(e.binding) or len(e.binding) > 12:
            return
        binding, step = int(e.binding), e.step
        if step not in ("answered", "key1", "nokey", "unreached", "ended", "bridge-failed"):
            return
        # The dial context reported on the owner's call: its end is explained.
        for key in [k for k, v in self._dialling.items() if v == binding]:
            del self._dialling[key]
        self._tasks.spawn(self._step(binding, step), f"carmove-{binding}-{step}")

    async def _step(self, binding: int, step: str) -> None:
        text = {
            "answered": "车主已接听",
            "key1": "车主按 1，双方通话",
            "nokey": "车主未按键",
            "unreached": "车主未接通",
            "ended": "通话结束",
            "bridge-failed": "等候人已挂机",
        }[step]
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
                await self.client.action(
                    "Redirect", Channel=channel, Context="hotline-carmove-wait", Exten="unreached", Priority="1"
                )
            except HotlineError as exc:
                log.info("car moving %s: requester already gone (%s)", binding, exc)

    # -- a call to X -------------------------------------------------------------------------
    async def route(self, session: AGISession) -> None:
        """FastAGI `carmove`: who a caller to X reaches, if anyone."""
        x = session.arg(1)
        caller = session.env.get("agi_callerid", "")
        now = self.clock()
        async with self.sessions() as db:
            rows = (
                await db.scalars(select(CarmoveBinding).where(CarmoveBinding.x == x, CarmoveBinding.expires_at > now))
            ).all()
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
