"""Full resync: after every login and every FullyBooted, rebuild the mirror.

Events that arrive while the snapshot is being taken queue up behind the
resync in the dispatcher and are applied on top; the mirror's updates are
idempotent, so one that the snapshot already reflects changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.ami.mirror import PbxMirror, Snapshot
from hotline.ami.replies import AMIError, Connected, Disconnected

log = logging.getLogger(__name__)


async def take_snapshot(client: AMIClient) -> Snapshot:
    channels = await client.list_action("CoreShowChannels")
    queues = await client.list_action("QueueStatus")
    devices = await client.list_action("DeviceStateList")
    return Snapshot(
        channels=[e for e in channels.events if isinstance(e, ev.CoreShowChannel)],
        queue_params=[e for e in queues.events if isinstance(e, ev.QueueParams)],
        queue_members=[e for e in queues.events if isinstance(e, ev.QueueMember)],
        queue_entries=[e for e in queues.events if isinstance(e, ev.QueueEntry)],
        devices=[e for e in devices.events if isinstance(e, ev.DeviceStateChange)],
    )


class MirrorKeeper:
    """Keeps a PbxMirror in step with Asterisk through one AMIClient."""

    def __init__(self, client: AMIClient, mirror: PbxMirror | None = None):
        self.client = client
        self.mirror = mirror or PbxMirror()
        self.resyncs = 0
        self.last_resync: float | None = None
        self.asterisk_version = ""
        self._listeners: list[Callable[[ev.Event | None], None]] = []
        client.on(Connected, self._on_connected)
        client.on(ev.FullyBooted, self._on_booted)
        client.on(Disconnected, self._on_disconnected)
        client.on_any(self._on_event)

    def subscribe(self, listener: Callable[[ev.Event | None], None]) -> None:
        """listener(event) after a change; listener(None) after a resync."""
        self._listeners.append(listener)

    def _notify(self, event: ev.Event | None) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("mirror listener %r failed", listener)

    async def _on_connected(self, _e: Connected) -> None:
        await self.resync()

    async def _on_booted(self, e: ev.FullyBooted) -> None:
        # Logging in to a booted Asterisk also yields FullyBooted; a resync
        # already ran for that login, so only a boot that completes while we
        # are connected (uptime below the age of our last resync) needs one.
        if self.last_resync is None or e.uptime <= time.time() - self.last_resync + 1:
            await self.resync()

    def _on_disconnected(self, _e: Disconnected) -> None:
        self.mirror.clear()
        self._notify(None)

    def _on_event(self, e: ev.Event) -> None:
        if self.mirror.synced and self.mirror.apply(e):
            self._notify(e)

    async def resync(self) -> None:
        try:
            settings = await self.client.action("CoreSettings")
            self.asterisk_version = settings.get("AsteriskVersion")
            snap = await take_snapshot(self.client)
        except AMIError as exc:
            # The connection will be re-established and we resync then.
            log.log(logging.WARNING if self.client.connected else logging.DEBUG, "resync failed: %s", exc)
            return
        self.mirror.load(snap)
        self.resyncs += 1
        self.last_resync = time.time()
        self._notify(None)
