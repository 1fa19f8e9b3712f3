"""Asterisk Manager Interface client on asyncio streams.

What it guarantees, each against a defect measured in panoramisk 1.4
(DESIGN.md):

* an action's reply is matched by ActionID alone; whether it is a list is
  said by the caller (``list_action``), never guessed from the reply text;
* every action has a timeout and fails with a typed error; on disconnect
  every pending action fails with AMIDisconnected;
* nothing a handler does, and nothing the server sends, drops the connection:
  events are parsed into typed dataclasses and routed through a table by one
  dispatcher task, with each handler's failure logged;
* whole messages are decoded, never single reads;
* login, a checked keep-alive (Ping), reconnect with capped exponential
  backoff and jitter.

Events are delivered in order. A ``Connected`` marker enters the same queue
after each login, so handlers see the connection come up in sequence with the
events around it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from hotline.ami.dispatch import Dispatcher, E, Handler
from hotline.ami.pending import PendingReplies
from hotline.ami.protocol import FrameBuffer, FrameError, Message, encode
from hotline.ami.replies import (
    AGIResult,
    AMIActionError,
    AMIAuthError,
    AMIDisconnected,
    AMIError,
    AMINotConnected,
    AMITimeout,
    Connected,
    Disconnected,
    ListResult,
)
from hotline.ami.used import event_classes, filters
from hotline.config import AmiSettings
from hotline.tasks import TaskSet

log = logging.getLogger(__name__)


def backoff(initial: float, cap: float) -> Iterator[float]:
    """Reconnect delay ceilings: doubling from initial, never above cap."""
    delay = initial
    while True:
        yield delay
        delay = min(delay * 2, cap)


class AMIClient:
    def __init__(
        self,
        settings: AmiSettings,
        *,
        read_size: int = 65536,
        name: str = "hotline",
        quiet: bool = False,
        event_filters: list[str] | None = None,
    ):
        self.settings = settings
        self.event_filters = settings.event_filters if event_filters is None else event_filters
        self.filters_refused: list[str] = []  # MatchCriteria the PBX did not accept
        # Waiting for a booting Asterisk expects refused connects; keep them out of the log.
        self._conn_log_level = logging.DEBUG if quiet else logging.WARNING
        self.read_size = read_size
        self._ids = itertools.count(1)
        self.action_prefix = f"{name}-{uuid.uuid4().hex[:8]}"
        self.dispatcher = Dispatcher()
        self.pending = PendingReplies()
        self._writer: asyncio.StreamWriter | None = None
        self._connected = asyncio.Event()
        self._closing = False
        self._tasks = TaskSet("AMI")
        self.connections = 0
        self.attempts = 0
        self.banner = ""
        self.last_error = ""
        self.frame_errors = 0
        self.connected_since: float | None = None

    # -- wiring ------------------------------------------------------------
    def on(self, event_type: type[E], handler: Callable[[E], Awaitable[None] | None]) -> None:
        """Route events of this type (and subclasses' exact names) to handler."""
        self.dispatcher.on(event_type, handler)

    def on_any(self, handler: Handler) -> None:
        self.dispatcher.on_any(handler)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    # -- lifecycle ---------------------------------------------------------
    async def start(self) -> None:
        self._closing = False
        self._tasks.spawn(self._run(), name="ami-connection")
        self._tasks.spawn(self.dispatcher.run(), name="ami-dispatch")

    async def close(self) -> None:
        self._closing = True
        if self._writer is not None:
            self._writer.close()
        await self._tasks.close()
        self.pending.fail_all(AMIDisconnected("client closed"))

    async def __aenter__(self) -> AMIClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def drop_connection(self) -> None:
        """Abort the TCP connection as a network failure would (reconnect follows)."""
        if self._writer is not None:
            self._writer.transport.abort()

    # -- connection loop ---------------------------------------------------
    async def _run(self) -> None:
        delays = backoff(self.settings.backoff_initial, self.settings.backoff_max)
        while not self._closing:
            self.attempts += 1
            try:
                await self._connect_once()
                delays = backoff(self.settings.backoff_initial, self.settings.backoff_max)
            except asyncio.CancelledError:
                raise
            except (TimeoutError, OSError, AMIError, asyncio.IncompleteReadError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.log(self._conn_log_level, "AMI %s:%s: %s", self.settings.host, self.settings.port, self.last_error)
            if self._closing:
                return
            # Jitter keeps a fleet of controllers from reconnecting in step.
            ceiling = next(delays)
            await asyncio.sleep(random.uniform(ceiling / 2, ceiling))

    async def _connect_once(self) -> None:
        s = self.settings
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(s.host, s.port, limit=s.max_message_bytes), s.connect_timeout
        )
        self._writer = writer
        reader_task: asyncio.Task[None] | None = None
        try:
            banner = await asyncio.wait_for(reader.readline(), s.connect_timeout)
            self.banner = banner.decode("utf-8", "replace").strip()
            if not self.banner.startswith("Asterisk Call Manager"):
                raise AMIError(f"not an AMI server: {self.banner[:80]!r}")
            reader_task = self._tasks.spawn(self._read_loop(reader), name="ami-reader")
            try:
                # Never "Events: on": Asterisk reads "on" as a fixed list of
                # classes that leaves out 'security' (failed SIP logins).
                # The classes of the events wanted, or (no header) every
                # class manager.conf read= allows.
                login = {"Username": s.username, "Secret": s.secret}
                if classes := event_classes(self.event_filters):
                    login["Events"] = classes
                await self._send("Login", login, timeout=s.connect_timeout)
            except AMIActionError as exc:
                raise AMIAuthError(f"login as {s.username!r} refused: {exc.reason}") from None
            for wanted in filters(self.event_filters, self.action_prefix):
                try:
                    await self._send("Filter", wanted.fields(), timeout=s.connect_timeout)
                except AMIActionError as exc:
                    # Filters only save work; without them every event still arrives.
                    self.filters_refused.append(wanted.criteria)
                    log.warning("AMI event filter %r refused: %s", wanted, exc.reason)
            self.connections += 1
            self.connected_since = time.time()
            self.last_error = ""
            self._connected.set()
            self.dispatcher.put(Connected(server_banner=self.banner, connection_number=self.connections))
            await self._keepalive(reader_task)
        finally:
            was_connected = self._connected.is_set()
            self._connected.clear()
            self.connected_since = None
            self._writer = None
            writer.close()
            if reader_task is not None:
                reader_task.cancel()
                await asyncio.gather(reader_task, return_exceptions=True)
            self.pending.fail_all(AMIDisconnected("connection to Asterisk lost"))
            if was_connected:
                self.dispatcher.put(Disconnected(reason=self.last_error or "connection closed"))

    async def _keepalive(self, reader_task: asyncio.Task[None]) -> None:
        s = self.settings
        while not reader_task.done():
            done, _ = await asyncio.wait({reader_task}, timeout=s.ping_interval)
            if done:
                return
            try:
                await self._send("Ping", {}, timeout=s.ping_timeout)
            except AMIError as exc:
                # An unanswered Ping means a dead peer even when TCP looks fine.
                self.last_error = f"keep-alive failed: {exc}"
                log.warning("AMI %s", self.last_error)
                return

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        frames = FrameBuffer(self.settings.max_message_bytes)
        while True:
            data = await reader.read(self.read_size)
            if not data:
                if frames.pending:
                    self.frame_errors += 1
                    log.warning("AMI connection closed inside a message (%d bytes dropped)", frames.pending)
                self.last_error = self.last_error or "Asterisk closed the connection"
                return
            for item in frames.feed(data):
                if isinstance(item, FrameError):
                    self.frame_errors += 1
                    log.warning("AMI frame dropped: %s (%d bytes)", item.reason, item.size)
                    continue
                event = self.pending.route(item)
                if event is not None:
                    self.dispatcher.put(event)

    # -- actions -----------------------------------------------------------
    async def _send(self, action: str, fields: dict[str, Any], *, timeout: float | None, is_list: bool = False) -> Any:
        writer = self._writer
        if writer is None or writer.is_closing():
            raise AMINotConnected(f"{action}: not connected to Asterisk")
        action_id = f"{self.action_prefix}-{next(self._ids)}"
        payload = encode(action, {"ActionID": action_id, **fields})
        future = self.pending.expect(action_id, action, is_list)
        try:
            writer.write(payload)
            await writer.drain()
            return await asyncio.wait_for(future, timeout if timeout is not None else self.settings.action_timeout)
        except TimeoutError:
            raise AMITimeout(f"{action}: no reply within {timeout or self.settings.action_timeout:g} s") from None
        except (ConnectionError, OSError) as exc:
            raise AMIDisconnected(f"{action}: {exc}") from None
        finally:
            self.pending.actions.pop(action_id, None)

    async def action(
        self, action: str, /, *, timeout: float | None = None, allow_blocking: bool = False, **fields: Any
    ) -> Message:
        """Send an action, return its Response; 'Response: Error' raises AMIActionError.

        Asterisk runs one action at a time per manager session: a synchronous
        Originate holds the session until the far end answers, and every
        other action, Ping included, waits behind it (the keep-alive then
        declares the connection dead). So Originate must be Async unless the
        caller says it owns a session it may block.
        """
        if not self.connected:
            raise AMINotConnected(f"{action}: not connected to Asterisk")
        if (
            action.lower() == "originate"
            and not allow_blocking
            and str(fields.get("Async", "")).lower() not in ("true", "yes", "1")
        ):
            raise AMIError("Originate without Async=true would block this AMI session")
        return await self._send(action, fields, timeout=timeout)

    async def list_action(self, action: str, /, *, timeout: float | None = None, **fields: Any) -> ListResult:
        """Send an action answered by an event list; collects until 'EventList: Complete'."""
        if not self.connected:
            raise AMINotConnected(f"{action}: not connected to Asterisk")
        return await self._send(action, fields, timeout=timeout, is_list=True)

    async def command(self, cli: str, *, timeout: float | None = None) -> str:
        reply = await self.action("Command", Command=cli, timeout=timeout)
        return "\n".join(reply.all("Output"))

    async def agi(self, channel: str, command: str, *, timeout: float | None = None) -> AGIResult:
        """Run one AGI command on a channel parked in AGI(agi:async)."""
        command_id = uuid.uuid4().hex
        fut = self.pending.expect_agi(command_id)
        limit = timeout if timeout is not None else self.settings.action_timeout
        try:
            await self.action("AGI", Channel=channel, Command=command, CommandID=command_id, timeout=limit)
            return await asyncio.wait_for(fut, limit)
        except TimeoutError:
            raise AMITimeout(f"AGI {command!r} on {channel}: no result within {limit:g} s") from None
        finally:
            self.pending.agi.pop(command_id, None)
