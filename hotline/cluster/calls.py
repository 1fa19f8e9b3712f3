"""The desk's call controls across controllers (hold, transfer, three-way,
hang up), over PostgreSQL's LISTEN/NOTIFY channel hotline_calls.

An agent's desk may be open at one controller while the leader has placed
their seat on another node, whose controller handed the call over and
holds its channels. The desk's controller asks on the channel; the one
that holds the agent's call acts on it exactly as for its own desks and
answers; no answer within a few seconds means no node has the call."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

from hotline.cluster.notify import Channel
from hotline.errors import HotlineError
from hotline.identity import Identity
from hotline.jsonout import dumps
from hotline.roles import Role
from hotline.tasks import TaskSet
from hotline.tickets.calls import CallControls

log = logging.getLogger(__name__)

CHANNEL = "hotline_calls"
ROLES = frozenset(r.value for r in Role)


def asked(node: str, data: Any) -> tuple[Identity, str, str] | None:
    """(who, action, number) of another controller's question (pure); None when it is none."""
    if not isinstance(data, dict) or data.get("kind") != "ask" or data.get("from") == node:
        return None
    who, action, number = data.get("who"), data.get("action"), data.get("number")
    if not isinstance(who, dict) or not isinstance(action, str) or not isinstance(number, str):
        return None
    user_id, username, name, roles = who.get("id"), who.get("username"), who.get("name"), who.get("roles")
    if type(user_id) is not int or not isinstance(username, str) or not isinstance(name, str):
        return None
    if not isinstance(roles, list) or not all(isinstance(r, str) and r in ROLES for r in roles):
        return None
    return Identity(user_id, username, name, frozenset(Role(r) for r in roles)), action, number


class CallRelay:
    def __init__(self, url: str, node: str, controls: CallControls, timeout: float = 3.0):
        self.node = node
        self.controls = controls
        self.timeout = timeout
        self.answered = 0
        self.channel = Channel(url, node, CHANNEL, self._heard)
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks = TaskSet("call-relay")

    def start(self) -> None:
        self.channel.start()

    async def close(self) -> None:
        await self._tasks.close()
        await self.channel.close()

    async def ask(self, who: Identity, action: str, number: str) -> dict[str, Any] | None:
        """The answer of the controller that holds the agent's call, or None."""
        key = uuid.uuid4().hex
        question = {
            "kind": "ask",
            "id": key,
            "from": self.node,
            "who": {
                "id": who.user_id,
                "username": who.username,
                "name": who.display_name,
                "roles": sorted(r.value for r in who.roles),
            },
            "action": action,
            "number": number,
        }
        done = self._waiting[key] = asyncio.get_running_loop().create_future()
        try:
            if not self.channel.send(dumps(question)):
                return None
            return await asyncio.wait_for(done, self.timeout)
        except TimeoutError:
            return None
        finally:
            self._waiting.pop(key, None)

    def _heard(self, payload: str) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            log.warning("call relay: an unreadable message ignored")
            return
        if isinstance(data, dict) and data.get("kind") == "answer" and data.get("to") == self.node:
            waiting = self._waiting.get(str(data.get("id")))
            if waiting is not None and not waiting.done() and isinstance(data.get("body"), dict):
                waiting.set_result(data["body"])
            return
        question = asked(self.node, data)
        if question is not None and self.controls.handoff.call_of(question[0].username) is not None:
            self._tasks.spawn(self._answer(data, *question), name="call-relay-answer")

    async def _answer(self, data: dict[str, Any], who: Identity, action: str, number: str) -> None:
        try:
            body = await self.controls.act_here(who, action, number)
        except HotlineError as exc:
            body = {**exc.to_dict(), "status": exc.status}
        self.answered += 1
        log.info("call relay: %s for %s (asked at node %s)", action, who.username, data["from"])
        self.channel.send(dumps({"kind": "answer", "id": data["id"], "to": data["from"], "body": body}))
