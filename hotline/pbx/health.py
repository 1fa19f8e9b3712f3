"""Is the PBX up, as the controller sees it, and when was it last down?

`PbxHealth` is pure: it is told when AMI lost Asterisk and when a resync
after reconnecting succeeded, and keeps what the shift lead and monitoring
need (down since, why, the last outage and how long it lasted). `PbxWatch`
feeds it from the AMI client and the mirror keeper, adds what the bundled
supervisor recorded (restarts, the exit reason of the last crash) and tells
its subscribers (the seat map) about every change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Gauge

from hotline.ami.client import AMIClient
from hotline.ami.replies import Disconnected
from hotline.ami.resync import MirrorKeeper
from hotline.pbx.descriptors import FileUse, file_use
from hotline.pbx.process import Pbx
from hotline.pbx.supervisor import SupervisorState
from hotline.tasks import TaskSet

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outage:
    down_at: float
    up_at: float
    reason: str

    @property
    def seconds(self) -> float:
        return self.up_at - self.down_at


@dataclass(frozen=True, slots=True)
class PbxHealth:
    up: bool = False
    since: float = 0.0
    reason: str = "尚未连接"
    ever_up: bool = False
    outages: int = 0
    last_outage: Outage | None = None

    def lost(self, now: float, reason: str) -> PbxHealth:
        if not self.up and self.ever_up:
            return self  # still down: keep the moment it went down
        if not self.up:
            return dataclasses.replace(self, reason=reason)
        return dataclasses.replace(self, up=False, since=now, reason=reason)

    def back(self, now: float) -> PbxHealth:
        if self.up:
            return self
        if not self.ever_up:
            return PbxHealth(up=True, since=now, reason="", ever_up=True)
        return dataclasses.replace(
            self,
            up=True,
            since=now,
            reason="",
            outages=self.outages + 1,
            last_outage=Outage(self.since, now, self.reason),
        )


class PbxWatch:
    def __init__(
        self,
        client: AMIClient,
        keeper: MirrorKeeper,
        pbx: Pbx | None,
        clock: Callable[[], float] = time.time,
        tz: dt.tzinfo = dt.timezone.utc,
    ):
        self.tz = tz  # the hotline's own time zone: what the lead's clock says
        self.client = client
        self.keeper = keeper
        self.pbx = pbx  # the bundled PBX's supervisor, None for an operator's own Asterisk
        self.clock = clock
        self.health = PbxHealth(since=clock())
        self.supervisor: SupervisorState | None = None
        self.files: FileUse | None = None  # the bundled Asterisk's open files, read every FILES_SECONDS
        self._asterisk_pid: int | None = None
        self._listeners: list[Callable[[], None]] = []
        self._tasks = TaskSet("pbx-watch")
        keeper.subscribe(self._on_mirror)
        client.on(Disconnected, self._on_disconnected)

    FILES_SECONDS = 10.0

    def start(self) -> None:
        if self.pbx is not None:
            self._tasks.spawn(self._watch_files(), "pbx-files")

    async def close(self) -> None:
        await self._tasks.close()

    async def _watch_files(self) -> None:
        while True:
            use = await asyncio.to_thread(self._read_files)
            warned = self.files is not None and self.files.near_limit
            self.files = use
            if use is not None and use.near_limit != warned:
                if use.near_limit:
                    log.error("PBX holds %d open files of its limit %d: new calls may fail", use.open, use.limit)
                self._notify()
            await asyncio.sleep(self.FILES_SECONDS)

    def _read_files(self) -> FileUse | None:
        assert self.pbx is not None
        use = file_use(self._asterisk_pid) if self._asterisk_pid else None
        if use is None:  # restarted (or not yet seen): find it again
            self._asterisk_pid = self.pbx.asterisk_pid()
            use = file_use(self._asterisk_pid) if self._asterisk_pid else None
        return use

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _set(self, health: PbxHealth) -> None:
        if health == self.health:
            return
        was_up = self.health.up
        self.health = health
        if self.pbx is not None:
            self.supervisor = self.pbx.supervisor_state()
        if was_up and not health.up:
            log.error("PBX down: %s", health.reason)
        elif health.up and health.last_outage is not None and not was_up:
            log.warning("PBX back after %.1f s (%s)", health.last_outage.seconds, health.last_outage.reason)
        self._notify()

    def _notify(self) -> None:
        for listener in self._listeners:
            try:
                listener()
            except Exception:
                log.exception("PBX watch listener %r failed", listener)

    def _on_mirror(self, event: object) -> None:
        # Only a resync (None) brings the PBX back; an event changes nothing here.
        if event is None and self.keeper.mirror.synced and self.client.connected:
            self._set(self.health.back(self.clock()))

    def _on_disconnected(self, e: Disconnected) -> None:
        self._set(self.health.lost(self.clock(), "与电话系统的连接中断"))

    def refresh_supervisor(self) -> SupervisorState | None:
        if self.pbx is not None:
            self.supervisor = self.pbx.supervisor_state()
        return self.supervisor

    def view(self) -> dict[str, Any]:
        """What the seat map's banner and /api/health show."""
        h = self.health
        sup = self.supervisor
        out: dict[str, Any] = {
            "up": h.up,
            "since": round(h.since, 3),
            "since_text": self._clock_text(h.since),
            "reason": h.reason,
            "outages": h.outages,
            "restarts": sup.restarts if sup else None,
            "last_exit": sup.last_exit if sup and sup.last_exit else None,
            "restarting": bool(sup and sup.state == "restarting"),
            "files": self.files.as_dict() if self.files is not None else None,
        }
        if h.last_outage is not None:
            out["last_outage"] = {
                "down_at": round(h.last_outage.down_at, 3),
                "up_at": round(h.last_outage.up_at, 3),
                "up_text": self._clock_text(h.last_outage.up_at),
                "seconds": round(h.last_outage.seconds, 1),
            }
        return out

    def _clock_text(self, at: float) -> str:
        return dt.datetime.fromtimestamp(at, self.tz).strftime("%H:%M:%S")


def metrics_updater(registry: Any, watch: PbxWatch) -> Callable[[], Awaitable[None]]:
    """PBX gauges for /metrics: up, restarts by the supervisor, outages seen."""
    up = Gauge("hotline_pbx_up", "1 while AMI is connected to a synced Asterisk", registry=registry)
    restarts = Gauge(
        "hotline_pbx_restarts", "Asterisk restarts by the bundled supervisor since it started", registry=registry
    )
    outages = Gauge("hotline_pbx_outages", "PBX outages the controller saw end since it started", registry=registry)
    last = Gauge("hotline_pbx_last_outage_seconds", "Length of the last PBX outage", registry=registry)

    async def update() -> None:
        sup = await asyncio.to_thread(watch.refresh_supervisor)
        up.set(1 if watch.health.up else 0)
        restarts.set(sup.restarts if sup is not None else 0)
        outages.set(watch.health.outages)
        last.set(watch.health.last_outage.seconds if watch.health.last_outage else 0)

    return update
