"""Runs a call through its flow over FastAGI: instructions become AGI commands.

The dialplan passes the call id, the legacy-number tag and the dialled number
as AGI arguments, so a call costs no round trips before its first prompt.
When the interpreter is done it sets HOTLINE_ROUTE (and the queue, priority,
skill or transfer target, and the route's prompt) and ends the AGI; the
dialplan plays the prompt and takes it from there.
Any failure ends the AGI without a route, and the static route queues the
caller for a seat.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.ami.fastagi import AGIHangup, AGISession
from hotline.config import Settings
from hotline.db.batch import Row, WriteQueue
from hotline.db.engine import insert_ignore
from hotline.db.models import Call, Ticket, VoiceMessage, utcnow
from hotline.ivr.announcements import AnnouncementService
from hotline.ivr.runner import (
    ALL_KEYS,
    CallContext,
    CurrentAnnouncement,
    LookupTicket,
    Play,
    QueueStaffed,
    ReadDigits,
    Record,
    Route,
    WaitDigit,
    run,
)
from hotline.ivr.schedule import Calendar
from hotline.ivr.service import FlowService
from hotline.ivr.steps import call_row, category_of, ended_row, parse_steps, started_at
from hotline.numbers import ascii_digits

log = logging.getLogger(__name__)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Values MSet passes through unchanged (it splits on commas, strips quotes,
# nests brackets, and EXEC substitutes ${...}): node ids, keys, codes, digits,
# words in any script (a category: 咨询投诉求助), a prompt's path. Anything
# else is set one by one with SET VARIABLE, quoted.
_PLAIN = re.compile(r"[\w:>./+-]*")


def path_summary(path: list[dict[str, str]]) -> str:
    """Compact form for the channel variable: 'day_menu:1>consult>to_seat'."""
    return ">".join(f"{s['node']}:{s['key']}" if s["key"] else s["node"] for s in path)[:250]


@dataclass(frozen=True, slots=True)
class MessageRecorded:
    """A caller left a voice message; hooks run in the transaction storing it."""

    db: AsyncSession
    message: VoiceMessage
    for_lawyers: bool
    window: tuple[float, float] | None  # the lawyers' next rota day (epoch s), for legal messages
    at: dt.datetime


class IvrDriver:
    def __init__(
        self,
        settings: Settings,
        flows: FlowService,
        announcements: AnnouncementService,
        sessions: async_sessionmaker,
        writes: WriteQueue,
        clock: Callable[[], dt.datetime] | None = None,
    ):
        self.settings = settings
        self.writes = writes
        self.flows = flows
        self.announcements = announcements
        self.sessions = sessions
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.calendar = Calendar.from_settings(settings.ivr)
        # Features that act on a recorded message (the work queue makes it an
        # item), run inside the transaction that stores it: no message
        # without its item, no item without its message.
        self._on_message: list[Callable[[MessageRecorded], Awaitable[None]]] = []
        self.calls_started = 0
        self.store_failures = 0
        self.calls_routed = 0
        # queue -> anyone logged in to take its calls (set by the ACD once it
        # runs; until then every queue counts as staffed, as the dialplan's
        # fallback would queue the caller anyway).
        self.staffed: Callable[[str], bool] = lambda queue: True

    async def handle(self, session: AGISession) -> None:
        compiled = self.flows.current()
        if compiled is None:
            return  # no flow: the static route queues the caller
        call_id = session.arg(1) or session.uniqueid
        ctx = CallContext(now=self.clock, calendar=self.calendar)
        start = ""
        if session.arg(5):
            # The dialplan ran the flow up to a node it hands over (ivr/dialplan.py).
            version = session.arg(4)
            compiled = self.flows.serving.version(compiled.flow.name, int(version)) if version.isdigit() else None
            start = session.arg(5)
            if compiled is None or start not in compiled.flow.nodes:
                log.warning("call %s resumed at %s of flow v%s, which is not served here", call_id, start, version)
                return  # the static route queues the caller
            ctx.path = parse_steps(compiled, session.arg(6), session.arg(7))
            ctx.category = category_of(compiled, ctx.path)
            typed = session.arg(8)
            ctx.typed_ahead = typed if len(typed) == 1 and typed in ALL_KEYS else ""
        # One row per call, queued once when the caller leaves the IVR; it
        # shares a transaction with the ACD's row of the caller joining the
        # queue (a transaction of its own cost the controller 2 ms of CPU per
        # call, bench/native_twin.py). The screen pop waits for it by call id.
        row = call_row(
            compiled,
            call_id=call_id,
            caller=session.env.get("agi_callerid", ""),
            caller_name=session.env.get("agi_calleridname", ""),
            dialed=session.arg(3),
            tag=session.arg(2),
            started=started_at(ctx.path) or utcnow(),
        )
        self.calls_started += 1
        route: Route | None = None
        recorded: list[str] = []
        try:
            gen = run(compiled, ctx, start)
            instruction = next(gen)
            while True:
                result = await self._execute(session, instruction, call_id, recorded)
                session.keyed = isinstance(instruction, (Play, WaitDigit)) and bool(result)
                instruction = gen.send(result)
        except StopIteration as stop:
            route = stop.value
        except AGIHangup:
            pass
        try:
            if route is not None:
                self._hand_off(session, ctx, route)
                self.calls_routed += 1
        finally:
            # Queued before the AGI ends: a seat's screen pop for this call waits for it.
            await self._finish(row, ctx, route, recorded)

    async def _execute(self, session: AGISession, ins: Any, call_id: str, recorded: list[str]) -> Any:
        if isinstance(ins, Play):
            for f in ins.files:
                key = await session.play(f, ins.digits)
                if key:
                    return key
            return ""
        if isinstance(ins, WaitDigit):
            return await session.wait_digit(ins.timeout_ms)
        if isinstance(ins, ReadDigits):
            *lead, last = ins.files or ("silence/1",)
            for f in lead:
                await session.play(f)
            reply = await session.command(f"GET DATA {last} {ins.timeout_ms} {ins.max_digits}")
            return reply.result if ascii_digits(reply.result.lstrip("-")) or reply.result == "" else ""
        if isinstance(ins, Record):
            name = f"{call_id}-{len(recorded) + 1}"
            path = f"{self.settings.ivr.pbx_messages_dir.rstrip('/')}/{name}"
            try:
                await session.command(
                    f'RECORD FILE {path} wav "#" {ins.max_seconds * 1000} 0 BEEP s=5', timeout=ins.max_seconds + 30
                )
            except AGIHangup:
                # Hanging up is how many callers end a message; keep it.
                if self._has_audio(name):
                    recorded.append(name)
                raise
            if self._has_audio(name):
                recorded.append(name)
                return name
            return ""
        if isinstance(ins, LookupTicket):
            async with self.sessions() as db:
                return await db.scalar(select(Ticket.status).where(Ticket.number == ins.number))
        if isinstance(ins, CurrentAnnouncement):
            return self.announcements.current_file()
        if isinstance(ins, QueueStaffed):
            return self.staffed(ins.queue)
        raise TypeError(f"unknown instruction {ins!r}")

    def on_message(self, hook: Callable[[MessageRecorded], Awaitable[None]]) -> None:
        self._on_message.append(hook)

    def _has_audio(self, name: str) -> bool:
        f = self.settings.messages_dir / f"{name}.wav"
        return f.is_file() and f.stat().st_size > 44 + 1600  # header + 0.1 s

    async def _finish(self, row: dict[str, Any], ctx: CallContext, route: Route | None, recorded: list[str]) -> None:
        kind = route.kind if route is not None else "hangup-in-ivr"
        row = ended_row(row, ctx.path, category=ctx.category, survey=ctx.survey, route=kind)
        if not recorded:
            # Most calls. A call id seen before (an IVR run again on the same
            # call) keeps its first row.
            self.writes.put(
                Row(insert_ignore(self.writes.engine, Call, "call_id"), row, first=True), key=row["call_id"]
            )
            return
        try:
            async with self.sessions() as db, db.begin():
                await db.execute(insert_ignore(db, Call, "call_id"), [row])
                for name in recorded:
                    msg = VoiceMessage(
                        call_id=row["call_id"],
                        caller=row["caller"],
                        category=ctx.category,
                        file=f"{name}.wav",
                        created_at=utcnow(),
                    )
                    db.add(msg)
                    await db.flush()
                    window = None
                    if ctx.message_for_lawyers:
                        # Called back by a lawyer on the next rota day, from its start.
                        found = self.calendar.next_window("lawyer", self.clock())
                        window = (found[0].timestamp(), found[1].timestamp()) if found is not None else None
                    event = MessageRecorded(db, msg, ctx.message_for_lawyers, window, self.clock())
                    for hook in self._on_message:
                        await hook(event)
        except Exception:
            # The call's row and its messages are lost together (their files
            # stay in the messages folder): said loudly, with the files named.
            log.exception(
                "could not store the IVR path of call %s (messages kept on disk: %s)",
                row["call_id"],
                ", ".join(recorded) or "none",
            )
            self.store_failures += 1

    def _hand_off(self, session: AGISession, ctx: CallContext, route: Route) -> None:
        values = {
            "HOTLINE_CATEGORY": ctx.category,
            "HOTLINE_IVR": path_summary([s.as_dict() for s in ctx.path]),
            "HOTLINE_PROMPT": route.prompt,  # the dialplan plays it on the way
        }
        if route.kind == "queue":
            values |= {
                "HOTLINE_QUEUE": route.queue,
                "HOTLINE_SKILL": route.skill,
                "HOTLINE_PRIORITY": str(route.priority),
            }
        elif route.kind == "transfer":
            values["HOTLINE_TRANSFER_NUMBER"] = route.number
        # The dialplan reads an unset variable as its default (queue hotline,
        # priority 0, no category): each command saved is a round trip and
        # Asterisk's work on every call (bench/native_twin.py).
        defaults = {"HOTLINE_QUEUE": "hotline", "HOTLINE_PRIORITY": "0"}
        sets = [(n, v) for n, v in values.items() if v and v != defaults.get(n)]
        # The route goes last: a call that hangs up halfway has no half-set route.
        sets.append(("HOTLINE_ROUTE", route.kind))
        if len(sets) > 1 and all(_PLAIN.fullmatch(v) for _, v in sets):
            # One command for all (MSet sets them in order): each command
            # saved is Asterisk's work on every call.
            commands = ['EXEC MSet "' + ",".join(f"{n}={v}" for n, v in sets) + '"']
        else:
            commands = [f"SET VARIABLE {n} {_quote(v)}" for n, v in sets]
        # Not waited for: these cannot fail on a live channel, and the session
        # ends now; Asterisk runs them before it sees the connection close.
        session.send_last(commands)
