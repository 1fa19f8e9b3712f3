"""The IVR interpreter, driven without a PBX: every branch of the default flow."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hotline.config import IvrSettings
from hotline.ivr.flow import prompts_of
from hotline.ivr.flow_yaml import load_yaml
from hotline.ivr.runner import (
    CallContext,
    CompiledFlow,
    CurrentAnnouncement,
    LookupTicket,
    Play,
    QueueStaffed,
    ReadDigits,
    Record,
    Route,
    WaitDigit,
    run,
)
from hotline.ivr.schedule import Calendar

DEFAULT = Path(__file__).resolve().parents[2] / "hotline" / "ivr" / "flows" / "hotline.yaml"
CAL = Calendar.from_settings(IvrSettings(holidays=["2026-10-01"]))
TZ = CAL.tz
DAY = dt.datetime(2026, 11, 25, 10, 0, tzinfo=TZ)  # Wednesday 10:00
NIGHT = dt.datetime(2026, 11, 25, 23, 0, tzinfo=TZ)  # Wednesday 23:00
WEEKEND_DAY = dt.datetime(2026, 11, 28, 10, 0, tzinfo=TZ)  # Saturday: day menu, no lawyer
HOLIDAY = dt.datetime(2026, 10, 1, 10, 0, tzinfo=TZ)


def compiled() -> CompiledFlow:
    flow = load_yaml(DEFAULT.read_text(encoding="utf-8"))
    prompts = {(nid, f): f"/p/{nid}.{f}" for nid, n in flow.nodes.items() for f, p in prompts_of(n) if not p.empty}
    system = {"status:dispatched": "/p/status-dispatched"} | {f"digit:{d}": f"/p/d{d}" for d in "0123456789"}
    return CompiledFlow(flow, 1, prompts, system)


class Caller:
    """Answers the interpreter's instructions like a caller on a phone would."""

    def __init__(
        self,
        keys: str = "",
        *,
        notice: str | None = None,
        tickets: dict[str, str] | None = None,
        digits: list[str] | None = None,
        barge: bool = False,
        lawyers: bool = True,
    ):
        self.keys = list(keys)
        self.notice = notice
        self.tickets = tickets or {}
        self.digits = list(digits or [])
        self.barge = barge
        self.lawyers = lawyers  # a lawyer is logged in
        self.played: list[str] = []

    def answer(self, ins: Any) -> Any:
        if isinstance(ins, Play):
            self.played.extend(ins.files)
            if self.barge and ins.digits and self.keys:
                return self.keys.pop(0)
            return ""
        if isinstance(ins, WaitDigit):
            return self.keys.pop(0) if self.keys else ""
        if isinstance(ins, ReadDigits):
            self.played.extend(ins.files)
            return self.digits.pop(0) if self.digits else ""
        if isinstance(ins, CurrentAnnouncement):
            return self.notice
        if isinstance(ins, LookupTicket):
            return self.tickets.get(ins.number)
        if isinstance(ins, Record):
            return "msg-1"
        if isinstance(ins, QueueStaffed):
            return self.lawyers if ins.queue == "hotline-lawyer" else True
        raise AssertionError(ins)


def call(caller: Caller, now: dt.datetime) -> tuple[Route, CallContext]:
    ctx = CallContext(now=lambda: now, calendar=CAL)
    gen = run(compiled(), ctx)
    try:
        ins = next(gen)
        while True:
            ins = gen.send(caller.answer(ins))
    except StopIteration as stop:
        return stop.value, ctx


def keys_of(ctx: CallContext) -> list[tuple[str, str]]:
    return [(s.node, s.key) for s in ctx.path]


def test_key_1_consultation_to_a_seat() -> None:
    route, ctx = call(Caller("1"), DAY)
    assert route == Route("queue", queue="hotline", prompt="/p/to_seat.prompt")
    assert ctx.category == "咨询投诉求助"
    assert ("day_menu", "1") in keys_of(ctx)


def test_key_pressed_during_the_prompt_interrupts_it() -> None:
    caller = Caller("1", barge=True)
    route, ctx = call(caller, DAY)
    assert route.kind == "queue" and ("day_menu", "1") in keys_of(ctx)


def test_key_2_car_moving_queues_for_a_seat() -> None:
    route, ctx = call(Caller("2"), DAY)
    assert route.kind == "queue" and ctx.category == "挪车"


def test_key_3_legal_in_lawyer_hours_goes_to_the_lawyer_queue() -> None:
    route, ctx = call(Caller("3"), DAY)
    assert route == Route("queue", queue="hotline-lawyer")  # the node says nothing
    assert ctx.category == "法律咨询"


def test_key_3_in_lawyer_hours_with_no_lawyer_logged_in_leaves_a_message_for_the_lawyers() -> None:
    caller = Caller("3", lawyers=False)
    route, ctx = call(caller, DAY)
    assert route.kind == "hangup" and ctx.message_file == "msg-1" and ctx.message_for_lawyers
    assert [s.key for s in ctx.path if s.node == "lawyer_queue"] == ["无人值守"]


def test_key_3_legal_out_of_hours_leaves_a_message() -> None:
    caller = Caller("3")
    route, ctx = call(caller, WEEKEND_DAY)
    assert route.kind == "hangup" and ctx.message_file == "msg-1" and ctx.message_for_lawyers
    assert "/p/legal_message.thanks" in caller.played


def test_key_9_ticket_status_is_read_back() -> None:
    caller = Caller("9", digits=["20261126001"], tickets={"20261126001": "dispatched"})
    caller.keys.append("")  # then hangs on without a key: goodbye
    route, ctx = call(caller, DAY)
    assert "/p/status-dispatched" in caller.played
    assert ctx.vars["ticket_number"] == "20261126001"
    assert route.kind == "hangup"


def test_key_9_unknown_ticket_then_0_for_a_seat() -> None:
    caller = Caller("90", digits=["99999999"])
    route, _ = call(caller, DAY)
    assert "/p/ticket_status.not_found_prompt" in caller.played
    assert route.kind == "queue"


def test_bad_ticket_number_retries_then_seat() -> None:
    caller = Caller("9", digits=["12", "34", "56"])  # too short, three times
    route, ctx = call(caller, DAY)
    assert caller.played.count("/p/ticket_query.invalid_prompt") == 2
    assert route.kind == "queue" and ("ticket_query", "fail") in keys_of(ctx)


def test_key_0_and_no_key_reach_a_seat_at_once() -> None:
    for keys in ("0", ""):
        caller = Caller(keys)
        route, ctx = call(caller, DAY)
        assert route.kind == "queue"
        assert "/p/day_menu.timeout_prompt" not in caller.played


def test_invalid_keys_retry_then_default() -> None:
    caller = Caller("777")
    route, ctx = call(caller, DAY)
    assert caller.played.count("/p/day_menu.invalid_prompt") == 2  # retries: 2
    assert caller.played.count("/p/day_menu.prompt") == 3
    assert route.kind == "queue" and ("day_menu", "7") in keys_of(ctx)


def test_invalid_then_valid_key() -> None:
    caller = Caller("71")
    route, ctx = call(caller, DAY)
    assert caller.played.count("/p/day_menu.invalid_prompt") == 1
    assert ctx.category == "咨询投诉求助"


def test_night_variant_has_fewer_options() -> None:
    caller = Caller("2")  # car moving is a day-only option
    route, ctx = call(caller, NIGHT)
    assert "/p/night_menu.prompt" in caller.played and "/p/day_menu.prompt" not in caller.played
    assert ("shift", "其他时间") in keys_of(ctx)
    assert ctx.category == ""  # '2' was not accepted at night


def test_holiday_uses_the_night_menu() -> None:
    caller = Caller("1")
    route, ctx = call(caller, HOLIDAY)
    assert ("shift", "节假日") in keys_of(ctx) and route.kind == "queue"


def test_emergency_notice_on_and_off() -> None:
    on = Caller("1", notice="/p/notice-123")
    call(on, DAY)
    assert on.played.index("/p/notice-123") < on.played.index("/p/day_menu.prompt")
    off = Caller("1")
    _, ctx = call(off, DAY)
    assert ("notice", "off") in keys_of(ctx) and "/p/notice-123" not in off.played


def test_path_records_node_key_and_time() -> None:
    _, ctx = call(Caller("1"), DAY)
    step = next(s for s in ctx.path if s.node == "day_menu")
    assert step.as_dict() == {
        "node": "day_menu",
        "type": "menu",
        "label": "日间主菜单",
        "key": "1",
        "at": "2026-11-25T10:00:00+08:00",
    }


def test_schedule_across_midnight() -> None:
    from hotline.config import Schedule

    cal = Calendar({"night": Schedule(weekdays=[5], start="20:00", end="08:00")}, frozenset(), TZ)
    friday_late = dt.datetime(2026, 11, 27, 23, 0, tzinfo=TZ)
    saturday_early = dt.datetime(2026, 11, 28, 7, 0, tzinfo=TZ)
    saturday_late = dt.datetime(2026, 11, 28, 23, 0, tzinfo=TZ)
    assert cal.within("night", friday_late) and cal.within("night", saturday_early)
    assert not cal.within("night", saturday_late)


def test_a_window_that_opens_and_closes_at_one_time_is_open_all_day() -> None:
    from hotline.config import Schedule

    cal = Calendar({"always": Schedule(weekdays=[5], start="00:00", end="00:00")}, frozenset(), TZ)
    friday = [dt.datetime(2026, 11, 27, h, m, tzinfo=TZ) for h, m in ((0, 0), (3, 30), (12, 0), (23, 59))]
    assert all(cal.within("always", t) for t in friday)
    assert not cal.within("always", dt.datetime(2026, 11, 28, 0, 0, tzinfo=TZ))  # Saturday is not in it
    assert cal.next_window("always", friday[1]) == (friday[1], dt.datetime(2026, 11, 28, 0, 0, tzinfo=TZ))


class TypingCaller(Caller):
    """Presses keys during whichever prompt plays at that moment (type-ahead)."""

    def __init__(self, during: dict[str, str], **kw: Any):
        super().__init__(**kw)
        self.during = during  # prompt file -> key pressed while it plays

    def answer(self, ins: Any) -> Any:
        if isinstance(ins, Play):
            self.played.extend(ins.files)
            for f in ins.files:
                if f in self.during and f in ins.files and ins.digits and self.during[f] in ins.digits:
                    return self.during.pop(f)
            return ""
        return super().answer(ins)


def test_key_during_the_welcome_chooses_from_the_menu_without_hearing_it() -> None:
    caller = TypingCaller({"/p/welcome.prompt": "1"})
    route, ctx = call(caller, DAY)
    assert route == Route("queue", queue="hotline", prompt="/p/to_seat.prompt")
    assert ctx.category == "咨询投诉求助"
    assert "/p/day_menu.prompt" not in caller.played
    # What follows the choice still plays (the dialplan plays the route's
    # prompt): it tells the caller the key was taken.
    assert caller.played == ["/p/welcome.prompt"]
    assert ("day_menu", "1") in keys_of(ctx)


def test_key_during_the_emergency_notice_is_the_menu_choice() -> None:
    caller = TypingCaller({"/p/notice.wav": "2"}, notice="/p/notice.wav")
    route, ctx = call(caller, DAY)
    assert route.kind == "queue" and ctx.category == "挪车"
    assert "/p/day_menu.prompt" not in caller.played


def test_every_prompt_before_the_menu_can_be_interrupted() -> None:
    plays: list[Play] = []
    ctx = CallContext(now=lambda: DAY, calendar=CAL)
    gen = run(compiled(), ctx)
    ins = next(gen)
    try:
        while True:
            if isinstance(ins, Play):
                plays.append(ins)
            ins = gen.send("" if not isinstance(ins, CurrentAnnouncement) else "/p/notice.wav")
    except StopIteration:
        pass
    assert plays and all(p.digits for p in plays)


def test_no_key_reaches_the_queue_after_one_menu_round_without_another_prompt() -> None:
    caller = Caller("")
    route, ctx = call(caller, DAY)
    assert route.kind == "queue"
    assert caller.played == ["/p/welcome.prompt", "/p/day_menu.prompt"]


def test_a_wrong_typed_ahead_key_is_answered_by_the_menu() -> None:
    caller = TypingCaller({"/p/welcome.prompt": "7"})
    caller.keys = ["1"]
    route, ctx = call(caller, DAY)
    assert "/p/day_menu.invalid_prompt" in caller.played and ctx.category == "咨询投诉求助"


def test_the_official_calendar_a_make_up_saturday_is_worked_and_a_spring_festival_weekday_is_not() -> None:
    from hotline.acd import lines as ln
    from hotline.config import AcdSettings, IvrSettings

    cal = Calendar.from_settings(IvrSettings())
    acd = AcdSettings()
    make_up = dt.datetime(2026, 2, 14, 10, 0, tzinfo=TZ)  # a Saturday worked for the Spring Festival (调休)
    festival = dt.datetime(2026, 2, 17, 10, 0, tzinfo=TZ)  # a Tuesday of the Spring Festival
    assert cal.is_working_day(make_up.date()) and cal.within("lawyer", make_up)  # lawyers keep working-day hours
    assert ln.window(acd, cal, make_up) == ("day", 6) and not cal.is_holiday(make_up)
    assert cal.is_holiday(festival) and not cal.is_working_day(festival.date())
    assert ln.window(acd, cal, festival) == ("holiday", acd.holiday_lines)
    # A deadline of 1 working day from the Friday before skips the festival's rest days.
    assert cal.add_working_days(dt.datetime(2026, 2, 13, 10, 0, tzinfo=TZ), 1).date() == dt.date(2026, 2, 14)
    # Local dates win: the centre rests on the make-up Saturday and works on the festival's Tuesday.
    local = Calendar.from_settings(IvrSettings(holidays=["2026-02-14"], workdays=["2026-02-17"]))
    assert local.is_holiday(make_up) and local.is_working_day(festival.date()) and not local.is_holiday(festival)
    # Without the official calendar, only local dates count.
    bare = Calendar.from_settings(IvrSettings(official_calendar=False))
    assert not bare.is_holiday(festival) and not bare.within("lawyer", make_up)


def test_the_admin_is_told_when_the_coming_years_holidays_are_not_known() -> None:
    from hotline.config import IvrSettings
    from hotline.official_calendar import coverage_warning

    cal = Calendar.from_settings(IvrSettings())
    assert cal.known_until >= 2026
    year = cal.known_until
    # In October nobody expects next year's yet; from November it is published.
    assert coverage_warning(year, (), dt.date(year, 10, 1)) == ""
    warning = coverage_warning(year, (), dt.date(year, 11, 20))
    assert f"缺 {year + 1} 年" in warning and "ivr.holidays" in warning
    assert coverage_warning(year, (dt.date(year + 1, 1, 1),), dt.date(year, 11, 20)) == ""  # entered locally
    assert f"缺 {year + 1} 年" in coverage_warning(year, (), dt.date(year + 1, 3, 1))
