"""One FastAGI connection: the commands of one call's AGI session and their replies.

Replies are read line by line; a HANGUP line may come before the reply to
the command in flight, and Asterisk's multi-line usage text (520-) is read
whole into a typed error.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from hotline.ami.replies import AGIResult, parse_agi_reply
from hotline.errors import HotlineError


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
