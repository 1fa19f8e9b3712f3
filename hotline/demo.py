"""Demo mode: simulated agents and callers through the real PBX.

A newcomer who starts `hotline demo` (or `scripts/run --demo`) sees the
seat map, the desk and the figures move within a minute: agents log in at
simulated seat phones (Local channels that answer by themselves), callers
dial 12345 at a chosen rate, go through the real IVR (pressing nothing, so
the menu's timeout takes them to the queue), wait, talk for a while and hang
up; the seats wrap up and take the next call. Some callers give up while
waiting, as in life, and get a missed-call callback.

Demo data is kept apart: `demo_settings` moves the state folder (database,
secrets, recordings) and the PBX instance into var/demo, and every page
shows a banner saying the data is simulated (/api/health says demo).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import accounts, demo_links
from hotline.acd.service import AcdService
from hotline.ami.client import AMIClient
from hotline.ami.replies import AMIError
from hotline.config import Schedule, Settings
from hotline.db.models import User
from hotline.demo_work import GRID, LAWYER, LEAD
from hotline.roles import Role
from hotline.tasks import TaskSet

log = logging.getLogger(__name__)

DEMO_ACCOUNTS_FILE = "demo-accounts.txt"
DEMO_POOL = ("02112345001", "02112345002", "02112345003")
NAMES = ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄丽", "周杰", "吴婷", "徐强", "孙悦"]


def demo_settings(settings: Settings, agents: int) -> Settings:
    """The same installation, with demo state in its own folder, seats that
    answer by themselves (one more for the demo's lawyer), and 110 simulated
    on a loopback port of its own: a demo never reaches the real 110."""
    base = settings.state_dir / "demo"
    around_the_clock = Schedule(start="00:00", end="00:00")
    return settings.model_copy(
        update={
            "state_dir": base,
            "pbx": settings.pbx.model_copy(update={"instance_dir": base / "pbx"}),
            "seats": settings.seats.model_copy(
                update={"phones": "simulated", "count": max(settings.seats.count, agents + 1)}
            ),
            # Car moving needs pool numbers; an installation without them gets the demo's.
            "carmove": settings.carmove.model_copy(update={"pool": settings.carmove.pool or list(DEMO_POOL)}),
            "police": settings.police.model_copy(
                update={
                    "url": f"http://127.0.0.1:{free_port()}",
                    "hotline_url": "",
                    "category_map": {code: category for code, _, _, category in demo_links.INCIDENTS},
                }
            ),
            "recordings": settings.recordings.model_copy(update={"dir": None}),
            # Every demo agent takes calls at any hour (the real plan staffs 2 lines at night).
            "acd": settings.acd.model_copy(
                update={
                    "windows": [w.model_copy(update={"lines": agents}) for w in settings.acd.windows],
                    "default_lines": agents,
                    "holiday_lines": agents,
                }
            ),
            # The day menu (car moving, lawyers) and lawyer hours at any hour: a
            # newcomer at 3 a.m. sees every service too.
            "ivr": settings.ivr.model_copy(
                update={
                    "prompts_dir": None,
                    "messages_dir": None,
                    "schedules": {**settings.ivr.schedules, "day": around_the_clock, "lawyer": around_the_clock},
                }
            ),
        }
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class DemoOptions:
    rate_per_minute: float = 8.0
    agents: int = 6


class DemoDriver:
    def __init__(
        self,
        settings: Settings,
        acd: AcdService,
        client: AMIClient,
        sessions: async_sessionmaker[AsyncSession],
        *,
        rate_per_minute: float,
        agents: int,
        rng: random.Random | None = None,
        sleep: Callable[[float], object] = asyncio.sleep,
    ):
        self.settings = settings
        self.acd = acd
        self.client = client
        self.sessions = sessions
        self.rate = rate_per_minute
        self.agents = agents
        self.rng = rng or random.Random()
        self.placed = 0
        self._tasks = TaskSet("demo")
        self._sleep = sleep

    async def start(self) -> None:
        # Seats staffed before the site opens: the banner comes after their log lines.
        await self.ensure_accounts()
        await self._staff()
        self._tasks.spawn(self._run(), name="demo")

    async def close(self) -> None:
        await self._tasks.close()

    async def ensure_accounts(self) -> dict[str, str]:
        """Demo agent accounts (demo01...), so a newcomer can open the desk
        as one of them; their passwords are kept in the demo state folder."""
        made: dict[str, str] = {}
        async with self.sessions() as db, db.begin():
            have = set((await db.execute(select(User.username))).scalars())
            for i in range(1, self.agents + 1):
                name = f"demo{i:02d}"
                if name not in have:
                    _, made[name] = await accounts.create_user(db, name, NAMES[(i - 1) % len(NAMES)], [Role.AGENT])
            if LEAD not in have:
                # The shift lead a newcomer signs in as to watch the seat map and review tickets.
                _, made[LEAD] = await accounts.create_user(db, LEAD, "演示值班长", [Role.LEAD])
            if LAWYER not in have:
                _, made[LAWYER] = await accounts.create_user(db, LAWYER, "演示律师", [Role.LAWYER])
            station = demo_links.grid_station(self.settings)
            if GRID not in have and station:
                _, made[GRID] = await accounts.create_user(db, GRID, "演示网格员", [Role.GRID], department=station)
        if made:
            path = Path(self.settings.state_dir) / DEMO_ACCOUNTS_FILE
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.writelines(f"{name} {password}\n" for name, password in made.items())
        return made

    async def _run(self) -> None:
        while True:
            # Arrivals are random (Poisson), like real callers.
            await self._sleep(self.rng.expovariate(self.rate / 60.0))
            await self._call()

    async def _staff(self) -> None:
        seats = self.settings.seats.names()[: self.agents]
        for i, seat in enumerate(seats, start=1):
            agent = f"demo{i:02d}"
            if self.acd.seat_of_agent(agent) is not None or self.acd.seat_named(seat).agent:
                continue  # restored from the last run
            await self.acd.login(seat, agent, NAMES[(i - 1) % len(NAMES)])
        lawyer_seat = self.settings.seats.names()[self.agents]
        if self.acd.seat_of_agent(LAWYER) is None and not self.acd.seat_named(lawyer_seat).agent:
            await self.acd.login(lawyer_seat, LAWYER, "演示律师", lawyer=True)

    async def _call(self) -> None:
        number = "1" + self.rng.choice("3578") + "".join(self.rng.choice("0123456789") for _ in range(9))
        # The caller stays on the line this long in all (IVR, queue and talk);
        # a short one gives up in the queue.
        stay = self.rng.choice([25, 40, 55, 70, 90]) if self.rng.random() > 0.1 else 12
        dialled = self.rng.choice([self.settings.hotline_number] * 4 + list(self.settings.legacy_numbers))
        try:
            await self.client.action(
                "Originate",
                Channel=f"Local/{dialled}@from-pstn",
                Application="Wait",
                Data=str(stay),
                CallerID=f"<{number}>",
                Async="true",
            )
        except AMIError as exc:
            log.warning("demo caller not placed: %s", exc)
            return
        self.placed += 1
