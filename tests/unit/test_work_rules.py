"""The work queue's rules without a PBX or a database: who is offered what,
lapsed offers, parking, deadlines, duplicates, figures, rate limits."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import replace

import pytest

from hotline.acd import lines as ln
from hotline.channels.delivery import next_wait
from hotline.config import ChannelGateway, IvrSettings, Settings, WorkSettings
from hotline.ivr.schedule import Calendar
from hotline.seats import state as st
from hotline.tickets.duplicates import Probe, compare, similarity
from hotline.web.throttle import RateLimit
from hotline.work import board
from hotline.work.board import Item, State, Worker
from hotline.work.figures import compute
from hotline.work.policy import WorkPolicy

SH = zoneinfo.ZoneInfo("Asia/Shanghai")


def item(
    i: int, kind: str = "intake", priority: int = 1, due: float = 1000.0, created: float = 0.0, **kw: object
) -> Item:
    return Item(id=i, kind=kind, priority=priority, due_at=due, created_at=created, **kw)  # type: ignore[arg-type]


def worker(agent: str, since: float = 0.0, skills: frozenset[str] = frozenset()) -> Worker:
    return Worker(agent, f"seat-{agent}", since, skills)


def test_items_go_by_priority_then_deadline_one_per_agent_longest_free_first() -> None:
    items = [
        item(1, "review", priority=4, due=100),
        item(2, due=500),
        item(3, due=200),
        item(4, due=50, not_before=999.0),
    ]  # not due yet
    offers = board.plan(items, [worker("b", since=5), worker("a", since=1)], per_agent=1, offer_seconds=30, now=10)
    assert [(o.item, o.agent, o.until) for o in offers] == [(3, "b", 40), (2, "a", 40)]


def test_an_agent_holds_at_most_per_agent_items() -> None:
    items = [replace(item(1), state=State.ACCEPTED, agent="a"), item(2), item(3)]
    assert board.plan(items, [worker("a")], per_agent=1, offer_seconds=30, now=0) == []
    assert [o.item for o in board.plan(items, [worker("a")], per_agent=2, offer_seconds=30, now=0)] == [2]


def test_skills_decide_who_may_take_an_item() -> None:
    items = [item(1, skill="涉企"), item(2)]
    offers = board.plan(items, [worker("plain", 0), worker("biz", 1, frozenset({"涉企"}))], 1, 30, 0)
    assert {(o.item, o.agent) for o in offers} == {(1, "biz"), (2, "plain")}
    # Nobody with the skill: the item waits, the others still flow.
    assert [(o.item, o.agent) for o in board.plan(items, [worker("plain")], 1, 30, 0)] == [(2, "plain")]


def test_a_lapsed_offer_goes_to_the_next_agent_and_back_only_when_nobody_else_can() -> None:
    offered = board.offered(item(1), board.Offer(1, "a", 30.0), now=0.0)
    assert board.lapsed([offered], now=29.9) == []
    [late] = board.lapsed([offered], now=30.0)
    back = board.declined(late)
    assert back.state == State.WAITING and back.declined == {"a"}
    assert [o.agent for o in board.plan([back], [worker("a", 0), worker("b", 5)], 1, 30, 31)] == ["b"]
    # Only "a" is free: it goes round again rather than wait for ever.
    assert [o.agent for o in board.plan([back], [worker("a")], 1, 30, 31)] == ["a"]


def test_items_of_agents_who_leave_work_are_withdrawn_or_parked_and_keep_their_place() -> None:
    held = replace(item(1, due=100), state=State.ACCEPTED, agent="a", accepted_at=5.0)
    offered = replace(item(2, due=200), state=State.OFFERED, agent="b", offer_until=40.0)
    gone = board.displaced([held, offered, item(3)], [worker("c")])
    assert {i.id for i in gone} == {1, 2}
    parked = board.released(held, parked=True)
    assert parked.state == State.WAITING and parked.parked and parked.agent == ""
    assert parked.order() == held.order()  # first in line again
    assert board.plan([item(9, due=150), parked], [worker("c")], 1, 30, 50)[0].item == 1


def test_workers_are_agents_off_the_lines_not_paused_not_in_a_call() -> None:
    f = st.Floor.empty({f"s{i}": f"Local/s{i}@sim-seat/n" for i in range(1, 6)})
    for i in range(1, 6):
        f = st.login(f, f"s{i}", f"a{i}", f"坐席{i}", now=float(i))
    f = ln.assign(f, ln.Lines(window="day", scheduled=2))  # a1, a2 on lines
    f = st.pause(f, "s3", "break", 10.0)
    free = board.workers(f, {"a5": frozenset({"方言"})})
    assert [(w.agent, w.skills) for w in free] == [("a4", frozenset()), ("a5", frozenset({"方言"}))]


def test_the_line_planner_takes_agents_without_an_item_first() -> None:
    f = st.Floor.empty({f"s{i}": f"Local/s{i}@sim-seat/n" for i in range(1, 4)})
    for i in range(1, 4):
        f = st.login(f, f"s{i}", f"a{i}", f"坐席{i}", now=float(i))
    f = st.set_working(f, {"s1": ("回访", 3), "s2": ("语音留言", 3)})
    f = ln.assign(f, ln.Lines(window="day", scheduled=1))
    assert [n for n, s in f.seats.items() if s.on_line] == ["s3"]
    # Two lines: the longest logged-in agent with an item is parked for it.
    f = ln.assign(f, ln.Lines(window="day", scheduled=2))
    assert sorted(n for n, s in f.seats.items() if s.on_line) == ["s1", "s3"]


def test_the_line_planner_parks_the_least_urgent_item_first() -> None:
    f = st.Floor.empty({f"s{i}": f"Local/s{i}@sim-seat/n" for i in range(1, 3)})
    for i in range(1, 3):
        f = st.login(f, f"s{i}", f"a{i}", f"坐席{i}", now=float(i))
    # a1 logged in first but holds a callback (priority 1); a2's revisit (5) can wait.
    f = st.set_working(f, {"s1": ("回拨", 1), "s2": ("回访", 5)})
    f = ln.assign(f, ln.Lines(window="day", scheduled=1))
    assert [n for n, s in f.seats.items() if s.on_line] == ["s2"]


def test_summary_counts_waiting_in_hand_oldest_and_breaches() -> None:
    items = [
        item(1, created=0, due=50),
        item(2, created=30, due=500),
        replace(item(3, kind="review", due=10), state=State.ACCEPTED, agent="a"),
        item(4, not_before=1000),
        replace(item(5, created=-50, due=900), state=State.OFFERED, agent="b"),
    ]
    by = {s.kind: s for s in board.summary(items, ["intake", "review"], now=100)}
    assert (by["intake"].waiting, by["intake"].oldest_s, by["intake"].breaches) == (2, 100, 1)
    assert by["intake"].offered == 1
    assert (by["review"].in_hand, by["review"].breaches) == (1, 1)


def test_deadlines_in_minutes_and_in_working_days(tmp_path: object) -> None:
    s = Settings(ivr=IvrSettings(holidays=["2026-11-30"]))
    policy = WorkPolicy.from_settings(s)
    friday = dt.datetime(2026, 11, 27, 16, 0, tzinfo=SH)
    assert policy.deadline("intake", friday) == friday.timestamp() + 180
    # One working day after Friday 16:00: Monday is a holiday, so Tuesday 16:00.
    assert dt.datetime.fromtimestamp(policy.deadline("review", friday), SH) == dt.datetime(
        2026, 12, 1, 16, 0, tzinfo=SH
    )
    assert Calendar.from_settings(s.ivr).add_working_days(friday, 0.5) == friday + dt.timedelta(hours=12)


def test_category_skills_are_inherited_and_a_kind_skill_wins() -> None:
    s = Settings(
        work=WorkSettings(
            category_skills={"labour": "劳动"},
            kinds={"review": {"priority": 4, "deadline_working_days": 1, "skill": "审核"}},
        )
    )
    policy = WorkPolicy.from_settings(s)
    assert policy.skill("intake", "labour-wages") == "劳动"
    assert policy.skill("intake", "env-noise") == ""
    assert policy.skill("review", "labour-wages") == "审核"


def test_work_kinds_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown work kinds"):
        WorkSettings(kinds={"chat": {"priority": 1, "deadline_minutes": 3}})
    with pytest.raises(ValueError, match="deadline"):
        WorkSettings(kinds={"intake": {"priority": 1}})
    with pytest.raises(ValueError, match="not a channel"):
        Settings(channels={"fax": {"url": "http://127.0.0.1:1/"}})


def test_duplicates_by_caller_address_or_words() -> None:
    a = Probe("和平路12号的烧烤店每天晚上油烟很大，呛得没法开窗", caller="13800000001", number="1")
    same_words = Probe("和平路12号烧烤店每天晚上油烟很大，没法开窗", number="2")
    assert similarity(a.content, same_words.content) > 0.6
    c = compare(a, same_words, 0.6)
    assert c is not None and c.number == "2" and c.reasons[0].startswith("内容相似")
    assert compare(a, Probe("公交车站牌损坏，请尽快修复", number="3"), 0.6) is None
    assert compare(a, Probe("别的事", caller="13800000001", number="4"), 0.6).reasons == ("同一来电号码",)  # type: ignore[union-attr]
    assert compare(
        Probe("甲", address="和平路12号", category="env-air"),
        Probe("乙", address="和平路12号", category="env-air"),
        0.6,
    ).reasons == ("地址和分类相同",)  # type: ignore[union-attr]
    # The same address in another category is another matter.
    assert (
        compare(
            Probe("甲", address="和平路12号", category="env-air"),
            Probe("乙", address="和平路12号", category="traffic-road"),
            0.6,
        )
        is None
    )


def test_rolling_figures_per_kind() -> None:
    rows = [
        ("intake", 100.0, 110.0, 150.0, 280.0, "answer"),  # handled in time
        ("intake", 100.0, 120.0, 400.0, 280.0, "dispatch"),  # late
        ("intake", 500.0, None, None, 680.0, ""),  # still open
        ("review", -5000.0, 10.0, 20.0, 100.0, "approve"),
    ]  # arrived before the window
    by = {f.kind: f for f in compute(rows, since=0.0, kinds=["intake", "review", "voicemail"])}
    assert (by["intake"].arrived, by["intake"].handled, by["intake"].within_deadline) == (3, 2, 1)
    assert by["intake"].within_deadline_pct == 50.0 and by["intake"].avg_handle_s == 160.0
    assert (by["review"].arrived, by["review"].handled) == (0, 1)
    assert by["voicemail"].handled == 0 and by["voicemail"].avg_handle_s is None


def test_rate_limit_per_address() -> None:
    r = RateLimit(limit=2, window=60)
    assert r.hit("1.2.3.4", 0) is None and r.hit("1.2.3.4", 1) is None
    assert r.hit("1.2.3.4", 2) == 58
    assert r.hit("5.6.7.8", 2) is None
    assert r.hit("1.2.3.4", 60.5) is None


def test_delivery_waits_double_up_to_the_cap() -> None:
    gw = ChannelGateway(url="http://127.0.0.1:9/", retry_initial=5, retry_max=60)
    assert [next_wait(gw, n) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 40, 60]


def test_lawyers_take_lawyers_items_only_and_nobody_else_takes_them() -> None:
    items = [item(1, "legal", skill="lawyer"), item(2)]
    lawyer = Worker("l", "seat-l", 0.0, frozenset(), lawyer=True)
    offers = board.plan(items, [lawyer, worker("plain", 1)], 1, 30, 0)
    assert {(o.item, o.agent) for o in offers} == {(1, "l"), (2, "plain")}
    assert board.plan([item(2)], [lawyer], 1, 30, 0) == []
    assert board.plan([item(1, "legal", skill="lawyer")], [worker("plain")], 1, 30, 0) == []
    # A lawyer between calls of the lawyer queue is free for them; in a call not.
    f = st.Floor.empty({"seat01": "Local/seat01@sim-seat/n"})
    f = ln.assign(st.login(f, "seat01", "l", "律师", now=0.0, lawyer=True), ln.Lines(window="day", scheduled=0))
    assert [w.agent for w in board.workers(f, {})] == ["l"]
    f = st.agent_connected(f, "Local/seat01@sim-seat/n", "138", 5.0)
    assert board.workers(f, {}) == []


def test_the_next_rota_window_skips_off_days_and_holidays() -> None:
    cal = Calendar.from_settings(IvrSettings(holidays=["2026-11-30"]))  # a Monday
    friday_evening = dt.datetime(2026, 11, 27, 18, 0, tzinfo=SH)
    start, end = cal.next_window("lawyer", friday_evening)  # type: ignore[misc]
    assert (start, end) == (dt.datetime(2026, 12, 1, 9, 0, tzinfo=SH), dt.datetime(2026, 12, 1, 17, 0, tzinfo=SH))
    inside = dt.datetime(2026, 11, 27, 10, 0, tzinfo=SH)
    assert cal.next_window("lawyer", inside) == (inside, dt.datetime(2026, 11, 27, 17, 0, tzinfo=SH))
    assert cal.next_window("no-such", inside) is None
