"""Keeps the PBX's copy of the IVR in step with the controller.

With ivr.engine = dialplan, the flows calls may be in are written as
dialplan (hotline/ivr/dialplan.py) into a file the PBX's extensions.conf
includes, and reloaded when a version starts serving; what the dialplan
cannot know (the emergency notice, which schedule windows are open, a
holiday) is kept in global variables, set again after every (re)connect.
A call that leaves the flow in the dialplan reports its path in one
UserEvent, from which its row is written, as the FastAGI driver writes it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
from collections.abc import Callable

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.ami.replies import AMIError, Connected
from hotline.config import Settings
from hotline.db.batch import Row, WriteQueue
from hotline.db.engine import insert_ignore
from hotline.db.models import Call
from hotline.ivr import dialplan, dialplan_text
from hotline.ivr.announcements import AnnouncementService
from hotline.ivr.schedule import Calendar
from hotline.ivr.service import MAIN_FLOW, FlowService
from hotline.ivr.steps import call_row, category_of, ended_row, parse_steps, started_at
from hotline.pbx.paths import Paths
from hotline.tasks import TaskSet

log = logging.getLogger(__name__)

FLOW_FILE = "extensions_hotline_flow.conf"  # extensions.conf: #tryinclude
# How often the open schedule windows are looked at: a day/night switch is
# followed within this long (only a change costs an AMI action).
CALENDAR_TICK = 1.0


class DialplanFlows:
    def __init__(
        self,
        settings: Settings,
        flows: FlowService,
        announcements: AnnouncementService,
        client: AMIClient,
        writes: WriteQueue,
        clock: Callable[[], dt.datetime],
        agi_key: str,
    ):
        self.settings = settings
        self.flows = flows
        self.announcements = announcements
        self.client = client
        self.writes = writes
        self.clock = clock
        self.agi_key = agi_key
        self.enabled = settings.ivr.engine == "dialplan"
        self.writable = True
        self.calendar = Calendar.from_settings(settings.ivr)
        self.path = Paths(settings.pbx.instance_dir).etc / FLOW_FILE
        self._written: str | None = None  # the document the PBX has loaded
        self._stale = True  # the flows changed since it was written
        self._globals: dict[str, str] = {}  # as last set on the PBX
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._tasks = TaskSet("ivr-dialplan")
        self.rows = 0
        self.reloads = 0
        client.on(Connected, self._on_connected)
        client.on(ev.HotlineIvr, self._on_ivr)
        flows.serving.on_change(lambda _name: self._flows_changed())
        announcements.on_change(self._wake.set)

    async def start(self) -> None:
        if not self.path.parent.is_dir():
            # An operator's own Asterisk: its dialplan is not ours to write.
            log.warning("IVR: no bundled PBX configuration at %s: every IVR step over FastAGI", self.path.parent)
            self.enabled = self.writable = False
        await self.sync()
        self._tasks.spawn(self._run(), "ivr-dialplan")

    async def close(self) -> None:
        await self._tasks.close()

    def _flows_changed(self) -> None:
        self._stale = True
        self._wake.set()

    def _on_connected(self, _e: Connected) -> None:
        # A restarted PBX lost the globals (and may have missed a publish).
        self._written = None
        self._stale = True
        self._globals.clear()
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), CALENDAR_TICK)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.sync()
            except (AMIError, OSError) as exc:
                log.error("IVR: could not bring the PBX's flow up to date (tried again): %s", exc)
                await asyncio.sleep(CALENDAR_TICK)
                self._wake.set()

    async def sync(self) -> None:
        """The PBX's dialplan and globals as the controller holds them now
        (also what a test awaits after moving the clock)."""
        async with self._lock:
            if not self.client.connected:
                return
            if self.writable:
                await self._write_dialplan()
            if self.enabled:
                await self._set_globals(self._wanted_globals())

    def document(self) -> str:
        serving = self.flows.current() if self.enabled else None
        versions = self.flows.serving.recent(MAIN_FLOW) if self.enabled else []
        return dialplan.document(serving, versions, self.agi_key, self.settings.ivr.schedules)

    async def _write_dialplan(self) -> None:
        # Built only after a change: the calendar's tick sets globals alone.
        if not self._stale:
            return
        self._stale = False
        text = self.document()
        if text == self._written:
            return
        try:
            await self._load(text)
        except BaseException:
            self._stale = True
            raise

    async def _load(self, text: str) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the AGI key
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, self.path)
        await self.client.command("dialplan reload")
        self._written = text
        self.reloads += 1
        serving = self.flows.current()
        log.info("IVR: flow v%s in the PBX's dialplan", serving.version if serving and self.enabled else "-")

    def _wanted_globals(self) -> dict[str, str]:
        now = self.clock()
        wanted = {dialplan_text.NOTICE_VAR: self.announcements.current_file() or ""}
        for name in self.settings.ivr.schedules:
            if dialplan_text.SCHEDULE_NAME.fullmatch(name):
                wanted[dialplan_text.schedule_var(name)] = "1" if self.calendar.within(name, now) else "0"
        wanted[dialplan_text.HOLIDAY_VAR] = "1" if self.calendar.is_holiday(now) else "0"
        # Last: until when a time switch may trust them, on the PBX's clock.
        # Past it (a controller that stopped), the switch asks over FastAGI,
        # and with nobody there the static route takes the call: never a
        # day menu at night.
        valid = (self.calendar.next_change(now) - now).total_seconds()
        wanted[dialplan_text.CALENDAR_VAR] = str(int(time.time() + valid))
        return wanted

    async def _set_globals(self, wanted: dict[str, str]) -> None:
        for name, value in wanted.items():
            if self._globals.get(name) == value:
                continue
            if not dialplan_text.SAFE.fullmatch(value):
                log.error("IVR: %s not set on the PBX: %r is not a plain value", name, value)
                continue
            await self.client.action("Setvar", Variable=name, Value=value)
            self._globals[name] = value

    def _on_ivr(self, e: ev.HotlineIvr) -> None:
        version = int(e.flow) if e.flow.isdigit() else -1
        compiled = self.flows.serving.version(MAIN_FLOW, version)
        if compiled is None or not e.call_id:
            log.warning("IVR: the path of call %s (flow v%s) is not one this controller serves", e.call_id, e.flow)
            return
        steps = parse_steps(compiled, e.path, e.at)
        row = call_row(
            compiled,
            call_id=e.call_id,
            caller=e.caller_id_num,
            caller_name=e.caller_id_name,
            dialed=e.dialed,
            tag=e.tag,
            started=started_at(steps) or self.clock(),
        )
        row = ended_row(row, steps, category=category_of(compiled, steps), survey=None, route=e.route)
        self.writes.put(Row(insert_ignore(self.writes.engine, Call, "call_id"), row, first=True), key=e.call_id)
        self.rows += 1
