"""What a controller asks of the node that holds a seat, on channel
hotline_asks (cluster/notify.py Directed).

An agent's desk or a lead's seat map may be served by one controller while
the leader placed the seat, and so its calls, on another node:

- a lead's listen, whisper or barge: ChanSpy sees only its own Asterisk's
  channels, so the node carrying the call runs it and rings the monitoring
  phone at the SIP edge, where it registers like the seats' phones, and
  says when it ended (seatmap/supervision.py). Without seats at the edge a
  node could not ring another node's monitoring phone: the lead is told so.
- an agent's end of wrap-up at the desk: the node holding the seat keeps
  it paused in its queue until then, so it ends it there too."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hotline.acd.api import ACD
from hotline.cluster.notify import Directed
from hotline.seatmap.api import SUPERVISION
from hotline.tasks import TaskSet
from hotline.web.keys import SETTINGS

CHANNEL = "hotline_asks"
SPY_OPS = frozenset({"start", "stop", "ended"})


async def asks_ctx(app: web.Application) -> AsyncIterator[None]:
    """After the seat map's context."""
    s = app[SETTINGS]
    if not s.cluster.node:
        yield
        return
    supervision, acd, node = app[SUPERVISION], app[ACD], s.cluster.node
    tasks = TaskSet("node-asks")

    def heard(sender: str, said: dict[str, str]) -> None:
        op = said.get("op", "")
        if op in SPY_OPS:
            tasks.spawn(supervision.serve(sender, said), "spy-serve")
        elif op == "wrapup-end":
            acd.wrapup_ended_elsewhere(said.get("seat", ""), said.get("agent", ""), sender)

    relay = Directed(s.database_url, node, CHANNEL, heard)
    acd.ask_holder = relay.send
    supervision.node = node
    supervision.elsewhere = acd.held_elsewhere
    if s.seats_at_edge:  # else no node could ring another node's monitoring phone: refused
        supervision.ask = relay.send
    relay.start()
    try:
        yield
    finally:
        supervision.ask = None
        acd.ask_holder = None
        await relay.close()
        await tasks.close()
