"""The roster's rules without a PBX: shift spans, attendance against
logins, and real-time adherence."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from hotline.config import RosterSettings, Shift
from hotline.roster import rules as r

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
SHIFTS = {s.code: s for s in RosterSettings().shifts}
DAY = dt.date(2026, 11, 25)


def at(h: int, m: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=TZ)


def test_five_shifts_cover_the_day_and_the_night_shift_ends_the_next_morning() -> None:
    assert [s.name for s in SHIFTS.values()] == ["早班", "白班", "中班", "晚班", "夜班"]
    assert r.span(DAY, SHIFTS["N"], TZ) == (at(23), at(7, 30, DAY + dt.timedelta(days=1)))
    covered = {h for s in SHIFTS.values() for h in range(24) if any(_runs(s, at(h, 15, d)) for d in (DAY,))}
    assert covered == set(range(24))


def _runs(shift: Shift, moment: dt.datetime) -> bool:
    for day in (moment.date(), moment.date() - dt.timedelta(days=1)):
        opens, closes = r.span(day, shift, TZ)
        if opens <= moment < closes:
            return True
    return False


def test_a_day_of_five_shifts_with_one_late_one_absent_and_one_leaving_early() -> None:
    entries = [
        r.Entry(DAY, "A", "zhang"),
        r.Entry(DAY, "B", "li"),
        r.Entry(DAY, "C", "wang"),
        r.Entry(DAY, "D", "zhao"),
        r.Entry(DAY, "N", "sun"),
    ]
    logins = [
        r.Interval("zhang", at(6, 55), at(12, 2)),  # on time
        r.Interval("li", at(8, 52), at(17, 31)),  # 22 minutes late
        # wang: never logged in -> absent
        r.Interval("zhao", at(16, 58), at(19, 0)),  # left 4.5 h early
        r.Interval("sun", at(22, 59), None),  # the night shift, still on
    ]
    after = at(23, 45)
    got = {e.agent: r.judge(e, SHIFTS[e.shift], logins, TZ, after, 5) for e in entries}
    assert got["zhang"].verdict == "on_time"
    assert (got["li"].verdict, got["li"].late_minutes) == ("late", 22)
    assert got["wang"].verdict == "absent" and got["wang"].text == "缺勤"
    assert (got["zhao"].verdict, got["zhao"].early_minutes) == ("left_early", 270)
    assert got["sun"].verdict == "running"
    # A login split by a break still counts as one presence.
    split = [r.Interval("zhang", at(6, 59), at(9, 0)), r.Interval("zhang", at(9, 20), at(12, 0))]
    assert r.judge(entries[0], SHIFTS["A"], split, TZ, after, 5).verdict == "on_time"


def test_adherence_names_who_is_late_now_and_who_is_logged_in_off_the_roster() -> None:
    entries = [r.Entry(DAY, "B", "li"), r.Entry(DAY, "B", "wang"), r.Entry(DAY, "C", "zhao")]
    now = at(9, 0)  # the day shift has run 30 minutes; the middle shift is not on yet
    got = r.adherence(entries, SHIFTS, {"li", "temp"}, TZ, now, 5)
    assert got.shifts == (("白班", 2, 1),)
    assert got.late == ("wang",) and got.off_roster == ("temp",)
    # Within the grace nobody is late yet.
    assert r.adherence(entries, SHIFTS, {"li"}, TZ, at(8, 33), 5).late == ()
    # The night shift of the day before runs past midnight.
    night = r.adherence([r.Entry(DAY, "N", "sun")], SHIFTS, set(), TZ, at(2, 0, DAY + dt.timedelta(days=1)), 5)
    assert night.shifts == (("夜班", 1, 0),) and night.late == ("sun",)


def test_the_staff_need_per_shift_covers_every_half_hour_with_shrinkage() -> None:
    from hotline.roster import need

    shifts = list(SHIFTS.values())
    # 6 lines from 08:00 to 20:00, 2 at night.
    lines = [6 if 16 <= s < 40 else 2 for s in range(48)]
    share = RosterSettings().on_line_share  # 0.9 x 0.85 x 0.95 = 0.727
    assert round(share, 3) == 0.727
    agents = need.agents_needed(lines, share)
    assert agents[20] == 9 and agents[2] == 3  # 6 / 0.727 -> 9; 2 / 0.727 -> 3
    got = need.per_shift(lines, shifts, share)
    for slot in range(48):
        on = sum(got[s.code] for s in shifts if slot in need.slots_of(s))
        assert on >= agents[slot], (slot, on, got)
    assert got["N"] >= 3  # the night is the night shift's alone between 00:00 and 07:00
    assert need.slots_of(SHIFTS["N"])[:3] == [46, 47, 0] and len(need.slots_of(SHIFTS["N"])) == 17
