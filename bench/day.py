"""The staffing model against the real PBX: simulated callers at a Poisson
rate, each with an exponential patience, through the bundled Asterisk's
queue to seats that ring, answer, talk for an exponential time and do
after-call work; run once with the lines the advisor recommends and once
with one fewer, and print the measured service level (answered within 15 s
/ offered), connection rate and abandon rate beside the Erlang A prediction.

    .venv/bin/python -m bench.day [--minutes 20] [--rate 10] [--talk 45] [--wrapup 5] [--patience 40]
    .venv/bin/python -m bench.day --surge 2 --surge-minutes 10 --minutes 30 [--extra 4]

With --surge, arrivals are multiplied by that factor for --surge-minutes in
the middle of one stretch, on the lines the advisor recommends for the base
load, with --extra agents logged in and off the lines (ticket work); it runs
twice, without overflow and with it, and prints the surge's callers'
figures beside the Erlang A prediction for the surge's load.

Rate is calls a minute. Both stretches run in real time (2 x minutes, and a
drain after each). Callers of the first --warmup seconds of a stretch are
placed but not counted: the model describes a queue in its steady state,
and each stretch starts from an empty one.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select

from bench.common import bench_pbx, controller
from bench.record import record
from hotline.acd.api import ACD
from hotline.acd.staffing import Load, lines_needed, predict
from hotline.ami import events as ev
from hotline.config import Settings
from hotline.db.models import QueueCall
from hotline.web.keys import AMI, SESSIONS

RING_S = 1.0  # a simulated seat rings this long (SIM_RING) before it answers


@dataclass(frozen=True)
class Plan:
    minutes: float
    rate_per_min: float
    talk_s: float
    wrapup_s: float
    patience_s: float
    warmup_s: float
    surge: float = 1.0  # arrivals multiplied by this ...
    surge_s: float = 0.0  # ... for this long, in the middle of the stretch

    def surge_window(self) -> tuple[float, float]:
        start = (self.minutes * 60 - self.surge_s) / 2
        return start, start + self.surge_s

    def rate_at(self, t: float) -> float:
        start, end = self.surge_window()
        return self.rate_per_min * (self.surge if start <= t < end else 1.0)

    @property
    def load(self) -> Load:
        # Handle time as the queue sees it: the ring, the talk, the after-call work.
        return Load(self.rate_per_min * 60, RING_S + self.talk_s + self.wrapup_s, self.patience_s)


@dataclass
class Stretch:
    patience: dict[str, float] = field(default_factory=dict)  # caller number -> seconds it will wait
    counted: set[str] = field(default_factory=set)  # placed after the warm-up
    surged: set[str] = field(default_factory=set)  # placed during the surge
    channel: dict[str, str] = field(default_factory=dict)  # number -> its leg in the queue
    connected: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    waiting: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    def spawn(self, coro: Any) -> asyncio.Task[None]:
        t = asyncio.ensure_future(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)
        return t

    def note(self, started: float) -> None:
        print(
            f"  {time.time() - started:5.0f} s: {len(self.patience)} placed, {len(self.channel)} queued, "
            f"{len(self.connected)} answered, {len(self.gone)} gave up",
            flush=True,
        )


async def run_stretch(app: Any, plan: Plan, lines: int, seed: int, prefix: str) -> dict[str, float]:
    ami = app[AMI]
    await app[ACD].set_lines(lines, "bench")
    rng = random.Random(seed)
    s = Stretch()

    async def hang(number: str) -> None:
        try:
            await ami.action("Hangup", Channel=s.channel[number])
        except Exception:
            pass  # gone already

    async def give_up(number: str) -> None:
        await asyncio.sleep(s.patience[number])
        if number not in s.connected:
            s.gone.add(number)
            await hang(number)

    async def talk_then_hang_up(number: str) -> None:
        await asyncio.sleep(rng.expovariate(1 / plan.talk_s))
        await hang(number)

    def on_join(e: ev.QueueCallerJoin) -> None:
        if e.caller_id_num in s.patience:
            s.channel[e.caller_id_num] = e.channel
            s.waiting[e.caller_id_num] = s.spawn(give_up(e.caller_id_num))

    def on_connect(e: ev.AgentConnect) -> None:
        number = e.caller_id_num
        if number in s.patience and number not in s.gone:
            s.connected.add(number)
            if number in s.waiting:
                s.waiting.pop(number).cancel()
            s.spawn(talk_then_hang_up(number))

    ami.on(ev.QueueCallerJoin, on_join)
    ami.on(ev.AgentConnect, on_connect)
    started = last_note = time.time()
    n = 0
    # Arrival times are drawn ahead and kept to: the time an Originate takes
    # must not stretch the gaps (it would lower the rate).
    next_at = started
    surge_start, surge_end = plan.surge_window()
    while True:
        next_at += rng.expovariate(plan.rate_at(next_at - started) / 60)
        if next_at - started >= plan.minutes * 60:
            break
        await asyncio.sleep(max(0.0, next_at - time.time()))
        number = f"{prefix}{n:06d}"
        n += 1
        s.patience[number] = rng.expovariate(1 / plan.patience_s)
        if next_at - started >= plan.warmup_s:
            s.counted.add(number)
        if plan.surge_s and surge_start <= next_at - started < surge_end:
            s.surged.add(number)
        await ami.action(
            "Originate",
            Channel="Local/s@hotline-fallback",
            Application="Wait",
            Data="3600",
            CallerID=f"<{number}>",
            Async="true",
        )
        if time.time() - last_note >= 60:
            last_note = time.time()
            s.note(started)
    # The last callers leave by their patience or their talk (bounded).
    deadline = time.time() + 5 * max(plan.talk_s, plan.patience_s) + 60
    while s.tasks and time.time() < deadline:
        await asyncio.sleep(1)
    s.note(started)
    for t in list(s.tasks):
        t.cancel()
    await asyncio.sleep(plan.wrapup_s + 2)  # the seats' last after-call work
    await app[ACD].drain()
    async with app[SESSIONS]() as db:
        # The controller's clock reads as a weekday morning: rows are found by the stretch's numbers.
        every = (await db.scalars(select(QueueCall).where(QueueCall.caller.startswith(prefix)))).all()
    rows = [r for r in every if r.caller in s.counted]
    if not rows:
        raise RuntimeError(f"no counted caller of this stretch reached the queue ({len(s.patience)} placed)")
    got = figures(rows)
    got["arrivals_per_hour"] = len(s.counted) / (plan.minutes * 60 - plan.warmup_s) * 3600
    if s.surged:
        surge = figures([r for r in every if r.caller in s.surged])
        got |= {f"surge_{k}": v for k, v in surge.items()}
    return got


def figures(rows: list[QueueCall]) -> dict[str, float]:
    answered = [r for r in rows if r.answered_at is not None]
    handle = [(r.talk_s or 0) + (r.wrapup_s or 0) for r in answered if r.talk_s is not None]
    waited = sum(r.hold_s or 0 for r in rows)
    return {
        "offered": len(rows),
        "sl": sum(1 for r in answered if (r.hold_s or 0) <= 15) / len(rows),
        "connection": len(answered) / len(rows),
        "abandon": sum(1 for r in rows if r.abandoned) / len(rows),
        "handle": sum(handle) / len(handle) if handle else float("nan"),
        # Patience as the advisor estimates it from history: abandons over all time waited.
        "patience": waited / max(1, sum(1 for r in rows if r.abandoned)),
    }


async def run_surge(settings: Settings, plan: Plan, extra: int) -> None:
    """The surge twice, on the base load's recommended lines with `extra`
    agents in ticket work: without overflow, then with it."""
    base = plan.load
    lines = lines_needed(base).lines
    surge_load = base.scaled(plan.surge)
    print(
        f"surge: {plan.rate_per_min:g} calls/min, x{plan.surge:g} for {plan.surge_s / 60:g} of {plan.minutes:g} min; "
        f"{lines} lines (recommended for the base load), {extra} more agents in ticket work",
        flush=True,
    )
    model = predict(surge_load, lines, 15)
    rows = []
    async with controller(settings) as app:
        acd = app[ACD]
        for i in range(1, lines + extra + 1):
            await acd.login(f"seat{i:02d}", f"bench{i}", f"坐席{i}")
        for on, prefix in ((False, "1370"), (True, "1360")):
            acd.acd = acd.acd.model_copy(update={"overflow": acd.acd.overflow.model_copy(update={"enabled": on})})
            print(f"overflow {'on' if on else 'off'}:", flush=True)
            got = await run_stretch(app, plan, lines, seed=7, prefix=prefix)
            rows.append((on, got))
            await asyncio.sleep(plan.wrapup_s + 5)
    print(f"\nduring the surge ({surge_load.arrivals_per_hour / 60:.0f} calls/min on {lines} lines):")
    print(f"  {'':22s} {'overflow off':>13s} {'overflow on':>12s} {'Erlang A, lines only':>21s}")
    for name, key, m in (
        ("callers", "surge_offered", None),
        ("answered within 15 s", "surge_sl", model.service_level),
        ("connection rate", "surge_connection", model.connection_rate),
        ("abandon rate", "surge_abandon", model.abandon_rate),
    ):
        off, on_ = (got.get(key, float("nan")) for _, got in rows)
        if m is None:
            print(f"  {name:22s} {off:13.0f} {on_:12.0f}")
        else:
            print(f"  {name:22s} {100 * off:11.1f} % {100 * on_:10.1f} % {100 * m:19.1f} %", flush=True)
    by = {on: got for on, got in rows}
    record(
        "day_surge",
        {
            "surge_sl_without_overflow": by[False].get("surge_sl"),
            "surge_sl_with_overflow": by[True].get("surge_sl"),
            "surge_abandon_with_overflow": by[True].get("surge_abandon"),
        },
        higher_is_better=["surge_sl_without_overflow", "surge_sl_with_overflow"],
    )


async def run(settings: Settings, plan: Plan) -> None:
    load = plan.load
    advice = lines_needed(load)
    print(
        f"load: {plan.rate_per_min:g} calls/min, ring {RING_S:g} s + talk {plan.talk_s:g} s + after-call "
        f"{plan.wrapup_s:g} s, patience {plan.patience_s:g} s -> {load.erlangs:.2f} erlangs; "
        f"the advisor recommends {advice.lines} lines",
        flush=True,
    )
    figures: dict[str, float] = {}
    async with controller(settings) as app:
        for i in range(1, advice.lines + 1):
            await app[ACD].login(f"seat{i:02d}", f"bench{i}", f"坐席{i}")
        for lines, prefix in ((advice.lines, "1390"), (advice.lines - 1, "1380")):
            print(f"{lines} lines for {plan.minutes:g} min:", flush=True)
            got = await run_stretch(app, plan, lines, seed=lines, prefix=prefix)
            # The model twice: for the load planned, and for the load this stretch
            # drew (its arrivals and handle times; patience as planned, because a
            # few abandons estimate it poorly).
            planned = predict(load, lines, 15)
            drawn = predict(Load(got["arrivals_per_hour"], got["handle"] + RING_S, plan.patience_s), lines, 15)
            print(
                f"{lines} lines: {got['offered']} callers counted ({got['arrivals_per_hour'] / 60:.1f} a minute, "
                f"planned {plan.rate_per_min:g}); handle {got['handle'] + RING_S:.0f} s (planned "
                f"{load.handle_s:.0f}); patience estimated {got['patience']:.0f} s (drawn from {plan.patience_s:g})"
            )
            print(f"  {'':22s} {'measured':>9s} {'model, planned load':>20s} {'model, drawn load':>18s}")
            figures[f"sl_{lines}_lines"] = got["sl"]
            figures[f"sl_{lines}_lines_vs_model"] = got["sl"] - drawn.service_level
            for name, key, a, b in (
                ("answered within 15 s", "sl", planned.service_level, drawn.service_level),
                ("connection rate", "connection", planned.connection_rate, drawn.connection_rate),
                ("abandon rate", "abandon", planned.abandon_rate, drawn.abandon_rate),
            ):
                print(
                    f"  {name:22s} {100 * got[key]:8.1f} % {100 * a:10.1f} % ({100 * (got[key] - a):+5.1f}) "
                    f"{100 * b:9.1f} % ({100 * (got[key] - b):+5.1f})",
                    flush=True,
                )
    record("day", figures, higher_is_better=[k for k in figures if not k.endswith("_vs_model")])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=20.0, help="each stretch, real time")
    p.add_argument("--rate", type=float, default=10.0, help="calls a minute")
    p.add_argument("--talk", type=float, default=45.0, help="mean talk seconds (exponential)")
    p.add_argument("--wrapup", type=float, default=5.0, help="after-call seconds (acd.wrapup_seconds)")
    p.add_argument("--patience", type=float, default=40.0, help="mean patience seconds (exponential)")
    p.add_argument("--warmup", type=float, default=60.0, help="seconds of callers not counted at each start")
    p.add_argument("--surge", type=float, default=0.0, help="a surge: arrivals multiplied by this (e.g. 2)")
    p.add_argument("--surge-minutes", type=float, default=10.0, help="how long the surge lasts")
    p.add_argument("--extra", type=int, default=4, help="surge: agents in ticket work besides the lines")
    a = p.parse_args()
    plan = Plan(a.minutes, a.rate, a.talk, a.wrapup, a.patience, min(a.warmup, a.minutes * 30))
    if a.surge:
        plan = replace(plan, surge=a.surge, surge_s=min(a.surge_minutes, a.minutes) * 60)
    with bench_pbx(
        seats={"phones": "simulated"},
        acd={
            "wrapup_seconds": a.wrapup,
            "ring_seconds": 15,
            "callback_abandon_seconds": 3600,
            "callback_offer_seconds": 3600,
            "windows": [],
        },
    ) as (settings, _pbx):
        asyncio.run(run_surge(settings, plan, a.extra) if a.surge else run(settings, plan))


if __name__ == "__main__":
    main()
