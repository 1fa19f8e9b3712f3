"""The work queue under a day's non-voice load, through the real controller.

A controller process (the same `hotline serve` an operator runs) with the
bundled PBX; 20 agents logged in, all off the phone lines (ticket work),
each with the desk's websocket open; channel tickets arrive from a gateway
at a Poisson rate (default 2,000 over 10 minutes). A simulated agent
accepts an offer after a human pause, works it for a while and answers the
ticket; some let an offer lapse. Printed: offer latency (gateway's 201 ->
the offer on the agent's websocket), items handled within their deadline,
items lost, and the controller's CPU.

    .venv/bin/python -m bench.work_queue [--items 2000] [--minutes 10] [--agents 20] [--pg-port 25432]

With --pg-port the controller keeps its data in a private PostgreSQL server
(the tests' helper) instead of SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bench.common import bench_pbx, percentile, wait_up
from bench.record import record
from hotline import accounts
from hotline.config import Settings
from hotline.credentials import ensure_secrets
from hotline.db.engine import make_engine, sessionmaker
from hotline.db.models import Ticket, WorkItem
from hotline.roles import Role
from tests.pg import PostgresServer

FORM = {"category": "env-noise", "district": "东城区"}
# Different citizens write about different things; one in 20 repeats an
# earlier request (same caller and address): a suspected duplicate to check.
PLACES = ["幸福路", "和平路", "建设路", "人民路", "解放路", "中山路", "新华街", "胜利街"]
MATTERS = [
    "夜间施工噪音",
    "餐馆油烟扰民",
    "路灯不亮",
    "井盖缺失",
    "占道经营",
    "小区停水",
    "垃圾清运不及时",
    "违章停车堵路",
    "广场舞音响太响",
    "公交站台破损",
]


def request(n: int, rng: random.Random) -> dict[str, str]:
    m = rng.randrange(n) if n and rng.random() < 0.05 else n
    r = random.Random(m)
    return {
        **FORM,
        "caller": f"139{m:08d}",
        "address": f"{r.choice(PLACES)}{m % 300 + 1}号",
        "content": f"{r.choice(PLACES)}{m % 300 + 1}号附近{r.choice(MATTERS)}，已经持续{m % 9 + 2}天",
    }


CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime + stime


class Agent:
    def __init__(self, url: str, username: str, password: str, seat: str, rng: random.Random, address: str):
        self.url, self.username, self.password, self.seat, self.rng = url, username, password, seat, rng
        # Each agent from a loopback address of their own, as from their own
        # PC: the login throttle counts per address.
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), connector=aiohttp.TCPConnector(local_addr=(address, 0))
        )
        self.offers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.seen: set[int] = set()
        # When this agent was last free for an offer (None: an offer of theirs
        # is lapsing, so the time they could take the next is not known).
        self.free_at: float | None = time.monotonic()

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        async with self.http.request(method, self.url + path, json=(body or {}) if method != "GET" else None) as resp:
            return resp.status, await resp.json()

    async def start(self) -> None:
        assert (await self.call("POST", "api/login", {"username": self.username, "password": self.password}))[0] == 200
        assert (await self.call("POST", "api/agent/login", {"seat": self.seat, "ready": True}))[0] == 200

    async def read(self, first_offer: dict[str, tuple[float, float | None]]) -> None:
        async with self.http.ws_connect(self.url + "ws/desk", origin=self.url.rstrip("/")) as ws:
            async for msg in ws:
                frame = json.loads(msg.data)
                if frame.get("type") != "work":
                    continue
                for it in frame["items"]:
                    if it["state"] == "offered" and it["id"] not in self.seen:
                        self.seen.add(it["id"])
                        if it["kind"] == "intake":
                            first_offer.setdefault(it["ticket"], (time.monotonic(), self.free_at))
                        await self.offers.put(it)

    async def work(self, lapse_share: float) -> None:
        while True:
            it = await self.offers.get()
            if self.rng.random() < lapse_share:
                self.free_at = None
                continue  # looks away: the offer lapses and goes to the next agent
            await asyncio.sleep(self.rng.uniform(0.2, 2.0))  # reads the offer
            status, _ = await self.call("POST", f"api/work/{it['id']}/accept")
            if status != 200:
                continue
            await asyncio.sleep(min(15.0, self.rng.expovariate(1 / 3.0)))  # writes the reply, checks
            # Free from the moment the answer is sent: the controller may offer
            # the next item before this request's own response comes back.
            self.free_at = time.monotonic()
            if it["kind"] == "intake":
                await self.call(
                    "POST",
                    f"api/tickets/{it['ticket']}/submit",
                    {**FORM, "content": "已核实", "handling": "answered", "answer": "已转告城管夜间巡查。"},
                )
            elif it["kind"] == "duplicate":
                await self.call("POST", f"api/work/{it['id']}/result", {"outcome": "not-duplicate"})
            else:
                await self.call("POST", f"api/work/{it['id']}/hand-back", {"reason": "bench"})


async def run(settings: Settings, items: int, minutes: float, agents: int, lapse_share: float) -> None:
    url = f"http://{settings.web.host}:{settings.web.port}/"
    token = ensure_secrets(settings)["gateway_tokens"]["app"]
    env = {
        **os.environ,
        **({"HOTLINE_DATABASE__URL": settings.database.url} if settings.database.url else {}),
        "HOTLINE_STATE_DIR": str(settings.state_dir),
        "HOTLINE_PBX__ROOTFS": str(settings.pbx.rootfs),
        "HOTLINE_PBX__INSTANCE_DIR": str(settings.pbx.instance_dir),
        "HOTLINE_AMI__SECRET": settings.ami.secret,
        "HOTLINE_SEATS__PHONES": "simulated",
        "HOTLINE_WORK__OFFER_SECONDS": "10",
    }
    log = open(settings.state_dir / "serve.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotline", "--config", str(Path(__file__).parent / "hotline-bench.toml"), "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    engine = make_engine(settings)
    people: list[Agent] = []
    try:
        await wait_up(url)
        async with aiohttp.ClientSession() as http:
            rng = random.Random(12345)
            async with sessionmaker(engine)() as db, db.begin():
                _, lead_pw = await accounts.create_user(db, "lead", "lead", [Role.LEAD])
                for i in range(1, agents + 1):
                    _, pw = await accounts.create_user(db, f"agent{i:02d}", f"坐席{i}", [Role.AGENT])
                    people.append(
                        Agent(
                            url, f"agent{i:02d}", pw, f"seat{i:02d}", random.Random(rng.random()), f"127.0.0.{10 + i}"
                        )
                    )
            lead = Agent(url, "lead", lead_pw, "", rng, "127.0.0.10")
            assert (await lead.call("POST", "api/login", {"username": "lead", "password": lead_pw}))[0] == 200
            assert (await lead.call("PUT", "api/acd/lines", {"count": 0}))[0] == 200  # everyone on ticket work
            for a in people:
                await a.start()
            sent: dict[str, float] = {}  # ticket -> when the gateway began to send it
            # ticket -> (when an agent's desk first saw it offered, since when that agent was free)
            first_offer: dict[str, tuple[float, float | None]] = {}
            lags: list[float] = []

            async def lag() -> None:  # this process's own event-loop lag: it inflates what it measures
                while True:
                    t = time.monotonic()
                    await asyncio.sleep(0.02)
                    lags.append(time.monotonic() - t - 0.02)

            tasks = [asyncio.ensure_future(a.read(first_offer)) for a in people]
            tasks.append(asyncio.ensure_future(lag()))
            tasks += [asyncio.ensure_future(a.work(lapse_share)) for a in people]
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            rate = items / (minutes * 60)
            created = 0
            for n in range(items):
                await asyncio.sleep(rng.expovariate(rate))
                t_send = time.monotonic()
                async with http.post(
                    url + "api/channels/tickets", json=request(n, rng), headers={"Authorization": f"Bearer {token}"}
                ) as resp:
                    if resp.status == 201:
                        sent[(await resp.json())["number"]] = t_send
                        created += 1
            arrived_s = time.monotonic() - t0
            # Let the floor finish what is waiting (bounded).
            async with sessionmaker(engine)() as db:
                for _ in range(240):
                    open_items = await db.scalar(
                        select(func.count()).select_from(WorkItem).where(WorkItem.state != "done")
                    )
                    if not open_items:
                        break
                    await asyncio.sleep(0.5)
            wall = time.monotonic() - t0
            # Dispatch latency: from the moment the item and a free agent were
            # both there to the offer on that agent's desk. Queue wait: from
            # sending to the offer, including time with every agent busy.
            waits = [first_offer[n][0] - t for n, t in sent.items() if n in first_offer]
            latencies = [
                first_offer[n][0] - max(t, first_offer[n][1] or 0.0)
                for n, t in sent.items()
                if n in first_offer and first_offer[n][1] is not None
            ]
            cpu = cpu_seconds(proc.pid) - cpu0
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            async with lead.http.get(url + "metrics") as resp:
                inside = {
                    line.split('"')[1]: float(line.rsplit(" ", 1)[1])
                    for line in (await resp.text()).splitlines()
                    if line.startswith("hotline_work_offer_latency_seconds{")
                }
            await lead.http.close()
        async with sessionmaker(engine)() as db:
            numbers = set((await db.scalars(select(Ticket.number))).all())
            rows = (
                await db.execute(select(WorkItem.kind, WorkItem.ref, WorkItem.state, WorkItem.done_at, WorkItem.due_at))
            ).all()
        done = [r for r in rows if r.state == "done"]
        within = sum(1 for r in done if r.done_at <= r.due_at)
        intake = {r.ref for r in rows if r.kind == "intake"}
        kinds = {k: sum(1 for r in rows if r.kind == k) for k in sorted({r.kind for r in rows})}
        print(
            f"work queue: {created} items over {arrived_s / 60:.1f} min to {agents} agents in ticket work "
            f"({lapse_share:.0%} of offers left to lapse)"
        )
        print(
            f"  offer latency end to end (item sent, or the agent's answer sent, -> offer on the agent's websocket): "
            f"p50 {1000 * percentile(latencies, 50):.1f} ms  p99 {1000 * percentile(latencies, 99):.1f} ms  "
            f"max {1000 * max(latencies):.1f} ms  ({len(latencies)} first offers)"
        )
        print(
            f"  the benchmark's own loop lag (inflates the figure above): p50 {1000 * percentile(lags, 50):.1f} ms"
            f"  p99 {1000 * percentile(lags, 99):.1f} ms"
        )
        print(
            f"  inside the controller (item and a free agent both there -> offer written, last 2,000): "
            f"p50 {1000 * inside.get('0.5', float('nan')):.1f} ms  p99 {1000 * inside.get('0.99', float('nan')):.1f} ms"
        )
        print(
            f"  queue wait (gateway sends -> first offer, all agents busy included): "
            f"p50 {percentile(waits, 50):.2f} s  p99 {percentile(waits, 99):.2f} s"
        )
        print(
            f"  items {kinds}; handled {len(done)} / {len(rows)}, within deadline {within} "
            f"({100 * within / max(1, len(done)):.1f} %)"
        )
        print(
            f"  lost: {len(numbers - intake)} tickets without an item, {len(rows) - len(done)} items still open, "
            f"{created - len(numbers & set(sent))} acknowledged tickets missing"
        )
        print(f"  controller CPU: {cpu:.1f} s over {wall:.0f} s = {100 * cpu / wall:.1f} % of one core")
        record(
            "work_queue",
            {
                "offer_inside_p50_ms": 1000 * inside.get("0.5", float("nan")),
                "offer_inside_p99_ms": 1000 * inside.get("0.99", float("nan")),
                "offer_end_to_end_p99_ms": 1000 * percentile(latencies, 99),
                "within_deadline_share": within / max(1, len(done)),
                "controller_ms_per_item": 1000 * cpu / max(created, 1),
                "lost": len(numbers - intake) + len(rows) - len(done) + created - len(numbers & set(sent)),
            },
            higher_is_better=["within_deadline_share"],
        )
    finally:
        for a in people:
            await a.http.close()
        await engine.dispose()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--items", type=int, default=2000)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--agents", type=int, default=20)
    p.add_argument("--lapse", type=float, default=0.05, help="share of offers an agent lets lapse")
    p.add_argument("--pg-port", type=int, default=0, help="run on a private PostgreSQL server on this port")
    args = p.parse_args()
    if not 1 <= args.agents <= 26 or not 1 <= args.items <= 20_000 or not 0 < args.minutes <= 60:
        raise SystemExit("agents 1-26, items 1-20000, minutes up to 60")
    pg = PostgresServer(args.pg_port) if args.pg_port else None
    database: dict[str, str] = {}
    if pg is not None:
        if not pg.available:
            raise SystemExit("PostgreSQL is not installed")
        pg.start()
        database["url"] = asyncio.run(pg.new_database())
    try:
        with bench_pbx(seats={"phones": "simulated"}, database=database) as (settings, _pbx):
            print(f"database: {'PostgreSQL' if pg else 'SQLite'}")
            asyncio.run(run(settings, args.items, args.minutes, args.agents, args.lapse))
    finally:
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
