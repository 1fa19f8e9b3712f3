"""How long a briefing takes and what it costs, on a large city's tickets.

Seeds a database with `--per-day` tickets a day from 1 September to 22
November (contents drawn from a few dozen everyday complaints, one topic
planted in the last week), then makes the last week's briefing, its last
day's and October's, as the schedule would: prints the time of each, the
PDF's size, the peak memory of the child processes (segmentation, PDF) and
the controller process's own growth, and whether the planted topic came
first.

    .venv/bin/python -m bench.briefing [--per-day 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import resource
import tempfile
import time
import zoneinfo

from sqlalchemy import insert

from bench.common import ROOT
from bench.record import record
from hotline.briefings.periods import Kind, containing
from hotline.briefings.service import Briefings
from hotline.configfile import load
from hotline.db.engine import make_engine, sessionmaker
from hotline.db.migrate import upgrade_async
from hotline.db.models import Ticket
from hotline.reports.api import standards_from
from hotline.tickets.categories import CategoryTree

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
EVERYDAY = [
    ("env-noise", "楼下餐馆夜间噪音很大，影响休息"),
    ("env-noise", "工地夜间施工噪音扰民"),
    ("urban-property", "物业不作为，电梯经常故障"),
    ("urban-property", "小区垃圾清运不及时"),
    ("consult-social", "咨询社保卡补办需要哪些材料"),
    ("consult-housing", "咨询公积金贷款额度"),
    ("traffic-bus", "公交车班次太少，早高峰等车时间长"),
    ("traffic-road", "路灯不亮，夜间出行不便"),
    ("labour-wages", "公司拖欠工资三个月"),
    ("labour-insurance", "单位未按时缴纳社保"),
    ("env-air", "餐馆油烟直排，气味刺鼻"),
    ("env-water", "河道有异味，水体发黑"),
    ("market-consumer", "健身房关门跑路，预付卡无法退费"),
    ("market-food", "超市销售过期食品"),
    ("urban-building", "老旧小区外墙脱落"),
    ("urban-works", "道路开挖后未及时恢复"),
]
PLANTED = "共享单车乱停放，堵塞人行道"
ROADS = ["长江路", "黄河路", "淮河路", "珠江路", "松花江路", "汉江路", "幸福路", "和平街"]
DISTRICTS = ["东城区", "西城区", "南城区"]


def kib_to_mb(kib: int) -> float:
    return kib / 1024


async def run(per_day: int) -> None:
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        settings = load(ROOT / "bench" / "hotline-bench.toml", state_dir=f"{tmp}/state")
        await upgrade_async(settings)
        engine = make_engine(settings)
        sessions = sessionmaker(engine)
        week = containing(Kind.WEEKLY, dt.date(2026, 11, 18))
        month = containing(Kind.MONTHLY, dt.date(2026, 10, 15))
        # October's monthly is measured against September; the week against the four weeks before.
        first = min(week.first - dt.timedelta(weeks=4), month.baseline(settings.briefings.baseline_weeks)[0])
        rng = random.Random(7)
        t0 = time.perf_counter()
        n = 0
        day = first
        while day < week.after:
            # A day at a time: the seeding's own memory stays out of the figures below.
            rows = []
            for _ in range(per_day):
                cat, text = rng.choice(EVERYDAY)
                if day >= week.first and rng.random() < 0.02:
                    cat, text = "traffic-road", PLANTED
                at = dt.datetime.combine(day, dt.time(), tzinfo=TZ) + dt.timedelta(seconds=rng.randrange(86400))
                rows.append(
                    {
                        "number": f"B{n:08d}",
                        "created_at": at,
                        "updated_at": at,
                        "channel": "phone",
                        "caller": "13800000000",
                        "category": cat,
                        "district": rng.choice(DISTRICTS),
                        "address": f"{rng.choice(ROADS)}{rng.randrange(1, 300)}号",
                        "content": f"{text}（{rng.choice(ROADS)}附近，第{rng.randrange(1, 99)}次反映）",
                        "status": "closed",
                        "handling": "answered",
                    }
                )
                n += 1
            async with sessions() as db, db.begin():
                await db.execute(insert(Ticket), rows)
            day += dt.timedelta(days=1)
        del rows
        print(
            f"seeded {n} tickets ({per_day} a day for {(week.after - first).days} days) "
            f"in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        now = dt.datetime.combine(week.after, dt.time(7, 30), tzinfo=TZ)
        queue = settings.acd.queue
        svc = Briefings(
            settings,
            sessions,
            lambda: now,
            CategoryTree(settings.tickets),
            lambda start, end: standards_from(sessions, queue, start, end, []),
        )
        own_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        took_ms: dict[str, float] = {}
        for period in (
            containing(Kind.WEEKLY, week.first),
            containing(Kind.DAILY, week.after - dt.timedelta(days=1)),
            month,
        ):
            kind = period.kind
            t0 = time.perf_counter()
            b = await svc.make(period, scheduled=True)
            took = time.perf_counter() - t0
            took_ms[f"{period.kind.value}_ms"] = 1000 * took
            hot = b.data["hot_topics"]
            top = "、".join([hot[0]["term"], *hot[0]["related"]]) + f" ({hot[0]['count']} tickets)" if hot else "-"
            print(
                f"{kind.value:7s} {b.data['volumes']['total']:7d} tickets in the period: made in {took:5.1f} s, "
                f"PDF {len(b.pdf) / 1024:.0f} KiB; first hot topic {top}",
                flush=True,
            )
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"peak memory: the child processes {kib_to_mb(children):.0f} MB; this process "
            f"{kib_to_mb(own_before):.0f} MB after seeding, {kib_to_mb(own):.0f} MB after the briefings"
        )
        record("briefing", {**took_ms, "children_peak_mb": kib_to_mb(children), "own_peak_mb": kib_to_mb(own)})
        await engine.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-day", type=int, default=2000, help="tickets a day")
    a = p.parse_args()
    asyncio.run(run(a.per_day))


if __name__ == "__main__":
    main()
