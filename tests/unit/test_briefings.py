"""Briefings' pure parts: periods and the schedule, the spike test, the
segmenter, and the counts on a month with known answers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.briefings import compose
from hotline.briefings.periods import Kind, Period, containing, due, last_complete, next_run
from hotline.briefings.topics import Segmenter, hot_topics, poisson_tail
from hotline.config import Settings
from hotline.tickets.categories import CategoryTree
from tests import briefing_month as bm

AT = dt.time(7, 30)


def test_periods_run_monday_to_sunday_and_calendar_months() -> None:
    wed = dt.date(2026, 11, 25)
    assert containing(Kind.WEEKLY, wed) == Period(Kind.WEEKLY, dt.date(2026, 11, 23), dt.date(2026, 11, 30))
    assert containing(Kind.MONTHLY, dt.date(2026, 12, 31)) == Period(
        Kind.MONTHLY, dt.date(2026, 12, 1), dt.date(2027, 1, 1)
    )
    assert containing(Kind.MONTHLY, dt.date(2028, 2, 10)).days == 29
    assert last_complete(Kind.MONTHLY, dt.datetime(2026, 11, 1, 0, 5)).first == dt.date(2026, 10, 1)
    assert Period(Kind.WEEKLY, dt.date(2026, 11, 16), dt.date(2026, 11, 23)).title == "2026年11月16日至11月22日"
    assert containing(Kind.WEEKLY, wed).baseline(4) == (dt.date(2026, 10, 26), dt.date(2026, 11, 23))
    assert containing(Kind.MONTHLY, wed).baseline(8) == (dt.date(2026, 9, 1), dt.date(2026, 11, 1))


def test_the_schedule_makes_each_briefing_once_its_hour_has_come() -> None:
    monday_early = dt.datetime(2026, 11, 23, 7, 29)
    assert [p.key for p in due(monday_early, AT)] == ["daily:2026-11-21", "weekly:2026-11-09", "monthly:2026-10-01"]
    monday = dt.datetime(2026, 11, 23, 7, 30)
    assert [p.key for p in due(monday, AT)] == ["daily:2026-11-22", "weekly:2026-11-16", "monthly:2026-10-01"]
    assert next_run(monday_early, AT) == monday
    assert next_run(monday, AT) == dt.datetime(2026, 11, 24, 7, 30)
    # The last day of a month: the daily tomorrow morning comes first, with the monthly.
    assert next_run(dt.datetime(2026, 11, 30, 12, 0), AT) == dt.datetime(2026, 12, 1, 7, 30)


def test_poisson_tail_matches_hand_figures_and_survives_large_means() -> None:
    assert poisson_tail(3, 0.5) == pytest.approx(1 - math.exp(-0.5) * (1 + 0.5 + 0.125))
    assert poisson_tail(0, 3.0) == 1.0 and poisson_tail(1, 0.0) == 0.0
    assert 0.4 < poisson_tail(800, 800) < 0.6  # exp(-800) alone would underflow
    assert poisson_tail(1000, 800) < 1e-10


def _terms(*words: str) -> set[str]:
    return set(words)


def test_a_term_is_hot_when_its_share_rises_not_when_the_volume_does() -> None:
    baseline = [_terms("噪音")] * 40 + [_terms("供暖")] * 40 + [_terms("物业")] * 120
    # The period doubles every usual topic's count (twice the calls) and
    # brings a new one.
    period = {i: _terms("噪音") for i in range(8)}
    period.update({100 + i: _terms("供暖") for i in range(8)})
    period.update({200 + i: _terms("物业") for i in range(24)})
    period.update({300 + i: _terms("共享单车", "盲道", "单车") for i in range(6)})
    period.update({400 + i: _terms("井盖") for i in range(2)})  # new but too few
    topics = hot_topics(period, baseline, min_tickets=3, ratio=2.0)
    assert [t.term for t in topics] == ["共享单车"]
    assert topics[0].related == ["盲道"] and topics[0].tickets == tuple(range(300, 306))
    # A usual topic that trebles its share is hot too.
    period.update({500 + i: _terms("供暖") for i in range(20)})
    assert {t.term for t in hot_topics(period, baseline)} == {"共享单车", "供暖"}


def test_the_segmenter_child_reads_a_ticket_a_line_and_finds_the_planted_topic(tmp_path: Path) -> None:
    # As the controller feeds it: the options, the period's tickets, then the baseline's.
    lines = [{"extra_words": ["幸福里小区"], "cache_dir": str(tmp_path), "min_tickets": 3, "ratio": 2.0, "limit": 5}]
    lines += [["p", i, "幸福里小区门口共享单车乱停放，堵塞盲道"] for i in range(1, 7)]
    lines += [["p", 10 + i, "楼下餐馆夜间噪音扰民\n影响休息"] for i in range(4)]
    lines += [["b", 100 + i, "楼下餐馆夜间噪音扰民，影响休息"] for i in range(60)]
    stdin = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()
    done = subprocess.run(
        [sys.executable, "-m", "hotline.briefings.topics"], input=stdin, capture_output=True, timeout=120, check=True
    )
    topics = json.loads(done.stdout)["topics"]
    assert len(topics) == 1, topics
    assert "共享单车" in [topics[0]["term"], *topics[0]["related"]] and topics[0]["tickets"] == [1, 2, 3, 4, 5, 6]
    # No baseline (a hotline's first days): it answers, and six tickets alone have not risen above anything.
    only = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines[:7]).encode()
    done = subprocess.run(
        [sys.executable, "-m", "hotline.briefings.topics"], input=only, capture_output=True, timeout=120, check=True
    )
    assert json.loads(done.stdout) == {"topics": []}


def test_the_segmenter_keeps_phrases_and_city_words_and_drops_filler() -> None:
    seg = Segmenter(["幸福里小区"])
    terms = seg.terms("市民来电反映幸福里小区工地夜间施工噪音扰民，希望相关部门尽快处理")
    assert {"幸福里小区", "施工", "噪音", "施工噪音", "噪音扰民"} <= terms
    assert not terms & {"市民", "来电", "反映", "希望", "相关", "部门"}
    assert "共享单车" in seg.terms("地铁站出口共享单车太多")


@pytest.fixture(scope="module")
def month() -> tuple[bm.Seeded, list[compose.TicketFact], CategoryTree]:
    seeded = bm.month()
    facts = []
    for i, row in enumerate(seeded.tickets):
        facts.append(
            compose.TicketFact(
                id=i,
                number=str(row["number"]),
                created_at=row["created_at"],
                channel=str(row["channel"]),  # type: ignore[arg-type]
                category=str(row["category"]),
                district=str(row["district"]),
                address=str(row["address"]),
                department=str(row["department"]),
                status=str(row["status"]),
                deadline_at=row.get("deadline_at"),  # type: ignore[arg-type]
                feedback_at=row.get("feedback_at"),
                closed_at=row.get("closed_at"),  # type: ignore[arg-type]
                satisfaction=row.get("satisfaction"),
                redispatches=int(row.get("redispatches", 0)),
            )
        )  # type: ignore[arg-type]
    return seeded, facts, CategoryTree(Settings().tickets)


def _bounds() -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime.combine(bm.WEEK_FIRST, dt.time(), tzinfo=bm.TZ),
        dt.datetime.combine(bm.WEEK_AFTER, dt.time(), tzinfo=bm.TZ),
    )


def test_the_seeded_weeks_volumes_repeats_and_departments(
    month: tuple[bm.Seeded, list[compose.TicketFact], CategoryTree],
) -> None:
    seeded, facts, tree = month
    start, end = _bounds()
    week = [f for f in facts if start <= f.created_at < end]
    v = compose.volumes(week, tree, previous_total=21)
    assert v["total"] == 38 and v["previous_total"] == 21
    assert {r["label"]: r["count"] for r in v["departments"]} == {"市交通委": 8, "市生态环境局": 5}
    assert v["categories"][0]["label"] == "生态环境"  # 7 routine + 2 at 长江路88号 + 5 smoke
    assert sum(r["count"] for r in v["channels"]) == 38
    reps, total = compose.repeats(facts, {f.id for f in week}, 3, tree, bm.TZ)
    assert total == 1
    assert [(r["place"], r["category"], r["count"]) for r in reps] == [("长江路**号", "生态环境 / 噪音污染", 4)]
    assert [t["number"] for t in reps[0]["tickets"]] == seeded.repeats
    touched = [f for f in facts if f.created_at < start and f.closed_at is not None and f.closed_at >= start]
    depts = {d["code"]: d for d in compose.departments([*week, *touched], ["jtw", "jtw"], start, end, bm.NOW, tree)}
    sthj = depts["sthj"]
    assert (sthj["due"], sthj["on_time"], sthj["late"]) == bm.ON_TIME_STHJ
    assert sthj["on_time_rate"] == 0.6 and sthj["satisfaction_rate"] == bm.SATISFIED_STHJ
    assert sthj["redispatches"] == 1 and sthj["scores"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 0}
    assert depts["jtw"]["returns"] == bm.RETURNS_JTW and depts["jtw"]["on_time_rate"] is None


def test_nothing_personal_reaches_a_briefing_row(
    month: tuple[bm.Seeded, list[compose.TicketFact], CategoryTree],
) -> None:
    _, facts, tree = month
    row = compose.brief_row(facts[0], tree, bm.TZ)
    assert set(row) == {"number", "day", "category", "district", "place", "department", "status"}
    assert compose.mask_place("幸福里小区3栋2单元501室") == "幸福里小区*栋*单元**室"
    assert compose.mask_place("和平路十二号") == "和平路**号"


def test_a_large_topic_lists_thirty_tickets_and_counts_the_rest() -> None:
    from hotline.briefings import render

    rows = [
        {
            "number": f"2026111600{i:04d}",
            "day": "11-16",
            "category": "交通出行 / 道路设施",
            "district": "南城区",
            "place": "淮河路**号",
            "department": "市交通委",
            "status": "已派单",
        }
        for i in range(40)
    ]
    b = {
        "kind": "weekly",
        "kind_text": "周报",
        "title": "2026年11月16日至11月22日",
        "until": None,
        "generated_text": "2026-11-23 07:30",
        "volumes": {
            "total": 40,
            "previous_total": 0,
            "channels": [],
            "categories": [],
            "districts": [],
            "departments": [],
        },
        "hot_topics": [
            {"term": "共享单车", "count": 40, "expected": 1.0, "ratio": 40.0, "related": [], "tickets": rows}
        ],
        "repeats": [],
        "repeats_total": 0,
        "departments": [],
        "hotline": {"offered": 0, "answered": 0, "figures": []},
        "settings": {"baseline_text": "4 周", "hot_min_tickets": 3, "hot_ratio": 2.0, "repeat_min": 3},
    }
    html = render.html(b, links=False, nav=False)
    assert html.count("2026111600") == 30 and "另有 10 件未列出" in html
    assert "/tickets#" not in html and "简报档案" not in html
    linked = render.html({**b, "id": 7}, links=True, nav=True)
    assert 'href="/tickets#20261116000000"' in linked and 'href="/briefings/7/pdf"' in linked


def test_only_the_most_repeated_places_are_listed_and_all_are_counted(
    month: tuple[bm.Seeded, list[compose.TicketFact], CategoryTree],
) -> None:
    _, facts, tree = month
    base = facts[0]
    many = [
        dataclasses.replace(base, id=10_000 + i, number=f"X{i}", address=road, category="env-noise")
        for i, road in enumerate(["滨河路1号"] * 4 + ["滨河路2号"] * 3)
    ]
    listed, total = compose.repeats(many, {f.id for f in many}, 3, tree, bm.TZ, listed=1)
    assert total == 2 and [(r["place"], r["count"]) for r in listed] == [("滨河路*号", 4)]


def test_a_briefings_place_names_only_roads_and_compounds_never_a_phone_or_a_name() -> None:
    """Before: 幸福路**号,联系电话13912345678,王建国家门口 went to leaders as typed."""
    typed = "幸福路12号,联系电话13912345678,王建国家门口"
    assert compose.mask_place(typed) == "幸福路**号"
    assert compose.mask_place("朝阳区幸福路12号 王建国 13912345678") == "朝阳区幸福路**号"
    assert compose.mask_place("幸福路12号王建国13912345678") == "幸福路**号"
    assert compose.mask_place("王建国13912345678") == "（地址未识别）"
    assert compose.mask_place("13912345678") == "（地址未识别）"
    assert compose.mask_place("长江路8号院3号楼") == "长江路*号院*号楼"
    for text in (typed, "幸福路1234567号", "和平路0101234567"):
        assert not re.search(r"[0-9]{3,}", compose.mask_place(text))
    assert compose.place_key(typed) == compose.place_key("幸福路１２号。")
    assert compose.mask_place("幸福路12号李园") == "幸福路**号"  # a name after the number is not a place
    assert compose.mask_place("长江路8号幸福小区3栋") == "长江路*号幸福小区*栋"
