"""The linked services under load, through the real controller and PBX.

1. 110 → 12345: the 110 simulator pushes signed incidents at a steady rate,
   one in ten sent twice (110 retrying); printed: the push's answer time,
   tickets made against incidents sent (must be equal), and how long until
   110 hears "accepted" back through the outbox.
2. Car moving: calls to a pool number X from owners with a live binding;
   printed: the time from the call entering the PBX to the other party's
   phone ringing (FastAGI lookup + dial), and that nobody's phone shows a
   number but X.

    .venv/bin/python -m bench.linked [--incidents 300] [--rate 10] [--calls 40]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import time

from sqlalchemy import func, select

from bench.common import bench_pbx, controller, percentile
from bench.record import record
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.config import Settings
from hotline.credentials import peer_secret
from hotline.db.models import CarmoveBinding, Ticket
from hotline.police.simulator import SAMPLES, Police110Simulator
from hotline.sim import call_in
from hotline.web.keys import CLOCK, SESSIONS

POOL = [f"0216000{n:04d}" for n in range(1, 9)]


def figures(name: str, values: list[float]) -> str:
    return (
        f"{name}: n={len(values)}  p50 {percentile(values, 50) * 1000:.1f} ms  "
        f"p99 {percentile(values, 99) * 1000:.1f} ms  max {max(values) * 1000:.1f} ms"
    )


async def police(settings: Settings, app: object, incidents: int, rate: float) -> None:
    sim = Police110Simulator(
        peer_secret(settings, "110"),
        f"http://{settings.web.host}:{settings.web.port}",
        receipt_after=0,
        dispatch_after=0,
    )
    await sim.start("127.0.0.1", 28093)
    rng = random.Random(7)
    answered: list[float] = []
    made: dict[str, float] = {}
    try:

        async def push(n: int) -> None:
            code, content, address = SAMPLES[n % len(SAMPLES)]
            no = f"BENCH{n:06d}"
            for _ in range(2 if rng.random() < 0.1 else 1):
                t0 = time.monotonic()
                status, body = await sim.push_incident(
                    no, f"{content}（第 {n} 件）", address=address, category_code=code, caller=f"1380000{n:04d}"
                )
                answered.append(time.monotonic() - t0)
                assert status in (200, 201), (status, body)
                made.setdefault(no, time.monotonic())

        tasks = []
        for n in range(incidents):
            tasks.append(asyncio.ensure_future(push(n)))
            await asyncio.sleep(rng.expovariate(rate))
        await asyncio.gather(*tasks)
        await sim.wait(lambda: len({s["intake_no"] for s in sim.statuses.values()}) >= incidents, timeout=120)
        heard = sim.received_at
        async with app[SESSIONS]() as db:  # type: ignore[index]
            tickets = await db.scalar(select(func.count()).select_from(Ticket).where(Ticket.channel == "110"))
        back = [heard[no] - made[no] for no in made if no in heard]
        print(f"110 incidents sent {incidents} (+{len(answered) - incidents} retried), tickets made {tickets}")
        print(figures("  signed push -> answer", answered))
        print(figures("  ticket made -> 110 heard 'accepted'", back))
        record(
            "linked_110",
            {
                "push_answer_median_ms": 1000 * statistics.median(answered),
                "accepted_back_median_ms": 1000 * statistics.median(back) if back else None,
                "tickets_missing": incidents - int(tickets or 0),
            },
        )
    finally:
        await sim.close()


async def carmove(settings: Settings, app: object, calls: int) -> None:
    ami = AMIClient(settings.ami, event_filters=[])
    rings: list[float] = []
    shown_other = 0
    await ami.start()
    await ami.wait_connected(10)
    try:
        now = app[CLOCK]()  # type: ignore[index]
        pairs = [(f"1370000{n:04d}", f"1390000{n:04d}", POOL[n % len(POOL)]) for n in range(calls)]
        async with app[SESSIONS]() as db, db.begin():  # type: ignore[index]
            for owner, requester, x in pairs:
                db.add(
                    CarmoveBinding(
                        x=x,
                        requester=requester,
                        owner=owner,
                        plate="京A12345",
                        location="幸福路",
                        agent="bench",
                        ticket_number="",
                        state="bridged",
                        created_at=now,
                        expires_at=now + dt.timedelta(minutes=30),
                    )
                )
        ringing: dict[str, float] = {}
        seen: dict[str, str] = {}

        def on_new(e: ev.Newstate) -> None:
            if "@sim-pstn" in e.channel and e.channel.endswith(";2") and e.channel_state_desc == "Up":
                number = e.channel.split("/", 1)[1].split("@", 1)[0]
                ringing.setdefault(number, time.monotonic())
                seen[number] = e.caller_id_num

        ami.on(ev.Newstate, on_new)
        for owner, requester, x in pairs:
            t0 = time.monotonic()
            await call_in(ami, owner, number=x, hold_s=5)
            for _ in range(200):
                if requester in ringing:
                    break
                await asyncio.sleep(0.01)
            if requester in ringing:
                rings.append(ringing[requester] - t0)
                shown_other += seen[requester] != x
            await ami.action("Hangup", Channel=f"/^Local.{x}@from-pstn/")
            await asyncio.sleep(0.2)
        print(
            f"car moving: {len(rings)}/{calls} calls to X reached the other party; shown a number other "
            f"than X: {shown_other}"
        )
        print(figures("  call to X -> the other party's phone answered", rings))
        record(
            "linked_carmove",
            {
                "answered_median_ms": 1000 * statistics.median(rings) if rings else None,
                "unreached": calls - len(rings),
                "shown_other": shown_other,
            },
        )
    finally:
        await ami.close()


async def run(settings: Settings, incidents: int, rate: float, calls: int) -> None:
    async with controller(settings) as app:
        await police(settings, app, incidents, rate)
        await carmove(settings, app, calls)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--incidents", type=int, default=300)
    p.add_argument("--rate", type=float, default=10.0, help="incidents a second")
    p.add_argument("--calls", type=int, default=40)
    a = p.parse_args()
    with bench_pbx(
        seats={"phones": "simulated"},
        police={"url": "http://127.0.0.1:28093", "retry_initial": 0.2, "retry_max": 1.0},
        carmove={"pool": POOL},
    ) as (settings, _pbx):
        asyncio.run(run(settings, a.incidents, a.rate, a.calls))


if __name__ == "__main__":
    main()
