"""The ticket store and its workflow on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hotline.accounts import Identity
from hotline.db.engine import make_engine, sessionmaker
from hotline.db.migrate import upgrade_async
from hotline.db.models import Call
from hotline.errors import BadRequest
from hotline.roles import Role
from hotline.tickets import workflow as wf
from hotline.tickets.store import NotYourTicket, TicketNotFound, TicketStore
from hotline.web.json import dumps
from tests.conftest import Clock, make_settings
from tests.pg import PostgresServer

AGENT = Identity(1, "agent01", "坐席员一", frozenset({Role.AGENT}))
OTHER = Identity(2, "agent02", "坐席员二", frozenset({Role.AGENT}))
LEAD = Identity(3, "lead", "值班长", frozenset({Role.LEAD}))
ZJW = Identity(4, "zjw", "住建委", frozenset({Role.DEPARTMENT}), "zjw")
RSJ = Identity(5, "rsj", "人社局", frozenset({Role.DEPARTMENT}), "rsj")


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TicketStore]:
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        settings = make_settings(tmp_path, database={"url": await server.new_database()})
    else:
        settings = make_settings(tmp_path)
    await upgrade_async(settings)
    engine = make_engine(settings)
    # 10:00 in the city.
    s = TicketStore(settings, sessionmaker(engine), Clock(dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.timezone.utc)))
    await s.kb.seed()
    yield s
    await engine.dispose()


async def _call(store: TicketStore, call_id: str, caller: str = "13800001234", **kw: object) -> dict:
    return as_json(
        await store.open_for_call(
            call_id=call_id,
            uniqueid=call_id + ".1",
            caller=caller,
            caller_name="",
            tag=str(kw.get("tag", "12345")),
            seat="seat01",
            agent="agent01",
            wait_s=12.0,
        )
    )


def as_json(value: object) -> Any:
    """What the API sends for it: read models become JSON at the web edge."""
    return json.loads(dumps(value))


FORM = {"category": "urban-works", "district": "东城区", "address": "幸福路1号", "content": "工地夜间施工噪音扰民"}


async def test_numbers_are_date_and_sequence(store: TicketStore) -> None:
    first = (await _call(store, "c1"))["ticket"]["number"]
    second = (await _call(store, "c2"))["ticket"]["number"]
    assert (first, second) == ("20261127000001", "20261127000002")
    store.clock.now += dt.timedelta(days=1)  # type: ignore[attr-defined]
    assert (await _call(store, "c3"))["ticket"]["number"] == "20261128000001"


async def test_numbers_stay_unique_under_concurrent_writers(store: TicketStore) -> None:
    pops = await asyncio.gather(*(_call(store, f"burst{i}", caller=f"1390000{i:04d}") for i in range(40)))
    numbers = [p["ticket"]["number"] for p in pops]
    assert len(set(numbers)) == 40 and await store.count() == 40


async def test_the_call_brings_ivr_path_and_tag_and_a_repeat_caller_is_flagged(store: TicketStore) -> None:
    async with store.sessions() as db, db.begin():
        db.add(
            Call(
                call_id="ivr1",
                caller="13800001234",
                tag="城建",
                ivr_path=[{"node": "menu", "key": "2"}],
                category="城乡建设",
            )
        )
    pop = await _call(store, "ivr1", tag="")
    t = pop["ticket"]
    assert (t["tag"], t["ivr_path"], t["category"]) == ("城建", [{"node": "menu", "key": "2"}], "urban")
    assert not pop["repeat"] and pop["history"] == []
    store.clock.now += dt.timedelta(days=3)  # type: ignore[attr-defined]
    again = await _call(store, "ivr2")
    assert again["repeat"] and [h["number"] for h in again["history"]] == [t["number"]]
    assert (await _call(store, "ivr2"))["ticket"]["number"] == again["ticket"]["number"]  # same call, same ticket


async def test_answered_on_the_spot_closes(store: TicketStore) -> None:
    number = (await _call(store, "a1"))["ticket"]["number"]
    with pytest.raises(BadRequest):
        as_json(await store.submit(number, AGENT, {**FORM, "handling": "answered"}))  # no answer given
    with pytest.raises(NotYourTicket):
        as_json(await store.submit(number, OTHER, {**FORM, "handling": "answered", "answer": "已解答"}))
    # The desk pre-fills the category's bureau; answered on the spot, no unit handled it.
    t = as_json(
        await store.submit(number, AGENT, {**FORM, "handling": "answered", "answer": "已解答", "department": "zjw"})
    )
    assert t["status"] == "closed" and t["closed_at"]
    assert (t["department"], t["department_text"], t["deadline_at"]) == ("", "", None)
    with pytest.raises(wf.TransitionRefused):
        as_json(await store.submit(number, AGENT, {**FORM, "handling": "answered", "answer": "again"}))


async def test_full_workflow_with_return_feedback_and_revisit(store: TicketStore) -> None:
    number = (await _call(store, "w1"))["ticket"]["number"]
    await store.save_draft(number, AGENT, {"content": "工地夜间", "category": "urban-works"})
    assert (as_json(await store.open_ticket_of("agent01")))["draft"]["content"] == "工地夜间"
    t = as_json(await store.submit(number, AGENT, {**FORM, "handling": "dispatched", "department": "rsj"}))
    assert t["status"] == "dispatched" and t["department"] == "rsj"
    assert t["deadline_at"] == (store.clock() + dt.timedelta(days=2)).isoformat()  # 施工扰民: 2 days
    assert as_json(await store.open_ticket_of("agent01")) is None
    # Another department's ticket looks exactly like one that does not exist.
    with pytest.raises(TicketNotFound):
        as_json(await store.act(number, "feedback", ZJW, {"note": "not ours"}))
    with pytest.raises(TicketNotFound):
        as_json(await store.act(number, "revisit", ZJW, {"note": "wrong state too"}))
    t = as_json(await store.act(number, "return", RSJ, {"note": "应由住建委办理"}))
    assert t["status"] == "returned" and t["department"] == ""
    t = as_json(await store.act(number, "dispatch", LEAD, {"department": "zjw", "note": "改派"}))
    assert t["status"] == "dispatched" and t["department"] == "zjw"
    with pytest.raises(wf.RoleRefused):
        as_json(await store.act(number, "feedback", AGENT, {"note": "x"}))
    t = as_json(await store.act(number, "feedback", ZJW, {"note": "已责令停工"}))
    assert t["status"] == "feedback" and t["revisit_due_at"]
    t = as_json(await store.act(number, "revisit", AGENT, {"satisfied": False, "satisfaction": 4, "note": "仍在施工"}))
    assert (t["status"], t["redispatches"], t["satisfaction"]) == ("dispatched", 1, 4)
    as_json(await store.act(number, "feedback", ZJW, {"note": "已查处"}))
    t = as_json(await store.act(number, "revisit", AGENT, {"satisfied": True, "satisfaction": 1}))
    assert t["status"] == "closed" and t["satisfaction_text"] == "非常满意"
    full = as_json(await store.get(number, LEAD))
    assert [h["action"] for h in full["history"]] == [
        "accept",
        "dispatch",
        "return",
        "dispatch",
        "feedback",
        "reopen",
        "feedback",
        "revisit",
    ]


async def test_overdue_tickets_reach_the_ledger(store: TicketStore) -> None:
    late = (await _call(store, "l1"))["ticket"]["number"]
    as_json(await store.submit(late, AGENT, {**FORM, "handling": "dispatched"}))
    on_time = (await _call(store, "l2", caller="13900000000"))["ticket"]["number"]
    as_json(await store.submit(on_time, AGENT, {**FORM, "category": "labour-wages", "handling": "dispatched"}))
    store.clock.now += dt.timedelta(days=3)  # type: ignore[attr-defined]
    rows = as_json(await store.ledger(LEAD))
    assert [r["number"] for r in rows] == [late]
    assert rows[0]["overdue_stage"] == "办理超时" and rows[0]["overdue_hours"] == 24.0


async def test_confidential_caller_is_masked_except_for_the_agent_and_lead(store: TicketStore) -> None:
    number = (await _call(store, "p1"))["ticket"]["number"]
    as_json(
        await store.submit(number, AGENT, {**FORM, "handling": "dispatched", "department": "zjw", "confidential": True})
    )
    assert (as_json(await store.get(number, AGENT)))["caller"] == "13800001234"
    assert (as_json(await store.get(number, LEAD)))["caller"] == "13800001234"
    seen = as_json(await store.get(number, ZJW))
    assert (seen["caller"], seen["address"], seen["masked"]) == ("138****1234", "（保密）", True)
    # A number search does not confirm a confidential caller to whoever may not see them.
    assert as_json(await store.search(OTHER, caller="13800001234")) == []
    assert [t["caller"] for t in as_json(await store.search(LEAD, caller="13800001234"))] == ["13800001234"]
    assert seen["content"] == FORM["content"]  # the handling unit reads what was said
    assert "（保密工单" in (as_json(await store.get(number, OTHER)))["content"]


async def test_gateway_tickets_record_their_channel(store: TicketStore) -> None:
    t = as_json(await store.create("wechat", "gateway:wechat", {**FORM, "caller": "13700000000"}))
    assert (t["channel"], t["channel_text"], t["status"]) == ("wechat", "微信", "accepted")
    with pytest.raises(BadRequest):
        as_json(await store.create("wechat", "gateway:wechat", {"content": "no category"}))
    with pytest.raises(BadRequest):
        as_json(await store.create("fax", "gateway:fax", FORM))


async def test_knowledge_base_finds_chinese(store: TicketStore) -> None:
    hits = await store.kb.search("施工噪音")
    assert hits and hits[0]["title"] == "夜间施工噪音扰民"
    assert [h["title"] for h in await store.kb.search("欠薪")] == ["拖欠工资如何投诉"]  # two characters: LIKE
    assert await store.kb.search("火星移民") == []
    new = await store.kb.add("垃圾分类投放时间", "居民生活垃圾每日7时至9时、18时至20时定时定点投放。")
    assert [h["id"] for h in await store.kb.search("定时定点投放")] == [new]


async def test_survey_lands_on_the_ticket_of_the_call(store: TicketStore) -> None:
    number = (await _call(store, "s1"))["ticket"]["number"]
    assert await store.set_satisfaction("s1", 2) == number
    assert (as_json(await store.get(number, LEAD)))["satisfaction_text"] == "满意"
    assert await store.set_satisfaction("no-such-call", 1) is None


def test_settings_reject_a_category_with_an_unknown_department(tmp_path: Path) -> None:
    from hotline.config import ConfigError

    with pytest.raises(ConfigError, match="unknown department"):
        make_settings(tmp_path, tickets={"categories": [{"code": "x", "name": "X", "department": "nope"}]})
