"""How often a waiting caller hears the callback offer (「按 1 回拨」).

app_queue plays the offer as its periodic announcement, so its interval is a
parameter of the queue in queues.conf. A contingency plan may offer sooner
(callers abandon less in a surge) or stop offering (callbacks pile up faster
than they can be made). The change is written into the PBX's queues.conf
over AMI UpdateConfig and taken by `QueueReload Parameters` — members and
callers stay, and callers already waiting hear the new interval from their
next check — the same path the SIP guard uses, so an operator's own Asterisk
gets it too. The interval wanted is applied again on every connect: a PBX
restarted meanwhile rendered the configured one.
"""

from __future__ import annotations

import logging
from typing import Any

from hotline.ami.client import AMIClient
from hotline.ami.replies import AMIError, Connected
from hotline.config import Settings
from hotline.tasks import TaskSet

log = logging.getLogger(__name__)

QUEUES_FILE = "queues.conf"
VAR = "periodic-announce-frequency"


def offer_update(queue: str, seconds: int) -> dict[str, Any]:
    """UpdateConfig fields that set the queue's callback offer interval (pure; 0: never)."""
    if type(seconds) is not int or seconds < 0:
        raise ValueError(f"callback offer interval {seconds!r}: a whole number of seconds, 0 for none")
    return {
        "SrcFilename": QUEUES_FILE,
        "DstFilename": QUEUES_FILE,
        "Action-000000": "Update",
        "Cat-000000": queue,
        "Var-000000": VAR,
        "Value-000000": str(seconds),
    }


def in_config(lines: list[str]) -> int | None:
    """The interval a GetConfig reply's lines hold (pure)."""
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == VAR and value.strip().isdigit():
            return int(value.strip())
    return None


class CallbackOffer:
    def __init__(self, settings: Settings, client: AMIClient):
        self.queue = settings.acd.queue
        self.configured = settings.acd.callback_offer_seconds
        self.seconds = self.configured
        self.client = client
        self._tasks = TaskSet("callback-offer")
        client.on(Connected, lambda _e: self._tasks.spawn(self._ensure(), "callback-offer-ensure"))

    def start(self) -> None:
        if self.client.connected:  # otherwise the next Connected does it
            self._tasks.spawn(self._ensure(), "callback-offer-ensure")

    async def close(self) -> None:
        await self._tasks.close()

    async def set(self, seconds: int | None) -> None:
        """The interval from now on (None: the configured one); raises AMIError if the PBX refused it."""
        self.seconds = self.configured if seconds is None else seconds
        await self._apply()

    async def _ensure(self) -> None:
        try:
            reply = await self.client.action("GetConfig", Filename=QUEUES_FILE, Category=self.queue)
            lines = [v for k, v in reply.as_dict().items() if k.startswith("Line-")]
            if in_config(lines) != self.seconds:
                await self._apply()
        except AMIError as exc:
            log.error("callback offer: could not check the PBX's interval: %s", exc)

    async def _apply(self) -> None:
        await self.client.action("UpdateConfig", **offer_update(self.queue, self.seconds))
        await self.client.action("QueueReload", Queue=self.queue, Parameters="yes")
        log.info("callback offer: every %s s in %s", self.seconds or "—", self.queue)
