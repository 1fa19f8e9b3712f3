"""The ACD's resources in the app: the service (seats, lines, intent) and the
callback dispatcher and the callback offer, each with its cleanup context."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hotline.acd import api as acd_api
from hotline.acd.callbacks import CallbackService
from hotline.acd.metrics import acd_metrics
from hotline.acd.offer import CallbackOffer
from hotline.acd.prompts import FIXED_PROMPTS, ZH_DIGITS
from hotline.acd.service import AcdService
from hotline.metrics import METRICS
from hotline.web.keys import AMI, CLOCK, KEEPER, PROMPTS, SESSIONS, SETTINGS, WRITES


async def acd_ctx(app: web.Application) -> AsyncIterator[None]:
    service = AcdService(app[SETTINGS], app[AMI], app[KEEPER], app[SESSIONS], app[WRITES], app[CLOCK])
    app[acd_api.ACD] = service
    app[METRICS].add_updater(acd_metrics(app[METRICS].registry, service))
    await service.start()
    yield
    await service.close()


async def callbacks_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    prompts = app[PROMPTS]
    for name, text in FIXED_PROMPTS.items():
        await prompts.fixed(name, text)
    digits = settings.pbx.instance_dir / "lib" / "sounds-zh" / "digits"
    for name, text in ZH_DIGITS.items():
        await prompts.fixed(name, text, folder=digits)
    service = CallbackService(
        settings, app[AMI], app[acd_api.ACD], app[SESSIONS], app[CLOCK], settings.ivr.pbx_prompts_dir
    )
    app[acd_api.CALLBACKS] = service
    offer = app[acd_api.OFFER] = CallbackOffer(settings, app[AMI])
    service.start()
    offer.start()
    yield
    await service.close()
    await offer.close()
