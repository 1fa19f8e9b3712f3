"""Demo mode's people at work on tickets, so every page has life: the
simulated agents fill in and submit the tickets of the calls they took
(some answered on the spot, most dispatched, to bureaus and grid stations),
the units feed back or return, and the lead reviews and revisits. Every
step goes through the ticket store, as a person's would."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from hotline.db.models import Ticket, User
from hotline.errors import HotlineError
from hotline.identity import Identity, identity_of
from hotline.roles import Role
from hotline.tasks import TaskSet
from hotline.tickets import workflow as wf
from hotline.tickets.store import TicketStore

log = logging.getLogger(__name__)

LEAD = "demo-lead"
LAWYER = "demo-lawyer"
GRID = "demo-grid"


@dataclass(frozen=True)
class Matter:
    category: str
    district: str
    address: str
    content: str
    answer: str = ""  # set: answered on the spot


MATTERS = (
    Matter("env-noise", "东城区", "幸福路 18 号", "楼下饭店油烟机夜里一直响，吵得睡不着。"),
    Matter("urban-works", "东城区", "和平东路 6 号", "工地晚上十一点以后还在施工，噪音很大。"),
    Matter("urban-property", "西城区", "滨河小区 3 栋", "小区电梯坏了一周，物业一直不修。"),
    Matter("traffic-road", "西城区", "和平街与滨河路路口", "路口红绿灯坏了，早晚高峰很危险。"),
    Matter("labour-wages", "东城区", "建国路 100 号", "公司拖欠三个月工资，老板联系不上。"),
    Matter("market-consumer", "西城区", "新华大街 22 号", "健身房预付卡办了没多久就关门了，要求退款。"),
    Matter("env-air", "东城区", "幸福里小区", "附近有人焚烧垃圾，烟很大。"),
    Matter("traffic-bus", "西城区", "和平路公交站", "12 路公交经常不按时发车，等了四十分钟。"),
    Matter(
        "consult-social",
        "东城区",
        "",
        "灵活就业人员怎么缴纳社保？",
        "已告知可在社保中心窗口或线上平台办理，按月或按季缴费。",
    ),
    Matter(
        "consult-housing",
        "西城区",
        "",
        "公积金贷款额度怎么算？",
        "已告知额度与缴存余额、缴存年限相关，可在公积金中心查询。",
    ),
    Matter(
        "market-food",
        "东城区",
        "",
        "怎么举报过期食品？",
        "已告知可拨打 12315 或在市场监管部门网站举报，并保留购物凭证。",
    ),
)
LEGAL = (
    Matter(
        "legal-labour",
        "东城区",
        "",
        "公司没签劳动合同就辞退我，能要求赔偿吗？",
        "律师解答：未签书面劳动合同可主张双倍工资，违法解除可主张赔偿金，建议先申请劳动仲裁。",
    ),
    Matter(
        "legal-family",
        "西城区",
        "",
        "离婚时房子写的是对方名字，我能分吗？",
        "律师解答：婚后共同出资购买的房屋一般属夫妻共同财产，可协商或诉讼分割，注意保留出资凭证。",
    ),
)
FEEDBACK = (
    "已到现场核实，责令整改，市民反映问题已解决。",
    "已联系相关单位维修，预计三日内完成。",
    "已约谈责任方，限期整改，将持续跟进。",
)


class DemoDesks:
    """The demo's agents, units and lead working tickets; one pass every few seconds."""

    def __init__(
        self,
        store: TicketStore,
        in_call: Callable[[], set[str]],
        agents: int,
        rng: random.Random | None = None,
        step_s: float = 4.0,
        settle_s: float = 15.0,
    ):
        self.store = store
        self.in_call = in_call  # tickets whose call is still going on
        self.agents = {f"demo{i:02d}" for i in range(1, agents + 1)}
        self.rng = rng or random.Random()
        self.step_s = step_s
        self.settle_s = settle_s  # how long a unit or the lead takes over each step
        self.done = 0
        # What the caller of a ticket was about, when the demo planned it (car moving, 110).
        self.planned: dict[str, Matter] = {}
        self.received: set[str] = set()  # grid tickets their station has signed for
        self._tasks = TaskSet("demo-desks")

    def start(self) -> None:
        self._tasks.spawn(self._run(), name="demo-desks")

    async def close(self) -> None:
        await self._tasks.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.step_s)
            try:
                await self.round()
            except Exception:
                log.exception("demo: a round of ticket work failed")

    async def round(self) -> None:
        now = self.store.clock()
        async with self.store.sessions() as db:
            rows = (
                await db.execute(
                    select(
                        Ticket.number,
                        Ticket.status,
                        Ticket.agent,
                        Ticket.updated_at,
                        Ticket.reviewed_at,
                        Ticket.channel,
                    ).where(
                        Ticket.status.in_(
                            [
                                wf.Status.ACCEPTED.value,
                                wf.Status.DISPATCHED.value,
                                wf.Status.RETURNED.value,
                                wf.Status.FEEDBACK.value,
                            ]
                        )
                    )
                )
            ).all()
        people = await demo_people(self.store, self.agents | {LEAD, LAWYER, GRID})
        busy = self.in_call()
        desks = self.agents | {LAWYER}  # who answers calls and submits their tickets
        for number, status, agent, updated, reviewed, channel in rows:
            waited = (now - updated).total_seconds()
            try:
                if status == wf.Status.ACCEPTED.value and agent in people.keys() & desks and number not in busy:
                    await self._submit(number, people[agent])
                elif status == wf.Status.ACCEPTED.value and channel in ("110", "grid") and waited >= self.settle_s:
                    staff = sorted(self.agents & people.keys())
                    if staff:
                        await self._take_in(number, people[self.rng.choice(staff)])
                elif status == wf.Status.DISPATCHED.value and waited >= self.settle_s:
                    await self._unit(number, people.get(GRID))
                elif status == wf.Status.RETURNED.value and waited >= self.settle_s and LEAD in people:
                    # The lead sends it on again; the desk's rule picks the unit (属地, else the category's).
                    await self.store.act(number, "dispatch", people[LEAD], {})
                elif status == wf.Status.FEEDBACK.value and waited >= self.settle_s and LEAD in people:
                    lead = people[LEAD]
                    if reviewed is None:
                        await self.store.act(number, "approve", lead, {"note": "反馈属实"})
                    else:
                        satisfied = self.rng.random() < 0.85
                        note = "市民表示满意" if satisfied else "市民表示问题未彻底解决"
                        await self.store.act(number, "revisit", lead, {"satisfied": satisfied, "note": note})
            except HotlineError as exc:
                log.info("demo: %s on ticket %s: %s", status, number, exc)
            self.done += 1

    async def _submit(self, number: str, agent: Identity) -> None:
        m = self.planned.pop(number, None) or self.rng.choice(LEGAL if agent.username == LAWYER else MATTERS)
        form = {"category": m.category, "district": m.district, "address": m.address, "content": m.content}
        if m.answer:
            await self.store.submit(number, agent, {**form, "handling": "answered", "answer": m.answer})
        else:
            await self.store.submit(number, agent, {**form, "handling": "dispatched"})

    async def _take_in(self, number: str, agent: Identity) -> None:
        """A request 110 handed over or a grid worker reported: an agent takes
        it in, classifies it (the category it came with, if any) and sends it
        on; the address decides the unit (属地优先)."""
        t = (await self.store.get(number, ADMIN)).ticket
        async with self.store.tx() as db:
            tid = await db.scalar(select(Ticket.id).where(Ticket.number == number))
            if tid is not None:
                await self.store.assign(db, tid, agent.username)
        form = {
            "category": t.category or "urban-works",
            "district": t.district or "东城区",
            "address": t.address,
            "content": t.content,
        }
        await self.store.submit(number, agent, {**form, "handling": "dispatched"})

    async def _unit(self, number: str, grid: Identity | None) -> None:
        t = await self.store.get(number, ADMIN)
        station = t.ticket.department in self.store.tree.units.by_code
        if station:
            # A grid station: its worker signs for it first, then reports back.
            unit = grid if grid is not None and grid.department == t.ticket.department else None
            unit = unit or Identity(
                0, f"demo-{t.ticket.department}", "网格员", frozenset({Role.GRID}), t.ticket.department
            )
            if number not in self.received:
                self.received.add(number)
                await self.store.act(number, "receive", unit, {"note": "已签收，前往现场核实"})
                return
        else:
            unit = Identity(
                0,
                f"demo-{t.ticket.department}",
                t.ticket.department_text,
                frozenset({Role.DEPARTMENT}),
                t.ticket.department,
            )
        if not station and self.rng.random() < 0.1 and t.ticket.redispatches == 0:
            await self.store.act(number, "return", unit, {"note": "不属于本单位职责，请重新派单"})
        else:
            await self.store.act(number, "feedback", unit, {"note": self.rng.choice(FEEDBACK)})
            self.received.discard(number)


ADMIN = Identity(0, "demo", "演示", frozenset({Role.ADMIN}))


async def demo_people(store: TicketStore, names: set[str]) -> dict[str, Identity]:
    """The demo's accounts that exist, as the identities they act with."""
    async with store.sessions() as db:
        return {
            u.username: identity_of(u) for u in (await db.scalars(select(User).where(User.username.in_(names)))).all()
        }
