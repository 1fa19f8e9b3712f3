"""A lead's listen, whisper or barge of a seat whose call is on another node.

ChanSpy sees only its own Asterisk's channels, so the controller whose lead
asks cannot run it for a call another node carries. It asks that node's
controller instead, on channel hotline_spies (cluster/notify.py): start,
stop; and hears back when the spy ended there. The monitoring phone is
rung at the SIP edge, where it registers like the seats' phones; without
seats at the edge a node could not ring another node's monitoring phone,
so the lead is told so instead (seatmap/supervision.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from hotline.acd.api import ACD
from hotline.acd.service import AcdService
from hotline.cluster.notify import Channel
from hotline.seatmap.api import SUPERVISION
from hotline.tasks import TaskSet
from hotline.web.keys import SETTINGS

log = logging.getLogger(__name__)

CHANNEL = "hotline_spies"


def where_talking(acd: AcdService, seat: str) -> str | None:
    """The node carrying a seat's call when it is not this one (pure read)."""
    if acd.hosted is None or seat in acd.hosted:
        return None
    return acd.placed_on.get(seat) or None


def envelope(node: str, to: str, said: dict[str, str]) -> str:
    return json.dumps({"from": node, "to": to, "said": said})


def opened(node: str, payload: str) -> tuple[str, dict[str, str]] | None:
    """(asking node, what it says) of a message for this node; None otherwise (pure)."""
    try:
        data: Any = json.loads(payload)
        sender, to, said = data["from"], data["to"], data["said"]
    except (ValueError, KeyError, TypeError):
        log.warning("spy relay: a payload that is not ours: %.80r", payload)
        return None
    if type(sender) is not str or to != node or type(said) is not dict:
        return None
    if not all(type(k) is str and type(v) is str for k, v in said.items()):
        return None
    return sender, said


async def spy_relay_ctx(app: web.Application) -> AsyncIterator[None]:
    """After the seat map's context: its Supervision asks and serves through here."""
    s = app[SETTINGS]
    if not s.cluster.node or not s.seats_at_edge:
        yield
        return
    supervision, acd, node = app[SUPERVISION], app[ACD], s.cluster.node
    tasks = TaskSet("spy-relay")

    def heard(payload: str) -> None:
        found = opened(node, payload)
        if found is not None:
            tasks.spawn(supervision.serve(*found), "spy-serve")

    channel = Channel(s.database_url, node, CHANNEL, heard)

    def ask(to: str, said: dict[str, str]) -> None:
        if not channel.send(envelope(node, to, said)):
            log.warning("spy relay: backlog full, %s for %s dropped", said.get("op"), said.get("phone"))

    supervision.node = node
    supervision.elsewhere = lambda seat: where_talking(acd, seat)
    supervision.ask = ask
    channel.start()
    try:
        yield
    finally:
        supervision.ask = None
        await channel.close()
        await tasks.close()
