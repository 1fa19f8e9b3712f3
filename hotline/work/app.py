"""The work queue's resources in the app: the queue, its rules on ticket
changes, the desk's actions on items, the figures, and their gauges on
/metrics (the outbox's among them)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import Gauge

from hotline.acd import api as acd_api
from hotline.channels.api import DELIVERER
from hotline.channels.delivery import Deliverer
from hotline.cluster.app import FENCE
from hotline.ivr import api as ivr_api
from hotline.metrics import METRICS, Metrics
from hotline.seatmap import api as seatmap_api
from hotline.tickets import api as tickets_api
from hotline.web.keys import AMI, CLOCK, SESSIONS, SETTINGS
from hotline.work import api as work_api
from hotline.work.desk import WorkDesk
from hotline.work.figures import WorkFigures
from hotline.work.messages import CallbackWork, MessageWork
from hotline.work.policy import WorkPolicy
from hotline.work.rows import news_of
from hotline.work.service import WorkService
from hotline.work.ticket_work import TicketWork


def work_metrics(
    metrics: Metrics, work: WorkService, figures: WorkFigures, deliverer: Deliverer
) -> Callable[[], Awaitable[None]]:
    r = metrics.registry
    live = Gauge(
        "hotline_work_items", "Work items now, by kind and what is happening to them", ["kind", "state"], registry=r
    )
    oldest = Gauge("hotline_work_oldest_waiting_seconds", "Age of the oldest waiting item", ["kind"], registry=r)
    rolling = Gauge("hotline_work_24h", "Rolling 24-hour work figures", ["kind", "figure"], registry=r)
    offer = Gauge(
        "hotline_work_offer_latency_seconds",
        "An item and a free agent both there -> the offer written, recent offers",
        ["quantile"],
        registry=r,
    )
    outbox = Gauge("hotline_outbox_messages", "Outbox messages by channel and state", ["channel", "state"], registry=r)

    async def update() -> None:
        live.clear()
        oldest.clear()
        for k in work.summary().kinds:
            for state, n in (
                ("waiting", k.waiting),
                ("offered", k.offered),
                ("in_hand", k.in_hand),
                ("breaches", k.breaches),
            ):
                live.labels(k.kind, state).set(n)
            oldest.labels(k.kind).set(round(k.oldest_s))
        rolling.clear()
        for f in await figures.rolling():
            for name in ("arrived", "handled", "within_deadline", "avg_handle_s"):
                value: Any = f[name]
                if value is not None:
                    rolling.labels(f["kind"], name).set(value)
        recent = sorted(work.offer_latency)
        for q in (0.5, 0.99):
            offer.labels(str(q)).set(recent[min(len(recent) - 1, int(q * len(recent)))] if recent else 0)
        outbox.clear()
        for channel, states in (await deliverer.counts()).items():
            for state, n in states.items():
                outbox.labels(channel, state).set(n)

    return update


async def work_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = app[tickets_api.STORE]
    fence = app[FENCE]
    work = WorkService(settings, app[SESSIONS], app[acd_api.ACD], app[CLOCK], deciding=lambda: fence.leading)
    fence.on_lead(lambda: work.kick(None))  # a new leader offers at once what waited
    figures = WorkFigures(app[SESSIONS], app[CLOCK], settings.work.kinds)
    # A ticket's change makes and ends its work items in its own transaction;
    # once committed, the queue acts on what it made at once.
    store.moves.on_move(TicketWork(settings, WorkPolicy.from_settings(settings)).on_move)
    store.moves.on_commit(lambda info: work.kick(news_of(info)))
    app[ivr_api.DRIVER].on_message(MessageWork(WorkPolicy.from_settings(settings)).on_message)
    app[acd_api.CALLBACKS].on_gave_up(CallbackWork(WorkPolicy.from_settings(settings)).on_gave_up)
    hub = app[tickets_api.DESKS]
    work.subscribe_agents(lambda agent, items: hub.push(agent, {"type": "work", "items": [v.as_dict() for v in items]}))
    hub.work_of = lambda agent: [v.as_dict() for v in work.of_agent(agent)]
    app[work_api.WORK] = work
    app[work_api.WORK_DESK] = WorkDesk(settings, work, store, app[AMI], app[acd_api.ACD])
    app[work_api.FIGURES] = figures
    app[METRICS].add_updater(work_metrics(app[METRICS], work, figures, app[DELIVERER]))
    app[seatmap_api.HUB].attach_work(work)
    await work.start()
    yield
    hub.work_of = None
    await work.close()
