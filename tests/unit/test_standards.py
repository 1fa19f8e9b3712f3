"""The GB/T 33358 report on synthetic records with known answers."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.reports.standards import Targets, report

DAY = 86400.0


@dataclass
class Call:
    call_id: str
    queue: str
    joined_at: float
    answered_at: float | None
    abandoned: bool
    hold_s: float | None
    callback_id: int | None = None


@dataclass
class Cb:
    kind: str
    call_id: str
    status: str
    attempts: int
    created_at: float
    done_at: float | None


@dataclass
class Item:
    created_at: float
    accepted_at: float | None


def month() -> list[Call]:
    """30 days of 100 calls, answered in 10 s; on day 15, 20 callers give up after 30 s."""
    calls = []
    for d in range(30):
        for n in range(100):
            t = d * DAY + 8 * 3600 + n * 300
            gone = d == 15 and n < 20
            calls.append(Call(f"{d}-{n}", "hotline", t, None if gone else t + 10, gone, 30.0 if gone else 10.0))
    return calls


def by_name(r: dict, name: str) -> dict:
    return next(f for f in r["figures"] if f["name"].startswith(name))


def test_a_24_hour_window_that_dips_below_95_percent_is_caught_though_the_month_is_fine() -> None:
    r = report(month(), [], [], [], 0.0, 30 * DAY, "hotline")
    c = by_name(r, "接通率")
    assert (c["numerator"], c["denominator"]) == (2980, 3000) and c["value"] > 0.99
    assert c["worst_window"]["value"] == 0.8 and c["met"] is False and not r["met"]
    assert 15 * DAY - DAY < c["worst_window"]["start"] <= 15 * DAY + 8 * 3600
    assert c["windows"] == 29 * 24 + 1
    # A day without the dip meets it: one window, the day itself.
    day = report(month(), [], [], [], 3 * DAY, 4 * DAY, "hotline")
    assert by_name(day, "接通率")["met"] is True and by_name(day, "接通率")["windows"] == 1


def test_short_abandons_outages_placeholders_and_other_queues_are_left_out() -> None:
    calls = [
        Call("a", "hotline", 100, 110, False, 10.0),
        Call("b", "hotline", 200, None, True, 3.0),  # short
        Call("c", "hotline", 300, None, True, 40.0),
        Call("d", "hotline", 5000, None, True, 60.0),  # outage
        Call("e", "hotline", 400, 420, False, 20.0),
        Call("f", "hotline-lawyer", 500, None, True, 60.0),
        Call("g", "hotline", 600, 601, False, 1.0, callback_id=3),
    ]
    callbacks = [Cb("missed", "c", "reached", 1, 350, 350 + 600), Cb("missed", "d", "failed", 3, 5100, 9000)]
    items = [Item(100, 150), Item(200, 500), Item(300, None), Item(10 * DAY, 10 * DAY + 1)]
    r = report(
        calls, callbacks, items, [1, 1, 2, 3, 5, 4, 9], 0.0, DAY, "hotline", outages=[(4000, 6000)], targets=Targets()
    )
    conn = by_name(r, "接通率")
    assert (conn["numerator"], conn["denominator"]) == (2, 3)  # a, e answered; c missed
    assert "1 通" in conn["exclusions"]
    assert (by_name(r, "15 秒接通率")["numerator"], by_name(r, "15 秒接通率")["denominator"]) == (1, 3)
    back = by_name(r, "漏接来电回拨率")
    assert (back["numerator"], back["denominator"], back["median_minutes_to_reach"]) == (1, 1, 10.0)
    media = by_name(r, "非话务渠道")
    assert (media["numerator"], media["denominator"], media["met"]) == (1, 3, False)
    sat = by_name(r, "满意率")
    assert sat["distribution"] == {1: 2, 2: 1, 3: 1, 4: 1, 5: 1} and (sat["numerator"], sat["denominator"]) == (4, 6)
    empty = report([], [], [], [], 0.0, DAY, "hotline")
    assert all(f["value"] is None and f["met"] is None for f in empty["figures"]) and empty["met"]
