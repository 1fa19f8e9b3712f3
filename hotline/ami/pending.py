"""Replies matched to the actions waiting for them, by ActionID alone (never
guessed from the reply's text), and async-AGI results to their command ids."""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from hotline.ami.events import AsyncAGIExec, Event, parse_event
from hotline.ami.protocol import Message
from hotline.ami.replies import AGIResult, AMIActionError, AMIError, ListResult, parse_agi_reply

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Pending:
    action: str
    future: asyncio.Future[Any]
    is_list: bool
    response: Message | None = None
    events: list[Event] = field(default_factory=list)


class PendingReplies:
    def __init__(self) -> None:
        self.actions: dict[str, _Pending] = {}
        self.agi: dict[str, asyncio.Future[AGIResult]] = {}

    def expect(self, action_id: str, action: str, is_list: bool) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.actions[action_id] = _Pending(action, future, is_list)
        return future

    def expect_agi(self, command_id: str) -> asyncio.Future[AGIResult]:
        future: asyncio.Future[AGIResult] = asyncio.get_running_loop().create_future()
        self.agi[command_id] = future
        return future

    def route(self, msg: Message) -> Event | None:
        """Settle what the message answers; returns the event to dispatch, if any."""
        action_id = msg.action_id
        pending = self.actions.get(action_id) if action_id else None
        # An event may carry a field named Response (ChallengeResponseFailed
        # has the digest the phone sent): Event decides what a message is.
        if msg.response and not msg.event:
            if pending is None:
                log.debug("AMI reply to no pending action dropped: %s", msg.as_dict())
                return None
            if msg.response.lower() == "error":
                self.actions.pop(action_id, None)
                if not pending.future.done():
                    pending.future.set_exception(AMIActionError(pending.action, msg.get("Message"), msg))
                return None
            if not pending.is_list:
                self.actions.pop(action_id, None)
                if not pending.future.done():
                    pending.future.set_result(msg)
                return None
            pending.response = msg
            return None
        if not msg.event:
            log.debug("AMI message without Event or Response dropped: %s", msg.as_dict())
            return None
        event = parse_event(msg)
        if pending is not None and pending.is_list:
            if msg.get("EventList").lower() == "complete":
                self.actions.pop(action_id, None)
                if not pending.future.done():
                    pending.future.set_result(ListResult(pending.response or msg, pending.events))
            else:
                pending.events.append(event)
            return None
        if isinstance(event, AsyncAGIExec) and event.command_id in self.agi:
            fut = self.agi.pop(event.command_id)
            if not fut.done():
                fut.set_result(parse_agi_reply(urllib.parse.unquote(event.result)))
        return event

    def fail_all(self, exc: AMIError) -> None:
        actions, self.actions = self.actions, {}
        for p in actions.values():
            if not p.future.done():
                p.future.set_exception(exc)
        agi, self.agi = self.agi, {}
        for fut in agi.values():
            if not fut.done():
                fut.set_exception(exc)
