"""Five weeks of tickets with known answers, for the briefing tests (the
unit tests count them, the integration test stores them and asks the
controller): the weekly briefing of 16-22 November 2026 must find the
planted shared-bike topic, the repeated noise at 长江路88号, and the
departments' record set out below."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
WEEK_FIRST = dt.date(2026, 11, 16)  # Monday
WEEK_AFTER = dt.date(2026, 11, 23)
BASE_FIRST = WEEK_FIRST - dt.timedelta(weeks=4)
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=TZ)  # the integration controller's clock

# What people ring about every day (category, district, road, content).
ROUTINE = [
    ("env-noise", "东城区", "长江路", "楼下餐馆夜间噪音很大，影响休息"),
    ("urban-property", "西城区", "黄河路", "物业不作为，电梯经常故障"),
    ("consult-social", "南城区", "淮河路", "咨询社保卡补办需要哪些材料"),
    ("traffic-bus", "南城区", "珠江路", "公交车班次太少，早高峰等车时间长"),
    ("labour-wages", "东城区", "松花江路", "公司拖欠工资三个月"),
    ("env-air", "西城区", "汉江路", "餐馆油烟直排，气味刺鼻"),
]
# Planted in the week only: eight reports of shared bikes.
BIKES = [
    "小区门口共享单车乱停放",
    "共享单车堆满人行道，老人无法通行",
    "地铁站出口共享单车太多，堵塞盲道",
    "共享单车停在消防通道上",
    "学校门口共享单车挡住大门",
    "公交站台被共享单车占满",
    "共享单车倒在路边无人清理",
    "商场门前共享单车摆放混乱",
]
REPEAT_PLACE = "长江路88号"
TYPED_AFTER = "联系电话13987654321,王建国家门口"


@dataclass
class Seeded:
    tickets: list[dict[str, object]] = field(default_factory=list)
    # (ticket index, action, the acting unit's code, when)
    events: list[tuple[int, str, str, dt.datetime]] = field(default_factory=list)
    bikes: list[str] = field(default_factory=list)  # ticket numbers
    repeats: list[str] = field(default_factory=list)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)


def month() -> Seeded:
    s = Seeded()

    def add(
        number: str, created: dt.datetime, category: str, district: str, address: str, content: str, **extra: object
    ) -> int:
        row: dict[str, object] = {
            "number": number,
            "created_at": created,
            "updated_at": created,
            "channel": "phone",
            "caller": "13912345678",
            "caller_name": "王小明",
            "category": category,
            "district": district,
            "address": address,
            "content": content,
            "status": "closed",
            "handling": "answered",
            "department": "",
        }
        row.update(extra)
        s.tickets.append(row)
        return len(s.tickets) - 1

    day = BASE_FIRST
    n = 0
    while day < WEEK_AFTER:
        for k in range(3):  # three routine calls a day, the topics in turn
            cat, district, road, content = ROUTINE[n % len(ROUTINE)]
            add(
                f"R{n:05d}",
                _at(day, 9 + 2 * k),
                cat,
                district,
                f"{road}{n % 50 + 1}号",
                content,
                channel="web" if n % 5 == 0 else "phone",
            )
            n += 1
        day += dt.timedelta(days=1)
    for i, text in enumerate(BIKES):
        number = f"B{i:05d}"
        add(
            number,
            _at(WEEK_FIRST + dt.timedelta(days=i % 7), 14),
            "traffic-road",
            "南城区",
            f"淮河路{200 + i}号",
            text,
            status="dispatched",
            handling="dispatched",
            department="jtw",
            deadline_at=_at(dt.date(2026, 11, 30), 9),
        )
        s.bikes.append(number)
    # 长江路88号, noise: twice in the weeks before, twice in the week.
    for i, when in enumerate(
        (
            _at(BASE_FIRST + dt.timedelta(days=3), 21),
            _at(BASE_FIRST + dt.timedelta(days=17), 22),
            _at(WEEK_FIRST + dt.timedelta(days=1), 23),
            _at(WEEK_FIRST + dt.timedelta(days=4), 22),
        )
    ):
        number = f"N{i:05d}"
        # One as an agent typed it, a phone and a name after the place: the
        # same place, and neither may reach a leader.
        address = REPEAT_PLACE if i != 3 else f"{REPEAT_PLACE},{TYPED_AFTER}"
        add(number, when, "env-noise", "东城区", address, "楼下餐馆夜间噪音很大，影响休息")
        s.repeats.append(number)
    # 市生态环境局 in the week: five due (three answered in time, one late,
    # one overdue unanswered), two scored when closed (one satisfied), one
    # sent again after a dissatisfied revisit.
    mon = WEEK_FIRST
    due = [
        (_at(mon, 9), _at(mon + dt.timedelta(days=2), 9), _at(mon + dt.timedelta(days=1), 9)),
        (_at(mon, 10), _at(mon + dt.timedelta(days=2), 10), _at(mon + dt.timedelta(days=2), 9)),
        (_at(mon, 11), _at(mon + dt.timedelta(days=3), 11), _at(mon + dt.timedelta(days=1), 15)),
        (_at(mon, 12), _at(mon + dt.timedelta(days=2), 12), _at(mon + dt.timedelta(days=4), 12)),
        (_at(mon, 13), _at(mon + dt.timedelta(days=3), 13), None),
    ]
    for i, (made, deadline, answered) in enumerate(due):
        add(
            f"S{i:05d}",
            made,
            "env-air",
            "西城区",
            f"汉江路{300 + i}号",
            "工厂排放黑烟",
            status="feedback" if answered else "dispatched",
            handling="dispatched",
            department="sthj",
            deadline_at=deadline,
            feedback_at=answered,
            redispatches=1 if i == 2 else 0,
        )
    for i, score in enumerate((2, 4)):
        add(
            f"C{i:05d}",
            _at(mon - dt.timedelta(days=6), 9),
            "env-air",
            "西城区",
            f"汉江路{400 + i}号",
            "工厂排放黑烟",
            status="closed",
            handling="dispatched",
            department="sthj",
            deadline_at=_at(mon - dt.timedelta(days=1), 9),
            feedback_at=_at(mon - dt.timedelta(days=2), 9),
            closed_at=_at(mon + dt.timedelta(days=2), 16),
            satisfaction=score,
        )
    # 市交通委 sent two tickets back in the week.
    for i in range(2):
        k = add(
            f"T{i:05d}",
            _at(mon + dt.timedelta(days=2), 9),
            "traffic-bus",
            "南城区",
            f"珠江路{500 + i}号",
            "公交车站牌信息错误",
            status="returned",
            handling="dispatched",
        )
        s.events.append((k, "return", "jtw", _at(mon + dt.timedelta(days=3), 10)))
    return s


# The answers.
SATISFIED_STHJ = 0.5
ON_TIME_STHJ = (5, 3, 2)  # due, on time, late
RETURNS_JTW = 2
