"""App factory: one cleanup context per resource, started in this order:
database, IVR services, AMI, PBX (SIP guard, figures), ACD, seat
credentials, callbacks, seat map, tickets, channels (outbox and delivery),
grid, the 110 link, car moving, the work queue, briefings (and their
schedule), FastAGI (with the routes features named in AGI_ROUTES). Each
feature package owns its contexts (acd/app.py, seats/app.py, pbx/app.py,
seatmap/api.py, tickets/app.py, channels/app.py, grid/app.py,
police/app.py, carmove/app.py, work/app.py, briefings/api.py) and its
routes (setup); this module only orders them. Nothing
starts a resource outside a cleanup context.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import os
import ssl
import time
import zoneinfo
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from hotline import accounts, eventloop, metrics
from hotline.acd import api as acd_api
from hotline.acd.app import acd_ctx, callbacks_ctx
from hotline.ami.agi_guard import AgiGuard
from hotline.ami.client import AMIClient
from hotline.ami.fastagi import FastAGIServer
from hotline.ami.resync import MirrorKeeper
from hotline.banner import banner
from hotline.briefings import api as briefings_api
from hotline.briefings.api import briefings_ctx
from hotline.carmove import api as carmove_api
from hotline.carmove.app import carmove_ctx
from hotline.channels import api as channels_api
from hotline.channels import public as public_api
from hotline.channels.app import channels_ctx
from hotline.cluster.app import (
    cluster_ctx,
    desk_relay_ctx,
    phone_relay_ctx,
    presence_ctx,
    shared_settings_ctx,
    work_relay_ctx,
)
from hotline.cluster.asks import asks_ctx
from hotline.config import Settings
from hotline.credentials import ensure_secrets
from hotline.db.batch import WriteQueue
from hotline.db.checkpoint import wal_checkpoints
from hotline.db.engine import make_engine, sessionmaker
from hotline.db.migrate import upgrade_async
from hotline.demo import DemoOptions
from hotline.demo_app import DEMO, demo_ctx
from hotline.grid import api as grid_api
from hotline.grid.app import grid_ctx
from hotline.health import STARTED, health
from hotline.ivr import api as ivr_api
from hotline.ivr.app import ivr_ctx, ivr_dialplan_ctx
from hotline.pbx import api as pbx_api
from hotline.pbx.app import PBX_WATCH, TRUNKS, pbx_ctx
from hotline.pbx.descriptors import raise_soft_limit
from hotline.pbx.health import PbxWatch
from hotline.pbx.process import Pbx
from hotline.pbx.tls import tls_files
from hotline.pbx.trunks import TrunkWatch
from hotline.people import api as people_api
from hotline.plans import api as plans_api
from hotline.plans.app import plans_ctx
from hotline.police import api as police_api
from hotline.police.app import police_ctx
from hotline.quality import api as quality_api
from hotline.recordings import api as recordings_api
from hotline.reports import api as reports_api
from hotline.retention import api as retention_api
from hotline.roster import api as roster_api
from hotline.roster.app import roster_ctx
from hotline.seatmap import api as seatmap_api
from hotline.seats import api as seats_api
from hotline.seats.app import seats_ctx
from hotline.tickets import api as tickets_api
from hotline.tickets.app import tickets_ctx
from hotline.triage import api as triage_api
from hotline.web import login, pages
from hotline.web.accesslog import AccessLog, access_logger
from hotline.web.auth import auth_middleware, error_middleware
from hotline.web.keys import AGI_ROUTES, AMI, CLOCK, ENGINE, FASTAGI, KEEPER, SESSIONS, SETTINGS, WRITES
from hotline.web.origin import WEBSOCKETS, Websockets, csrf_middleware, security_headers
from hotline.web.throttle import ANONYMOUS, RateLimit, anonymous_gate
from hotline.work import api as work_api
from hotline.work.app import work_ctx

log = logging.getLogger(__name__)

# AMI, KEEPER, CLOCK (hotline.web.keys) and PBX_WATCH, TRUNKS (hotline.pbx.app)
# are imported above and named here too: the app's keys, in one place to look.
__all__ = ["AMI", "KEEPER", "CLOCK", "PBX_WATCH", "TRUNKS", "FASTAGI", "IVR", "create_app", "serve"]
IVR = ivr_api.DRIVER
FIRST_ADMIN = web.AppKey("first_admin", str)


async def db_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # Secrets, the database and prompt uploads: the service user's alone.
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.state_dir, 0o700)
    await upgrade_async(settings)
    engine = make_engine(settings, own_checkpoints=True)
    app[ENGINE] = engine
    app[SESSIONS] = sessionmaker(engine)
    # Stored on the way out, after every feature's last write, before the engine goes.
    # A quarter second of call records share a transaction: a transaction
    # costs the controller more CPU than the rows in it (bench/native_twin.py:
    # 0.05 s made one per call, 0.25 s one per three calls, 1.1 ms less per
    # call). kill -9 loses at most that moment's records; a reader that needs
    # one sooner (the screen pop, the figures) gets it at once.
    writes = app[WRITES] = WriteQueue(engine, linger=0.25, name="call records")
    async with wal_checkpoints(engine), writes.running():
        yield
    await engine.dispose()


async def ami_ctx(app: web.Application) -> AsyncIterator[None]:
    client = AMIClient(app[SETTINGS].ami)
    app[AMI] = client
    app[KEEPER] = MirrorKeeper(client)
    # The bundled PBX's supervisor writes its restarts next to its instance;
    # against an operator's own Asterisk there is no such file and the watch
    # reports what AMI shows.
    app[PBX_WATCH] = PbxWatch(
        client,
        app[KEEPER],
        Pbx(app[SETTINGS]),
        clock=lambda: app[CLOCK]().timestamp(),
        tz=zoneinfo.ZoneInfo(app[SETTINGS].ivr.timezone),
    )
    app[TRUNKS] = TrunkWatch(app[SETTINGS], client, tz=zoneinfo.ZoneInfo(app[SETTINGS].ivr.timezone))
    await client.start()
    yield
    await client.close()


async def fastagi_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if not settings.agi.key:
        await asyncio.to_thread(ensure_secrets, settings)
    server = FastAGIServer(settings.agi, guard=AgiGuard(app[KEEPER].mirror, settings.agi.key))
    app[IVR].staffed = app[acd_api.ACD].staffed
    server.route("ivr", app[IVR].handle)
    server.route("callback", app[acd_api.CALLBACKS].book)
    for name, handler in app[AGI_ROUTES].items():
        server.route(name, handler)
    app[FASTAGI] = server
    await server.start()
    yield
    await server.close()


async def first_admin(app: web.Application) -> None:
    """A fresh installation gets an admin with a one-time password."""
    app[FIRST_ADMIN] = await accounts.ensure_first_admin(app[SESSIONS], app[SETTINGS].state_dir) or ""


async def freeze_startup_objects(app: web.Application) -> None:
    """Everything built at start-up (modules, settings, compiled flows) lives
    as long as the process: move it out of the garbage collector's sight.
    Full collections scanning it took 130-210 ms, a stall in every event
    handler of that moment (measured under bench/screen_pop.py)."""
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings, *, clock: Callable[[], dt.datetime] | None = None, demo: DemoOptions | None = None
) -> web.Application:
    app = web.Application(
        middlewares=[error_middleware, anonymous_gate, csrf_middleware, auth_middleware], client_max_size=1024 * 1024
    )
    app[ANONYMOUS] = RateLimit(settings.web.anonymous_per_minute, window=60.0)
    app[WEBSOCKETS] = Websockets()
    app[AGI_ROUTES] = {}
    app.on_shutdown.append(app[WEBSOCKETS].close_all)
    app.on_response_prepare.append(security_headers)
    app[SETTINGS] = settings
    app[STARTED] = time.monotonic()
    app[CLOCK] = clock or (lambda: dt.datetime.now(dt.timezone.utc))
    app.cleanup_ctx.append(db_ctx)
    app.cleanup_ctx.append(cluster_ctx)
    app.cleanup_ctx.append(ivr_ctx)
    app.cleanup_ctx.append(ami_ctx)
    app.cleanup_ctx.append(pbx_ctx)
    app.cleanup_ctx.append(acd_ctx)
    app.cleanup_ctx.append(seats_ctx)
    app.cleanup_ctx.append(callbacks_ctx)
    app.cleanup_ctx.append(seatmap_api.seatmap_ctx)
    app.cleanup_ctx.append(presence_ctx)
    app.cleanup_ctx.append(roster_ctx)
    app.cleanup_ctx.append(tickets_ctx)
    app.cleanup_ctx.append(desk_relay_ctx)
    app.cleanup_ctx.append(phone_relay_ctx)
    app.cleanup_ctx.append(asks_ctx)
    app.cleanup_ctx.append(channels_ctx)
    app.cleanup_ctx.append(grid_ctx)
    app.cleanup_ctx.append(police_ctx)
    app.cleanup_ctx.append(carmove_ctx)
    app.cleanup_ctx.append(work_ctx)
    app.cleanup_ctx.append(work_relay_ctx)
    app.cleanup_ctx.append(briefings_ctx)
    app.cleanup_ctx.append(plans_ctx)
    app.cleanup_ctx.append(shared_settings_ctx)
    app.cleanup_ctx.append(people_api.people_ctx)
    app.cleanup_ctx.append(fastagi_ctx)
    app.cleanup_ctx.append(ivr_dialplan_ctx)
    app.on_startup.append(first_admin)
    app.on_startup.append(freeze_startup_objects)
    pages.setup(app)
    app.router.add_get("/api/health", health)
    login.setup(app)
    metrics.setup(app)
    ivr_api.setup(app)
    acd_api.setup(app)
    seatmap_api.setup(app)
    tickets_api.setup(app)
    work_api.setup(app)
    public_api.setup(app)
    channels_api.setup(app)
    police_api.setup(app)
    grid_api.setup(app)
    carmove_api.setup(app)
    reports_api.setup(app)
    briefings_api.setup(app)
    recordings_api.setup(app)
    pbx_api.setup(app)
    seats_api.setup(app)
    people_api.setup(app)
    roster_api.setup(app)
    plans_api.setup(app)
    retention_api.setup(app)
    quality_api.setup(app)
    triage_api.setup(app)
    if demo is not None:  # after every feature the demo drives
        app[DEMO] = demo
        app.cleanup_ctx.append(demo_ctx)
    return app


def web_tls(settings: Settings) -> ssl.SSLContext:
    """The hotline's certificate for the web (the desk's microphone needs a secure page off loopback)."""
    files = tls_files(settings)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.cert, files.key)
    return context


def serve(settings: Settings, demo: DemoOptions | None = None) -> None:
    raise_soft_limit()  # a socket per FastAGI session, websocket and AMI link
    app = create_app(settings, demo=demo)
    web.run_app(
        app,
        host=settings.web.host,
        port=settings.web.port,
        ssl_context=web_tls(settings) if settings.web.https else None,
        loop=eventloop.new_loop(),
        access_log_class=AccessLog,
        access_log=access_logger(settings),
        print=lambda _line: print(banner(settings, app.get(DEMO), bool(app.get(FIRST_ADMIN))), flush=True),
    )
