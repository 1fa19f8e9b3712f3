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


PLAY_KEYS = frozenset("0123456789*#")


def _key(result: str) -> str:
    """AGI reports a key as its ASCII code; 0 means none."""
    try:
        code = int(result)
    except ValueError:
        return ""
    return chr(code) if code > 0 else ""


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

    def _send(self, commands: list[str]) -> None:
        for command in commands:
            if "\n" in command or "\r" in command:
                raise AGIError(f"AGI command holds a line break: {command!r}")
        if self.hung_up:
            raise AGIHangup(f"{commands[0]}: caller has hung up")
        self.writer.write(b"".join(c.encode("utf-8") + b"\n" for c in commands))
        if self._reply_at is not None and self.turnarounds is not None:
            delta = time.perf_counter() - self._reply_at
            self.turnarounds.append(delta)
            if self.keyed and self.key_turnarounds is not None:
                self.key_turnarounds.append(delta)
        self.keyed = False
        self.commands += len(commands)

    def send_last(self, commands: list[str]) -> None:
        """Send the session's last commands, in one write, without waiting
        for their replies; the route returns soon after and the server
        closes the connection.

        Asterisk reads commands through a stdio buffer and waits on the
        socket between them: of two commands in one write it runs the first
        and then waits for more bytes, which never come. Once the connection
        is closed the socket stays readable, so it runs the rest and then
        ends the AGI: every command here takes effect before the dialplan
        goes on. Only for commands that cannot fail on a live channel
        (setting variables): waiting for a reply cost the controller a
        wake-up on every call (bench/native_twin.py).
        """
        self._send(commands)

    async def command(self, command: str, *, timeout: float | None = None) -> AGIResult:
        """Send one AGI command and return its reply (code 200), else raise."""
        self._send([command])
        await self.writer.drain()
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
    async def play(self, file: str, digits: str = "") -> str:
        """Play `file`; a key in `digits` stops it. Returns that key, or ''.

        CONTROL STREAM FILE, not STREAM FILE: Asterisk then plays without
        polling this connection on every frame (perf on Asterisk put that
        poll at about 2 % of its CPU in the IVR, bench/native_twin.py). Its
        fast-forward and rewind keys are set to '-', which no phone sends, so
        every key in `digits` stops the prompt as STREAM FILE's escape digits
        do. A prompt under way plays on if the controller goes away; the
        caller falls through to a seat once it ends or a key stops it.
        """
        if not all(c in PLAY_KEYS for c in digits):
            raise AGIError(f"not keys a caller can press: {digits!r}")
        return _key((await self.command(f'CONTROL STREAM FILE {file} "{digits}" 0 - -')).result)

    async def wait_digit(self, timeout_ms: int) -> str:
        """The key the caller presses within timeout_ms, or ''."""
        return _key((await self.command(f"WAIT FOR DIGIT {timeout_ms}")).result)

    async def get_variable(self, name: str) -> str:
        reply = await self.command(f"GET VARIABLE {name}")
        return reply.data if reply.result == "1" else ""

    async def set_variable(self, name: str, value: str) -> None:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        await self.command(f'SET VARIABLE {name} "{escaped}"')
