"""FastAGI server: Asterisk connects per call (AGI(agi://host:port/script)).

Routes are looked up by the script path and may be coroutine functions or
plain functions (panoramisk 1.4 crashed on plain ones under Python 3.11). A
connection that closes while its headers are being read ends cleanly instead
of spinning, and cancellation is never swallowed: stopping the server stops
every session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.parse
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from hotline.ami.agi_session import AGICommandError, AGIError, AGIHangup, AGISession, AGITimeout
from hotline.config import AgiSettings

log = logging.getLogger(__name__)

# The session's types are imported from here by the routes.
__all__ = ["AGICommandError", "AGIError", "AGIHangup", "AGISession", "AGITimeout", "FastAGIServer", "Guard", "Route"]


Route = Callable[[AGISession], Awaitable[Any] | Any]


Guard = Callable[[AGISession], Awaitable[str | None]]


class FastAGIServer:
    def __init__(self, settings: AgiSettings, guard: Guard | None = None):
        self.settings = settings
        self.guard = guard
        self.routes: dict[str, Route] = {}
        self._server: asyncio.base_events.Server | None = None
        self._sessions: set[asyncio.Task[Any]] = set()
        self.sessions_started = 0
        self.sessions_failed = 0
        self.sessions_refused = 0
        self.commands_total = 0  # AGI commands of finished sessions (benchmarks read it)
        self.turnarounds: deque[float] = deque(maxlen=100_000)
        self.key_turnarounds: deque[float] = deque(maxlen=100_000)

    def route(self, script: str, handler: Route) -> None:
        self.routes[script.strip("/")] = handler

    @property
    def active_sessions(self) -> int:
        return len(self._sessions)

    async def start(self, port: int | None = None) -> None:
        """Listen on the configured port (or `port`; 0 picks a free one)."""
        self._server = await asyncio.start_server(
            self._accept, self.settings.host, self.settings.port if port is None else port
        )

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = list(self._sessions)
        for task in tasks:
            task.cancel()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=3)
            if stuck:
                log.error("%d AGI sessions did not end on shutdown", len(stuck))
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def __aenter__(self) -> FastAGIServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._sessions) >= self.settings.max_sessions:
            # Past any real load (one session per caller in the IVR): refuse
            # rather than let idle connections pile up.
            log.warning("AGI: %d sessions open; refusing another", len(self._sessions))
            writer.close()
            return
        self._sessions.add(task)
        self.sessions_started += 1
        try:
            await self._serve(reader, writer)
        finally:
            self._sessions.discard(task)
            # Closing is enough: awaiting wait_closed() in a cancelled session
            # was seen to hold up the server's shutdown.
            writer.close()

    async def _read_env(self, reader: asyncio.StreamReader) -> dict[str, str] | None:
        # The block in one read (it ends with an empty line): a readline per
        # header was a fifth of an IVR call's cost in the controller.
        try:
            block = await reader.readuntil(b"\n\n")
        except asyncio.IncompleteReadError:
            return None  # EOF inside the headers: the call is gone.
        except asyncio.LimitOverrunError:
            log.warning("AGI headers exceed the stream's limit; dropping connection")
            return None
        lines = block.decode("utf-8", "replace").split("\n")[:-2]
        if len(lines) > self.settings.max_header_lines:
            log.warning("AGI headers exceed %d lines; dropping connection", self.settings.max_header_lines)
            return None
        env: dict[str, str] = {}
        for text in lines:
            key, sep, value = text.rstrip("\r").partition(":")
            if sep:
                env[key.strip()] = value.strip()
        return env

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            # Asterisk sends its headers at once; a silent peer is not Asterisk.
            async with asyncio.timeout(self.settings.header_timeout):
                env = await self._read_env(reader)
        except (TimeoutError, ConnectionError, ValueError):
            return
        if env is None:
            return
        url = urllib.parse.urlsplit(env.get("agi_request", ""))
        script = (env.get("agi_network_script") or url.path).split("?", 1)[0].strip("/")
        session = AGISession(
            env,
            reader,
            writer,
            self.settings.command_timeout,
            args=urllib.parse.parse_qs(url.query),
            turnarounds=self.turnarounds,
            key_turnarounds=self.key_turnarounds,
        )
        handler = self.routes.get(script)
        if handler is not None and self.guard is not None:
            why = await self.guard(session)
            if why is not None:
                self.sessions_refused += 1
                log.warning("AGI %s refused: %s", script, why)
                return  # no route set: the dialplan's static path serves a real caller
        if handler is None:
            log.warning("AGI request for unknown script %r from %s", script, session.channel)
            with contextlib.suppress(AGIError, ConnectionError):
                await session.command('VERBOSE "hotline: unknown AGI script" 1', timeout=2)
            return
        try:
            result = handler(session)
            if asyncio.iscoroutine(result):
                await result
        except AGIHangup:
            pass
        except (ConnectionError, AGIError) as exc:
            self.sessions_failed += 1
            log.warning("AGI %s on %s ended: %s", script, session.channel, exc)
        except Exception:
            self.sessions_failed += 1
            log.exception("AGI route %s failed on %s", script, session.channel)
        finally:
            self.commands_total += session.commands
