"""The ticket feature's resources in the app: the store, the desks' hub, the
hand-off of answered calls, call controls, revisit calls, recordings, and
their figures on /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from prometheus_client import Gauge

from hotline.acd import api as acd_api
from hotline.metrics import METRICS, Metrics
from hotline.recordings import api as recordings_api
from hotline.recordings.store import RecordingStore
from hotline.seats.api import WEBPHONES
from hotline.tickets import api as tickets_api
from hotline.tickets.calls import CallControls
from hotline.tickets.desk import DeskHub
from hotline.tickets.handoff import Handoff
from hotline.tickets.phone_lost import PhoneLost
from hotline.tickets.revisit import PROMPTS as REVISIT_PROMPTS
from hotline.tickets.revisit import RevisitCalls
from hotline.tickets.store import TicketStore
from hotline.web.keys import AMI, CLOCK, PROMPTS, SESSIONS, SETTINGS, WRITES

SURVEY_PROMPTS = {
    "survey-ask": "请您对本次服务进行评价：非常满意请按1，满意请按2，基本满意请按3，不满意请按4，非常不满意请按5。",
    "survey-thanks": "感谢您的评价，再见。",
}


def ticket_metrics(metrics: Metrics, store: TicketStore, handoff: Handoff) -> Callable[[], Awaitable[None]]:
    r = metrics.registry
    tickets = Gauge("hotline_tickets", "Tickets by status (overdue: in the supervision ledger)", ["status"], registry=r)
    pops = Gauge(
        "hotline_screen_pop_seconds",
        "AgentConnect handled -> screen pop queued, recent calls",
        ["quantile"],
        registry=r,
    )
    surveys = Gauge("hotline_surveys_received", "Post-call survey answers since start", registry=r)

    async def update() -> None:
        tickets.clear()
        for status, n in (await store.counts()).items():
            tickets.labels(status).set(n)
        recent = sorted(handoff.pop_seconds)
        for q in (0.5, 0.99):
            pops.labels(str(q)).set(recent[min(len(recent) - 1, int(q * len(recent)))] if recent else 0)
        surveys.set(handoff.surveys)

    return update


async def tickets_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    prompts = app[PROMPTS]
    for name, text in {**(SURVEY_PROMPTS if settings.tickets.survey else {}), **REVISIT_PROMPTS}.items():
        await prompts.fixed(name, text)
    store = TicketStore(settings, app[SESSIONS], app[CLOCK], app[WRITES])
    await store.kb.seed()
    hub = DeskHub(app[acd_api.ACD])
    handoff = Handoff(app[AMI], app[acd_api.ACD], store, hub)
    app[tickets_api.STORE] = store
    app[tickets_api.DESKS] = hub
    app[tickets_api.HANDOFF] = handoff
    app[tickets_api.CONTROLS] = CallControls(settings, app[AMI], handoff)
    app[recordings_api.RECORDINGS] = RecordingStore(settings, app[SESSIONS])
    app[tickets_api.REVISITS] = revisits = RevisitCalls(settings, app[AMI], store)
    app[METRICS].add_updater(ticket_metrics(app[METRICS], store, handoff))
    lost = PhoneLost(app[AMI], app[acd_api.ACD], handoff, app[WEBPHONES], settings.seats.webphone_grace_seconds)
    yield
    await lost.close()
    await handoff.close()
    await revisits.close()
