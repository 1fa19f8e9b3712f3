"""Simulated callers in the IVR and an API client with a logged-in user."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from hotline import accounts
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.db.models import Call
from hotline.ivr.api import FLOWS
from hotline.ivr.app import DIALPLAN
from hotline.roles import Role
from hotline.sim import call_in
from hotline.web.keys import SESSIONS
from tests.integration.helpers import Recorder, eventually

_numbers = itertools.count(13500000000)


class IvrCaller:
    """One caller: dials in, waits for prompts, presses keys over DTMF."""

    def __init__(
        self, ami: AMIClient, recorder: Recorder, number: str = "12345", speak: bool = False, listen: str = ""
    ):
        self.speak = speak
        self.listen = listen  # keep what the caller hears (sim-heard-<listen>.wav)
        self.ami = ami
        self.rec = recorder
        self.number = number
        self.caller = str(next(_numbers))
        self.outer = ""  # the ;1 half: the caller's phone
        self.inner = ""  # the ;2 half: the call in the IVR

    async def dial(self) -> IvrCaller:
        await call_in(self.ami, self.caller, number=self.number, speak=self.speak, listen=self.listen)
        outer = await self.rec.wait_for(
            ev.NewCallerid, lambda e: e.caller_id_num == self.caller and e.channel.endswith(";1")
        )
        inner = await self.rec.wait_for(
            ev.NewCallerid, lambda e: e.caller_id_num == self.caller and e.channel.endswith(";2")
        )
        self.outer, self.inner = outer.channel, inner.channel
        return self

    def heard(self, file: str) -> bool:
        """The IVR played `file` over FastAGI, or the dialplan did (a flow
        compiled to dialplan, or the route's prompt once the IVR has ended).
        Naming it is not playing it: the hand-off's MSet names the route's
        prompt too."""
        return bool(
            self.rec.of(ev.AGIExecStart, lambda e: e.channel == self.inner and plays(e.command, file))
            or self.rec.of(ev.Newexten, lambda e: e.channel == self.inner and dialplan_plays(e, file))
        )

    def times_heard(self, file: str) -> int:
        """How many times `file` began to play to this caller, by either engine."""
        return len(self.rec.of(ev.AGIExecStart, lambda e: e.channel == self.inner and plays(e.command, file))) + len(
            self.rec.of(ev.Newexten, lambda e: e.channel == self.inner and dialplan_plays(e, file))
        )

    def agi_commands(self) -> list[str]:
        return [e.command for e in self.rec.of(ev.AGIExecStart, lambda e: e.channel == self.inner)]

    async def wait_prompt(self, file: str, timeout: float = 30) -> None:
        """The IVR plays `file` over FastAGI (AGIExecStart), or the dialplan
        does once the IVR has ended (the route's prompt: Newexten)."""
        await eventually(lambda: self.heard(file), timeout=timeout)

    async def press(self, keys: str) -> None:
        for key in keys:
            await self.ami.action("PlayDTMF", Channel=self.outer, Digit=key, Duration=120)
            await asyncio.sleep(0.25)

    async def queued(self, timeout: float = 40) -> ev.QueueCallerJoin:
        return await self.rec.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == self.caller, timeout=timeout)

    async def hung_up(self, timeout: float = 40) -> None:
        await self.rec.wait_for(ev.Hangup, lambda e: e.channel == self.inner, timeout=timeout)


def plays(command: str, file: str) -> bool:
    """An AGI command of the IVR's driver (hotline/ivr/agi.py) that plays `file`."""
    if command.startswith("CONTROL STREAM FILE "):
        return command.split(" ", 4)[3] == file
    return command.startswith("GET DATA ") and command.split(" ", 3)[2] == file


async def set_clock(controller: Any, clock: Any, when: Any) -> None:
    """Move the controller's clock, and wait until the PBX's dialplan knows
    which schedule windows are open then (ivr/engine.py)."""
    clock.now = when
    await controller.app[DIALPLAN].sync()


def first_play(rec: Recorder, channel: str, file: str) -> ev.Event | None:
    """The event of `file` first playing on `channel`, by either engine."""
    found = rec.of(ev.AGIExecStart, lambda e: e.channel == channel and plays(e.command, file)) or rec.of(
        ev.Newexten, lambda e: e.channel == channel and dialplan_plays(e, file)
    )
    return found[0] if found else None


def dialplan_plays(e: ev.Newexten, file: str) -> bool:
    """A dialplan step that plays `file`: a compiled flow's Background, or
    the route's prompt (Playback), perhaps inside an ExecIf. A key that stops
    a Background moves the channel to that key's extension at priority 0, and
    Asterisk reports the move with the same application: not a second play."""
    if e.priority == 0:
        return False
    if e.application == "ExecIf":  # played only when its condition held
        return e.app_data.startswith("1?") and e.app_data[2:] in (f"Background({file})", f"Playback({file})")
    return (e.application.lower() == "background" and e.app_data == file) or f"Playback({file})" in e.app_data


def prompt(app: Any, node: str, field: str = "prompt") -> str:
    compiled = app[FLOWS].current()
    return compiled.prompts[(node, field)]


async def call_row(app: Any, caller: str, timeout: float = 10) -> Call:
    async def find() -> Call | None:
        async with app[SESSIONS]() as db:
            row = await db.scalar(select(Call).where(Call.caller == caller))
            return row if row is not None and row.route else None

    return await eventually(find, timeout=timeout)


class Api:
    """An HTTP client logged in as a user of the given role."""

    def __init__(self, server: TestServer):
        self.server = server
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def login_as(self, role: Role, username: str | None = None) -> Api:
        username = username or f"{role.value}-{next(_numbers)}"
        async with self.server.app[SESSIONS]() as db, db.begin():
            _, password = await accounts.create_user(db, username, username, [role])
        self.username, self.password = username, password  # for a browser signing in as the same user
        async with self.http.post(
            self.server.make_url("/api/login"), json={"username": username, "password": password}
        ) as resp:
            assert resp.status == 200, await resp.text()
        return self

    @property
    def origin(self) -> str:
        return str(self.server.make_url("/")).rstrip("/")

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        if method != "GET" and "json" not in kwargs and "data" not in kwargs:
            # As the pages do: every change is declared JSON, body or not.
            kwargs["headers"] = {"Content-Type": "application/json", **kwargs.get("headers", {})}
        async with self.http.request(method, self.server.make_url(path), allow_redirects=False, **kwargs) as resp:
            ctype = resp.headers.get("Content-Type", "")
            body = await resp.json() if "json" in ctype else await resp.text()
            return resp.status, body

    async def close(self) -> None:
        await self.http.close()
