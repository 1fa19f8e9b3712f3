"""Live seat map fan-out: update, compare, notify.

The hub rebuilds the view when the ACD reports a change (at most every
`min_interval` seconds, so a burst of events costs one frame; an event
waits for the frame at most that long: 20 ms keeps the p99 from event to
frame under 50 ms at 5,000 seats and 50 events/s, bench/seatmap_fanout.py),
sends each
viewer only what changed, and gives every viewer a bounded queue: a viewer
that falls behind loses its backlog and gets one fresh snapshot instead,
so one slow browser never delays the others.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from hotline.acd.service import AcdService
from hotline.pbx.health import PbxWatch
from hotline.pbx.trunks import TrunkWatch
from hotline.seatmap import model

log = logging.getLogger(__name__)


RESYNC = "resync"


@dataclass(eq=False)
class Viewer:
    # Frames are serialised once by the hub and shared by every viewer.
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(maxsize=64))
    resync: bool = True  # the next frame must be a whole snapshot
    dropped: int = 0

    def offer(self, frame: str) -> None:
        if self.resync:
            return  # a snapshot is coming anyway
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
                self.dropped += 1
            self.resync = True
            self.queue.put_nowait(RESYNC)


class SeatMapHub:
    def __init__(
        self, acd: AcdService, min_interval: float = 0.02, pbx: PbxWatch | None = None, trunks: TrunkWatch | None = None
    ):
        self.acd = acd
        self.pbx = pbx
        self.trunks = trunks
        self.min_interval = min_interval
        self.viewers: set[Viewer] = set()
        self.view: dict[str, Any] | None = None
        self.frames = 0
        self.dropped_before = 0
        self._changed = asyncio.Event()
        self._watched = asyncio.Event()  # someone has the seat map open
        self._task: asyncio.Task[None] | None = None
        self._seen: dict[str, tuple[Any, str | None]] = {}
        self._closing = False
        self.work: Any = None  # the work queue (hotline/work/service.py), attached once it exists
        self.supervision: Any = None  # who listens to whom (seatmap/supervision.py)
        self.adherence: dict[str, Any] | None = None  # the roster against who is logged in
        self.plan: dict[str, Any] | None = None  # the contingency plan running
        self.nodes: list[dict[str, Any]] = []  # the cluster's nodes (cluster/presence.py); none on one node
        acd.subscribe(self._changed.set)
        if pbx is not None:
            pbx.subscribe(self._changed.set)
        if trunks is not None:
            trunks.subscribe(self._changed.set)

    def attach_work(self, work: Any) -> None:
        """Items waiting per kind, the oldest and breaches go in the header."""
        self.work = work
        work.subscribe(self._changed.set)

    def set_plan(self, plan: dict[str, Any] | None, suggested: list[dict[str, Any]] | None = None) -> None:
        """The contingency plan running now, and those a hot topic suggests (plans/app.py)."""
        view = {"running": plan, "suggested": suggested or []}
        if view != self.plan:
            self.plan = view
            self._changed.set()

    def set_nodes(self, nodes: list[dict[str, Any]]) -> None:
        """The cluster's nodes, up or down, and which leads (cluster/app.py)."""
        if nodes != self.nodes:
            self.nodes = nodes
            self._changed.set()

    def set_adherence(self, adherence: dict[str, Any]) -> None:
        """The roster's adherence now (roster/app.py refreshes it)."""
        if adherence != self.adherence:
            self.adherence = adherence
            self._changed.set()

    def attach_supervision(self, supervision: Any) -> None:
        """Who listens to whom goes in the header."""
        self.supervision = supervision
        supervision.subscribe(self._changed.set)

    def _spies(self) -> list[dict[str, Any]]:
        return self.supervision.views() if self.supervision is not None else []

    def _work(self) -> dict[str, Any] | None:
        if self.work is None:
            return None
        s = self.work.summary()
        return {"kinds": [k.as_dict() for k in s.kinds], "breaches": s.breaches}

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="seatmap-hub")

    async def close(self) -> None:
        self._closing = True
        self._changed.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def snapshot(self) -> dict[str, Any]:
        if self.view is None:
            self.view = self._build()
        # "at" is the controller's clock, the one seat times are measured on.
        return {
            "type": "snapshot",
            "at": self.acd.now(),
            **self.view,
            "changes": self.acd.recent_changes(50),
            "floor": self.acd.layout(),
        }

    def _build(self) -> dict[str, Any]:
        self._seen = {n: (s, desynced) for n, s, desynced in self.acd.seat_items()}
        view = model.build(self.acd.seat_views(), self.acd.header_view())
        view["header"]["pbx"] = self._pbx()
        view["header"]["trunks"] = self._trunks()
        view["header"]["work"] = self._work()
        view["header"]["spies"] = self._spies()
        view["header"]["adherence"] = self.adherence
        view["header"]["plan"] = self.plan
        view["header"]["nodes"] = self.nodes
        return view

    def _trunks(self) -> list[dict[str, Any]]:
        # Round-trip times change with every qualify: not the lead's business.
        if self.trunks is None:
            return []
        return [{k: t[k] for k in ("name", "up", "known", "reason", "since_text")} for t in self.trunks.view()]

    def _pbx(self) -> dict[str, Any] | None:
        # The lead's banner: whether the PBX is up, since when, the last outage.
        return self.pbx.view() if self.pbx is not None else None

    def _changed_seats(self) -> dict[str, Any]:
        """Tiles of the seats whose state object changed since the last frame.

        Seat states are immutable, so an unchanged seat is the very same
        object: at 1,500 seats an identity check per seat is the whole cost of
        a quiet seat.
        """
        out = {}
        for name, s, desynced in self.acd.seat_items():
            seen = self._seen.get(name)
            if seen is not None and seen[0] is s and seen[1] == desynced:
                continue
            self._seen[name] = (s, desynced)
            tile = model.seat(self.acd.seat_view(s))
            if self.view is None or self.view["seats"].get(name) != tile:
                out[name] = tile
        return out

    def join(self) -> Viewer:
        viewer = Viewer()
        self.viewers.add(viewer)
        self._watched.set()
        return viewer

    def leave(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        if not self.viewers:
            self._watched.clear()
        self.dropped_before += viewer.dropped

    @property
    def dropped(self) -> int:
        """Frames dropped for slow viewers (each then got a fresh snapshot)."""
        return self.dropped_before + sum(v.dropped for v in self.viewers)

    def refresh(self) -> None:
        if self.view is None:
            self.view = self._build()
            return
        d: dict[str, Any] = {}
        head = model.header(self.acd.header_view())
        head["pbx"] = self._pbx()
        head["trunks"] = self._trunks()
        head["work"] = self._work()
        head["spies"] = self._spies()
        head["adherence"] = self.adherence
        head["plan"] = self.plan
        head["nodes"] = self.nodes
        if head != self.view["header"]:
            d["header"] = self.view["header"] = head
        seats = self._changed_seats()
        if seats:
            d["seats"] = seats
            self.view["seats"].update(seats)
        if not d:
            return
        self.frames += 1
        frame = {"type": "delta", "at": self.acd.now(), **d}
        if "header" in d:
            frame["changes"] = self.acd.recent_changes(5)
        text = json.dumps(frame, ensure_ascii=False)
        for viewer in list(self.viewers):
            viewer.offer(text)

    async def _run(self) -> None:
        while not self._closing:
            if not self.viewers:
                # Nobody watches: no wake-up per call event (a floor's calls
                # cost the hub nothing), and the next viewer gets a fresh build.
                self.view = None
                await self._watched.wait()
                continue
            # asyncio.timeout, not wait_for: Python 3.11's wait_for was seen to
            # swallow the cancel that shuts the hub down.
            try:
                async with asyncio.timeout(1.0):
                    await self._changed.wait()
            except TimeoutError:
                pass  # the longest wait grows even when nothing happens
            self._changed.clear()
            if not self.viewers:
                self.view = None  # nobody watches: the next viewer gets a fresh build
                continue
            try:
                self.refresh()
            except Exception:
                log.exception("seat map refresh failed")
            await asyncio.sleep(self.min_interval)
