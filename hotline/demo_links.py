"""Demo mode's linked services, one of each in the first minute and then
every few minutes, each through the real path a person's would take:

- car moving: a caller presses 2, the agent who answers asks for the owner
  of a registered demo car, the PBX calls the owner (a simulated line that
  presses 1) and bridges the two over a pool number;
- lawyers: a caller presses 3 and reaches the demo's lawyer (legal hours
  round the clock in the demo);
- 110, both ways: an agent transfers a caller to 110 (the incident is pushed
  to a simulated 110 on loopback, which sends back its receipt and result),
  and 110 hands over incidents of its own;
- grid: a grid worker reports a problem found on patrol; tickets landing at
  grid stations are signed for and fed back (demo_work.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from dataclasses import dataclass

from sqlalchemy import select

from hotline.ami.client import AMIClient
from hotline.ami.replies import AMIError
from hotline.carmove.service import CarMoveService
from hotline.config import Settings
from hotline.db.models import Vehicle
from hotline.demo_work import GRID, DemoDesks, Matter, demo_people
from hotline.errors import HotlineError
from hotline.grid.reports import file_report
from hotline.police.simulator import Police110Simulator
from hotline.tasks import TaskSet
from hotline.tickets.calls import CallControls
from hotline.tickets.handoff import ActiveCall, Handoff
from hotline.tickets.store import TicketStore

log = logging.getLogger(__name__)

PLATE = "京A12345"
OWNER = "13700000301"  # the demo car's owner: a simulated line that presses 1
WHERE = "幸福路 8 号小区门口"
# 110's incidents (their code, what, where) and the category each maps to.
INCIDENTS = (
    ("A01", "幸福路 12 号小区门口路灯不亮，晚上很黑。", "东城区幸福路 12 号", "urban-works"),
    ("B07", "楼上装修每天晚上十点以后还在施工，噪音很大。", "西城区和平街 3 号楼", "env-noise"),
    ("C03", "小区暖气不热，室温只有 15 度。", "西城区滨河小区 8 栋", "urban-property"),
)
CARMOVE = Matter(
    "traffic-road", "东城区", WHERE, "车辆堵住小区出口，请求联系车主挪车。", "已经中间号联系车主，车主同意前来挪车。"
)
POLICE = Matter(
    "other", "西城区", "和平街 5 号", "邻居因停车发生争执，有推搡，请警察处理。", "涉及治安纠纷，已转 110 处置。"
)
PATROL = {"content": "幸福路 3 号井盖破损，有行人绊倒的危险。", "address": "幸福路 3 号", "category": "urban-works"}
# Seconds after start of each service's first showing; all repeat every ROUND_S.
# The patrol first: its station signs and feeds back in steps of its own.
FIRST = (("patrol", 5.0), ("carmove", 10.0), ("legal", 15.0), ("police", 20.0), ("incident", 25.0))
ROUND_S = 300.0
TALK_S = 20.0  # how long a planned caller talks once served


def grid_station(settings: Settings) -> str:
    """The station the demo's grid worker belongs to: the first configured."""
    return next((c.code for s in settings.tickets.streets for c in s.communities), "")


@dataclass
class Waiting:
    purpose: str  # carmove | police | legal
    matter: Matter | None  # None: the desk's own choice


class DemoLinks:
    def __init__(
        self,
        settings: Settings,
        client: AMIClient,
        store: TicketStore,
        handoff: Handoff,
        controls: CallControls,
        carmove: CarMoveService,
        police_secret: bytes,
        desks: DemoDesks,
        rng: random.Random | None = None,
    ):
        self.settings = settings
        self.client = client
        self.store = store
        self.handoff = handoff
        self.controls = controls
        self.carmove = carmove
        self.desks = desks
        self.rng = rng or random.Random()
        self.police = Police110Simulator(police_secret, settings.hotline_url, receipt_after=3.0, dispatch_after=20.0)
        self.waiting: dict[str, Waiting] = {}  # caller number -> what the agent does once they answer
        self.shown: dict[str, int] = {}  # service -> times shown
        self._tasks = TaskSet("demo-links")

    async def start(self) -> None:
        host, port = self.settings.police.url.removeprefix("http://").rsplit(":", 1)
        await self.police.start(host, int(port))
        await self._register_car()
        for purpose, after in FIRST:
            self._tasks.spawn(self._every(purpose, after), name=f"demo-{purpose}")
        self._tasks.spawn(self._answer(), name="demo-answer")

    async def close(self) -> None:
        await self._tasks.close()
        await self.police.close()

    async def _register_car(self) -> None:
        """The demo's registered car, as if its owner had verified the phone."""
        now = dt.datetime.now(dt.timezone.utc)
        async with self.store.sessions() as db, db.begin():
            if await db.scalar(select(Vehicle.id).where(Vehicle.plate == PLATE)) is None:
                db.add(Vehicle(plate=PLATE, owner_phone=OWNER, via="public", verified_at=now, created_at=now))

    async def _every(self, purpose: str, after: float) -> None:
        await asyncio.sleep(after)
        while True:
            try:
                await self.show(purpose)
                self.shown[purpose] = self.shown.get(purpose, 0) + 1
            except (HotlineError, AMIError) as exc:
                log.warning("demo: %s not shown: %s", purpose, exc)
            await asyncio.sleep(ROUND_S)

    async def show(self, purpose: str) -> None:
        n = self.shown.get(purpose, 0)
        if purpose == "carmove":
            # The owner's simulated line agrees to talk (presses 1); a global, set
            # each time, so a restarted PBX has it too.
            await self.client.action("Setvar", Variable="SIM_PSTN_PRESS1", Value=OWNER)
            await self._caller("2", Waiting("carmove", CARMOVE))
        elif purpose == "police":
            await self._caller("1", Waiting("police", POLICE))
        elif purpose == "legal":
            await self._caller("3", Waiting("legal", None))
        elif purpose == "incident":
            code, content, address, _ = INCIDENTS[n % len(INCIDENTS)]
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S")
            status, answer = await self.police.push_incident(
                f"DEMO{stamp}{n:03d}", content, address=address, category_code=code, caller=self._number()
            )
            if status >= 300:
                raise HotlineError(f"110 的警单未被接收：HTTP {status} {answer}")
        elif purpose == "patrol":
            worker = (await demo_people(self.store, {GRID})).get(GRID)
            if worker is not None:
                await file_report(self.store, worker, PATROL)

    async def _caller(self, key: str, waiting: Waiting) -> None:
        number = self._number()
        # A caller who gave up in the queue is never answered: keep the newest few.
        for stale in list(self.waiting)[: max(0, len(self.waiting) - 10)]:
            del self.waiting[stale]
        self.waiting[number] = waiting
        await self.client.action(
            "Originate",
            Channel=f"Local/{self.settings.hotline_number}@from-pstn",
            Context="sim-keys",
            Exten=key,
            Priority="1",
            CallerID=f"<{number}>",
            Variable="SIM_STAY=600",  # patient: waits out the queue at any load
            Async="true",
        )

    def _number(self) -> str:
        return "139" + "".join(self.rng.choice("0123456789") for _ in range(8))

    async def _answer(self) -> None:
        """The agent who answers a planned caller does what the caller asks,
        a few seconds into the call, as a person would."""
        while True:
            await asyncio.sleep(1.0)
            for call in self.handoff.calls():
                planned = self.waiting.pop(call.caller, None) if call.ticket else None
                if planned is not None:
                    self._tasks.spawn(self._serve(call, planned), name="demo-serve")

    async def _serve(self, call: ActiveCall, planned: Waiting) -> None:
        await asyncio.sleep(4.0)
        if planned.matter is not None:
            self.desks.planned[call.ticket] = planned.matter
        agent = (await demo_people(self.store, {call.agent})).get(call.agent)
        try:
            if agent is not None and planned.purpose == "carmove":
                await self.carmove.request(agent, call, PLATE, WHERE)
            elif agent is not None and planned.purpose == "police":
                await self.controls.hand_on(agent, "transfer", self.settings.police.number)
        except HotlineError as exc:
            log.warning("demo: %s for %s failed: %s", planned.purpose, call.caller, exc)
        # The caller (now with the lawyer, the car's owner or 110) is done after a while.
        await asyncio.sleep(TALK_S)
        try:
            await self.client.action("Hangup", Channel=call.caller_channel)
        except AMIError:
            pass  # already gone
