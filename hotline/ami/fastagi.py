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
import time
import urllib.parse
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from hotline.ami.replies import AGIResult, parse_agi_reply
from hotline.config import AgiSettings
from hotline.errors import HotlineError

log = logging.getLogger(__name__)


class AGIError(HotlineError):
    error_id = "agi-error"


class AGIHangup(AGIError):
    """The caller hung up (Asterisk sent HANGUP or closed the socket)."""

    error_id = "agi-hangup"


class AGICommandError(AGIError):
    error_id = "agi-command-failed"

    def __init__(self, command: str, reply: AGIResult):
        super().__init__(f"{command}: {reply.raw}", code=reply.code)
        self.reply = reply


class AGITimeout(AGIError):
    error_id = "agi-timeout"


@dataclass(slots=True)
class AGISession:
    env: dict[str, str]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    command_timeout: float
    hung_up: bool = False
    commands: int = 0
    args: dict[str, list[str]] = field(default_factory=dict)
    # Seconds from each reply read to the next command sent: the controller's
    # own share of an IVR step (bench/ivr_latency.py reads it).
    turnarounds: deque[float] | None = None
    # Set by the caller of command() when the last reply carried a DTMF key:
    # the next turnaround is then a "key in -> next command out" figure.
    keyed: bool = False
    key_turnarounds: deque[float] | None = None
    # The channel as the PBX mirror knows it, set by the guard (agi_guard.py):
    # routes trust it over what the session's headers claim.
    live: Any = None
    _reply_at: float | None = None

    @property
    def channel(self) -> str:
        return self.env.get("agi_channel", "")

    @property
    def uniqueid(self) -> str:
        return self.env.get("agi_uniqueid", "")

    @property
    def script(self) -> str:
        return self.env.get("agi_network_script", "").split("?", 1)[0].strip("/")

    def arg(self, n: int) -> str:
        """The n-th argument of AGI(url,arg1,arg2,...), 1-based."""
        return self.env.get(f"agi_arg_{n}", "")

    async def command(self, command: str, *, timeout: float | None = None) -> AGIResult:
        """Send one AGI command and return its reply (code 200), else raise."""
        if "\n" in command or "\r" in command:
            raise AGIError(f"AGI command holds a line break: {command!r}")
        if self.hung_up:
            raise AGIHangup(f"{command}: caller has hung up")
        self.writer.write(command.encode("utf-8") + b"\n")
        if self._reply_at is not None and self.turnarounds is not None:
            delta = time.perf_counter() - self._reply_at
            self.turnarounds.append(delta)
            if self.keyed and self.key_turnarounds is not None:
                self.key_turnarounds.append(delta)
        self.keyed = False
        await self.writer.drain()
        self.commands += 1
        limit = timeout if timeout is not None else self.command_timeout
        try:
            # asyncio.timeout, not wait_for: no task per command (a tenth of
            # an IVR step's CPU), and a cancel is never swallowed.
            async with asyncio.timeout(limit):
                reply = await self._read_reply()
        except TimeoutError:
            raise AGITimeout(f"{command}: no reply within {limit:g} s") from None
        self._reply_at = time.perf_counter()
        if reply.code == 200:
            # -1 is "channel failure or hangup"; the HANGUP line may not have
            # arrived yet (seen: WAIT FOR DIGIT answers -1 first). Either way
            # the call can go no further here.
            if reply.result == "-1":
                self.hung_up = True
                raise AGIHangup(f"{command}: caller hung up")
            return reply
        if reply.code == 511:
            self.hung_up = True
            raise AGIHangup(f"{command}: {reply.raw}")
        raise AGICommandError(command, reply)

    async def _read_reply(self) -> AGIResult:
        while True:
            line = await self.reader.readline()
            if not line:
                self.hung_up = True
                raise AGIHangup("Asterisk closed the AGI connection")
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if text == "HANGUP":
                # Sent asynchronously when the channel hangs up (AGISIGHUP);
                # the reply to our command still follows.
                self.hung_up = True
                continue
            if text.startswith("520-"):
                # Multi-line usage text ends with '520 End of proper usage.'
                lines = [text]
                while True:
                    more = await self.reader.readline()
                    if not more:
                        break
                    lines.append(more.decode("utf-8", "replace").rstrip("\r\n"))
                    if lines[-1].startswith("520 "):
                        break
                return AGIResult(520, "", "\n".join(lines[1:-1]), "\n".join(lines))
            if not text.strip():
                continue
            return parse_agi_reply(text)

    # -- small helpers used by flows --------------------------------------
    async def get_variable(self, name: str) -> str:
        reply = await self.command(f"GET VARIABLE {name}")
        return reply.data if reply.result == "1" else ""

    async def set_variable(self, name: str, value: str) -> None:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        await self.command(f'SET VARIABLE {name} "{escaped}"')


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
