"""The staffing model: Erlang C against published tables, Erlang A against
a simulation of the same queue, and the lines it recommends."""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass

import pytest

from hotline.acd.staffing import Load, erlang_c, lines_needed, predict


def test_erlang_c_matches_the_published_table() -> None:
    # 10 erlangs (100 calls in 30 min, 180 s each): the textbook rows.
    assert [round(erlang_c(n, 10.0), 4) for n in (11, 12, 13, 14)] == [0.6821, 0.4494, 0.2853, 0.1741]
    # Service level within 20 s for the same load: 39.0 %, 64.0 %, 79.6 %, 88.8 %.
    load = Load(200, 180)
    assert [round(predict(load, n, 20).service_level, 3) for n in (11, 12, 13, 14)] == [0.39, 0.64, 0.796, 0.888]
    assert lines_needed(load, service_level=0.8, within_s=20).lines == 14
    assert predict(load, 10, 20).service_level == 0.0  # as many erlangs as lines: no service level


def simulate(load: Load, lines: int, within_s: float, calls: int, seed: int = 1) -> tuple[float, float]:
    """M/M/n+M by events: (answered within within_s / offered, abandoned / offered)."""
    rng = random.Random(seed)
    lam, mean_handle, patience = load.arrivals_per_hour / 3600, load.handle_s, load.patience_s
    assert patience is not None
    events: list[tuple[float, int]] = []  # departures
    queue: deque[tuple[float, float]] = deque()  # (arrived, gives up at)
    busy = quick = gone = 0
    now = 0.0

    def serve(at: float) -> None:
        nonlocal busy
        busy += 1
        heapq.heappush(events, (at + rng.expovariate(1 / mean_handle), 0))

    for _ in range(calls):
        now += rng.expovariate(lam)
        while events and events[0][0] <= now:
            t, _ = heapq.heappop(events)
            busy -= 1
            while queue:
                arrived, deadline = queue.popleft()
                if deadline < t:
                    gone += 1
                    continue
                quick += t - arrived <= within_s
                serve(t)
                break
        if busy < lines:
            quick += 1
            serve(now)
        else:
            queue.append((now, now + rng.expovariate(1 / patience)))
    gone += sum(1 for _, deadline in queue if deadline < now)
    return quick / calls, gone / calls


@pytest.mark.parametrize("lines", [8, 10, 12])
def test_erlang_a_agrees_with_a_simulation_of_callers_who_give_up(lines: int) -> None:
    load = Load(arrivals_per_hour=180, handle_s=180, patience_s=60)  # 9 erlangs
    model = predict(load, lines, 15)
    sl, abandoned = simulate(load, lines, 15, calls=60_000)
    assert abs(model.service_level - sl) < 0.02, (model, sl)
    assert abs(model.abandon_rate - abandoned) < 0.01, (model, abandoned)
    assert model.connection_rate == pytest.approx(1 - model.abandon_rate)


def test_with_patience_near_endless_erlang_a_becomes_erlang_c() -> None:
    c = predict(Load(360, 180), 22, 15)
    a = predict(Load(360, 180, patience_s=1e6), 22, 15)
    assert a.service_level == pytest.approx(c.service_level, abs=0.002) and a.abandon_rate < 0.001


def test_the_advice_meets_both_targets_and_grows_with_the_load() -> None:
    base = Load(arrivals_per_hour=240, handle_s=200, patience_s=90)
    need = lines_needed(base)
    assert need.service_level >= 0.8 and need.connection_rate >= 0.95
    fewer = predict(base, need.lines - 1, 15)
    assert fewer.service_level < 0.8 or fewer.connection_rate < 0.95
    # A heating failure (arrivals × 3) and a city ten times larger need more lines, not proportionally more.
    assert need.lines < lines_needed(base.scaled(3)).lines < 3 * need.lines + 1
    ten = lines_needed(base.scaled(10))
    assert need.lines * 6 < ten.lines < need.lines * 10
    assert lines_needed(Load(0, 200)).lines == 0


@dataclass
class Row:
    """A queue call as the advisor reads it (acd/advisor.py CallRow)."""

    queue: str
    joined_at: float
    answered_at: float | None
    abandoned: bool
    hold_s: float | None
    talk_s: float | None
    wrapup_s: float | None
    callback_id: int | None = None


def test_history_per_half_hour_handle_time_and_censored_patience() -> None:
    import datetime as dt
    import zoneinfo

    from hotline.acd.advisor import advise, summarise
    from hotline.config import AcdSettings, IvrSettings
    from hotline.ivr.schedule import Calendar

    sh = zoneinfo.ZoneInfo("Asia/Shanghai")
    cal = Calendar.from_settings(IvrSettings())
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=sh).timestamp()
    nine = dt.datetime(2026, 11, 24, 9, 10, tzinfo=sh).timestamp()
    rows = [Row("hotline", nine + i, nine + i + 10, False, 10.0, 170.0, 10.0) for i in range(20)]
    rows += [Row("hotline", nine + 100 + i, None, True, 30.0, None, None) for i in range(2)]
    rows += [
        Row("hotline-lawyer", nine, nine + 5, False, 5.0, 600.0, 0.0),  # the lawyers' queue is not ours
        Row("hotline", nine, nine, False, 0.0, 100.0, 0.0, callback_id=7),  # a callback placeholder
        Row("hotline", now - 8 * 86400, now, False, 1.0, 1.0, 0.0),
    ]  # older than the window
    h = summarise(rows, "hotline", now, 7, cal)
    # The 09:00 half hour was recorded twice (yesterday and today) since the oldest call, not seven times.
    assert h.calls == 22 and h.arrivals[18] == pytest.approx(22 / 2) and sum(h.arrivals) == pytest.approx(22 / 2)
    assert h.span_days == pytest.approx((now - nine) / 86400) and not h.enough
    assert h.basis(cal) == (
        "依据自 11月24日 09:10 起 1.1 天的 22 通来电：记录太少（至少需要 7 天、100 通来电），下表只是参考，不能作为排班依据。"
    )
    assert h.handle_s == 180.0 and h.patience_s == pytest.approx((20 * 10 + 2 * 30) / 2)
    slots = advise(h, AcdSettings(), cal, dt.date(2026, 11, 25), k=1.0)
    nine_slot = slots[18]
    assert nine_slot["start"] == "09:00" and nine_slot["configured"] == 6 and nine_slot["window"] == "day"
    assert slots[0]["configured"] == 2 and slots[0]["recommended"] == 0  # nights: nobody called
    assert advise(h, AcdSettings(), cal, dt.date(2026, 11, 25), k=50.0)[18]["recommended"] > nine_slot["recommended"]


def test_a_few_minutes_of_history_are_not_spread_over_weeks_and_are_called_too_little() -> None:
    import datetime as dt
    import zoneinfo

    from hotline.acd.advisor import summarise
    from hotline.config import IvrSettings
    from hotline.ivr.schedule import Calendar

    sh = zoneinfo.ZoneInfo("Asia/Shanghai")
    cal = Calendar.from_settings(IvrSettings())
    start = dt.datetime(2026, 11, 25, 6, 31, tzinfo=sh).timestamp()
    # A demo's eight minutes: 24 callers between 06:31 and 06:39.
    rows = [Row("hotline", start + 20 * i, start + 20 * i + 5, False, 5.0, 60.0, 10.0) for i in range(24)]
    h = summarise(rows, "hotline", start + 480, 28, cal)
    assert h.arrivals[13] == 24  # the 06:30 half hour, seen once: 24 callers in it, not 24 / 28
    assert h.span_days == pytest.approx(480 / 86400) and not h.enough
    assert "0.1 小时的 24 通来电" in h.basis(cal) and "不能作为排班依据" in h.basis(cal)
    nothing = summarise([], "hotline", start, 28, cal)
    assert nothing.arrivals == (0.0,) * 48 and nothing.basis(cal) == "近 28 天没有来电记录，无法给出排班建议。"
