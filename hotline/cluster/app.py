"""The controller's part in the cluster: its election, when it has a node name."""

from __future__ import annotations

import json
import logging
import zoneinfo
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import Gauge

from hotline.acd import floor_plan as fp
from hotline.acd.api import ACD
from hotline.acd.service import AcdService
from hotline.ami.mirror import PbxMirror
from hotline.cluster.calls import CallRelay
from hotline.cluster.desks import DeskRelay
from hotline.cluster.fence import Fence
from hotline.cluster.follow import SharedSettings
from hotline.cluster.leader import Leadership
from hotline.cluster.notify import Channel
from hotline.cluster.placement import NodeLoad
from hotline.cluster.presence import Presence
from hotline.cluster.seats import SeatPlacement
from hotline.cluster.steer import Steering
from hotline.ivr.api import ANNOUNCEMENTS, FLOWS
from hotline.metrics import METRICS
from hotline.plans.api import PLANS
from hotline.seatmap.api import HUB
from hotline.seats.api import WEBPHONES
from hotline.tickets.api import CONTROLS, DESKS
from hotline.web.keys import AMI, FASTAGI, KEEPER, SESSIONS, SETTINGS
from hotline.work.api import WORK

log = logging.getLogger(__name__)

FENCE = web.AppKey("fence", Fence)
PRESENCE = web.AppKey("presence", Presence)
HOLD_BEATS = 5  # a seat held for arrival order waits at most this many heartbeats
WORK_CHANNEL = "hotline_work"
PHONES_CHANNEL = "hotline_phones"
PLACEMENT = web.AppKey("placement", SeatPlacement)
STEERING = web.AppKey("steering", Steering)


def queue_load(
    node: str,
    acd: AcdService,
    mirror: PbxMirror,
    in_ivr: int,
    epoch: int | None = None,
    webphones: frozenset[str] = frozenset(),
) -> NodeLoad:
    """This node's queue for the leader: who waits since when, which seats
    are members, on a call, or would take one now; and from the leader
    (epoch: its term), the line plan the others follow."""
    floor = acd.floor
    seats = floor.seats
    busy = frozenset(n for n, st in seats.items() if st.ringing or st.talking or st.wrapup_until is not None)

    def members_of(name: str) -> frozenset[str]:
        queue = mirror.queues.get(name)
        return frozenset(floor.by_interface.get(i, i) for i in (queue.members if queue is not None else {}))

    def free_of(members: frozenset[str]) -> frozenset[str]:
        return frozenset(n for n in members if n in seats and seats[n].logged_in and not seats[n].queue_pause()) - busy

    members, lawyers = members_of(acd.acd.queue), members_of(acd.acd.lawyer_queue)
    mine = busy - acd.remote_shown  # another node's calls shown here are not ours
    return NodeLoad(
        node,
        True,
        tuple(sorted(acd.waiting.values())),
        members,
        mine,
        free_of(members),
        frozenset(n for n in mine if seats[n].ringing),
        frozenset(n for n in mine if seats[n].talking),
        in_ivr,
        lawyer_waiting=tuple(sorted(acd.lawyer_waiting.values())),
        lawyer_members=lawyers,
        lawyer_free=free_of(lawyers),
        webphones=webphones,
        callers={n: seats[n].caller for n in mine if seats[n].caller},
        plan=fp.dump(acd.floor_plan(epoch)) if epoch is not None else None,
    )


async def cluster_ctx(app: web.Application) -> AsyncIterator[None]:
    s = app[SETTINGS]
    if not s.cluster.node:
        app[FENCE] = Fence()
        yield
        return
    leadership = Leadership(
        s.database_url, s.cluster.node, poll=s.cluster.poll_seconds, heartbeat=s.cluster.heartbeat_seconds
    )
    fence = app[FENCE] = Fence(leadership)
    registry = app[METRICS].registry
    leading = Gauge("hotline_cluster_leader", "1 while this controller leads the cluster", ["node"], registry=registry)
    term = Gauge("hotline_cluster_term", "The cluster's term while this controller leads, else 0", registry=registry)

    async def update() -> None:
        leading.labels(node=leadership.node).set(1 if fence.leading else 0)
        term.set(leadership.epoch or 0)

    app[METRICS].add_updater(update)
    await leadership.start()
    try:
        yield
    finally:
        await leadership.close()


async def presence_ctx(app: web.Application) -> AsyncIterator[None]:
    """The nodes on the seat map: after the seat map's own context."""
    s = app[SETTINGS]
    if not s.cluster.node:
        yield
        return
    keeper = app[KEEPER]
    acd = app[ACD]
    fence = app[FENCE]
    presence = Presence(
        app[SESSIONS],
        s.cluster.node,
        app[FENCE],
        lambda: app[AMI].connected and keeper.mirror.synced,
        s.cluster.heartbeat_seconds,
        zoneinfo.ZoneInfo(s.ivr.timezone),
        load=lambda: queue_load(
            s.cluster.node,
            acd,
            keeper.mirror,
            app[FASTAGI].active_sessions if FASTAGI in app else 0,
            fence.leadership.epoch if fence.leading and fence.leadership is not None else None,
            # A browser phone registered at the edge is rung by every node: it pins nothing.
            frozenset(n for n in acd.floor.seats if app[WEBPHONES].connected(n) and not s.seats_at_edge),
        ),
    )
    app[PRESENCE] = presence
    hub = app[HUB]
    presence.subscribe(lambda nodes: hub.set_nodes([n.as_dict() for n in nodes]))
    placement = app[PLACEMENT] = SeatPlacement(
        app[SESSIONS],
        s.cluster.node,
        app[FENCE],
        seats=lambda: [n for n, seat in acd.floor.seats.items() if seat.logged_in and not seat.lawyer],
        lawyers=lambda: [n for n, seat in acd.floor.seats.items() if seat.logged_in and seat.lawyer],
        restrict=acd.restrict,
        sync=acd.sync_shared,
        remote=acd.show_remote,
        note=acd.note,
        settle=s.cluster.seat_settle_seconds,
        # Long enough for the leader to move a held seat: its next two heartbeats and this node's.
        hold=HOLD_BEATS * s.cluster.heartbeat_seconds,
        lines=acd.follow_plan,
    )

    def order_hold(seat: str) -> float:
        lawyer = acd.floor.seats[seat].lawyer
        return placement.order_hold(seat, (acd.lawyer_waiting if lawyer else acd.waiting).values(), lawyer)

    acd.order_hold = order_hold
    presence.on_beat(placement.tick)
    if s.edge.enabled:
        steering = app[STEERING] = Steering(
            app[SESSIONS], fence, {n.name: f"sip:{n.host}:{n.sip_port}" for n in s.edge.nodes}
        )
        presence.on_beat(steering.tick)
    presence.start()
    try:
        yield
    finally:
        acd.order_hold = None
        await presence.close()


async def desk_relay_ctx(app: web.Application) -> AsyncIterator[None]:
    """Desk frames to the controller where the agent's desk is open, and the
    desk's call controls to the controller that holds the call: after the desks' context."""
    s = app[SETTINGS]
    if not s.cluster.node:
        yield
        return
    hub = app[DESKS]
    relay = DeskRelay(s.database_url, s.cluster.node, lambda agent, message: hub.push(agent, message, relay=False))
    hub.unreached = relay.send
    controls = app[CONTROLS]
    calls = CallRelay(s.database_url, s.cluster.node, controls)
    controls.elsewhere = calls.ask
    relay.start()
    calls.start()
    try:
        yield
    finally:
        hub.unreached = None
        controls.elsewhere = None
        await calls.close()
        await relay.close()


async def work_relay_ctx(app: web.Application) -> AsyncIterator[None]:
    """Each controller's work writes heard by the others: after the work queue's context.

    The leader offers; an agent accepts at the controller their desk is open
    at; a ticket made anywhere makes items. Every commit of work says so on
    channel hotline_work, and each other controller re-reads what changed,
    so an offer reaches a desk at any node within moments, not at the next
    full read (30 s, as long as an offer lasts)."""
    s = app[SETTINGS]
    if not s.cluster.node:
        yield
        return
    work = app[WORK]
    node = s.cluster.node
    channel = Channel(s.database_url, node, WORK_CHANNEL, lambda sender: work.kick(None) if sender != node else None)

    def written() -> None:
        # One notification covers every commit before it is sent.
        if channel.pending == 0 and not channel.send(node):
            log.warning("work relay: backlog full")

    work.on_written(written)
    channel.start()
    try:
        yield
    finally:
        await channel.close()


async def shared_settings_ctx(app: web.Application) -> AsyncIterator[None]:
    """Flows, the notice and the running plan set at another controller,
    followed after each heartbeat; plans start by trigger at the leader
    alone: after the plans' context."""
    s = app[SETTINGS]
    if not s.cluster.node:
        yield
        return
    fence, plans = app[FENCE], app[PLANS]
    plans.leads = lambda: fence.leading
    shared = SharedSettings(
        s.cluster.node,
        [("the IVR flows", app[FLOWS].refresh), ("the notice", app[ANNOUNCEMENTS].refresh), ("the plan", plans.follow)],
    )
    app[PRESENCE].on_beat(shared.beat)
    try:
        yield
    finally:
        await shared.close()


async def phone_relay_ctx(app: web.Application) -> AsyncIterator[None]:
    """Browser phones registered at the edge: each controller tells the
    others when a desk's phone relay opens or closes here (channel
    hotline_phones), so the node whose call a closed tab cut puts its caller
    back at the front of its queue: after the tickets' context."""
    s = app[SETTINGS]
    if not s.cluster.node or not s.seats_at_edge:
        yield
        return
    phones, node = app[WEBPHONES], s.cluster.node

    def heard(payload: str) -> None:
        try:
            said = json.loads(payload)
            sender, seat, agent, up = said["node"], said["seat"], said["agent"], said["up"]
        except (ValueError, KeyError, TypeError):
            log.warning("phone relay: a payload that is not ours: %.80r", payload)
            return
        if sender != node and type(seat) is str and type(agent) is str and type(up) is bool:
            phones.heard(seat, agent, up)

    channel = Channel(s.database_url, node, PHONES_CHANNEL, heard)

    def tell(seat: str, agent: str, up: bool) -> None:
        if not channel.send(json.dumps({"node": node, "seat": seat, "agent": agent, "up": up})):
            log.warning("phone relay: backlog full")

    phones.on_open(lambda seat, agent: tell(seat, agent, True))
    phones.subscribe(lambda e: None if e.remote else tell(e.seat, e.agent, False))
    channel.start()
    try:
        yield
    finally:
        await channel.close()
