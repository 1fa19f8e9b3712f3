"""Triage suggestions on the seeded history (hotline/seed/triage-history.jsonl.gz):
accuracy on tickets held out by time (trained on weeks 1-4, tested on week
5), the learning curve (accuracy against training size, each size the newest
tickets of weeks 1-4), what a retrain costs, and the suggestion latency the
desk waits for (the controller's Triage.suggest: address normalisation, the
worker's jieba and ranking, the process hop), over every week-5 ticket.

    .venv/bin/python -m bench.triage
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time

from bench.common import ROOT, percentile
from bench.record import record
from hotline.configfile import load
from hotline.tickets.categories import CategoryTree
from hotline.triage import history, train
from hotline.triage.features import Tokens
from hotline.triage.service import Triage

SIZES = (250, 500, 1000, 2000, 3000)


async def latency(tmp: str, past: list[train.Example], week5: list[train.Example]) -> dict[str, float]:
    settings = load(ROOT / "bench" / "hotline-bench.toml", state_dir=f"{tmp}/state")
    clock = lambda: dt.datetime.now(dt.UTC)  # noqa: E731
    triage = Triage(settings, None, clock, CategoryTree(settings.tickets))  # type: ignore[arg-type]
    t0 = time.monotonic()
    meta = await triage.retrain("bench", past, source="bench")
    retrain_s = time.monotonic() - t0
    await triage._worker()  # the dictionary loads before anyone types
    ms = []
    for r in week5:
        t0 = time.perf_counter()
        got = await triage.suggest(r.content, r.address, "")
        ms.append((time.perf_counter() - t0) * 1000)
        assert got.categories, got.reason
    await triage.close()
    return {
        "retrain_s": round(retrain_s, 2),
        "retrain_cpu_s": meta["cpu_s"],
        "suggest_p50_ms": round(percentile(ms, 50), 2),
        "suggest_p99_ms": round(percentile(ms, 99), 2),
        "suggest_max_ms": round(max(ms), 2),
    }


def main() -> None:
    rows = history.read()
    past = [r for r, w in rows if w <= 4]
    week5 = [r for r, w in rows if w == 5]
    print(
        f"seeded history: {len(rows)} tickets, {len({r.category for r, _ in rows})} categories; "
        f"weeks 1-4 {len(past)}, week 5 {len(week5)}"
    )
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        tokens = Tokens(
            sorted(CategoryTree(load(ROOT / "bench" / "hotline-bench.toml").tickets).units.place_names()), tmp
        )
        t0 = time.process_time()
        curve = train.learning_curve(past, week5, [*SIZES, len(past)], tokens)
        curve_cpu = time.process_time() - t0
        print("trained on   top-1   top-3   (week 5 held out)")
        for point in curve:
            print(f"{point['train']:>10}   {point['top1']:.3f}   {point['top3']:.3f}")
        print(f"({len(curve)} fits in {curve_cpu:.1f} s of CPU)")
        lat = asyncio.run(latency(tmp, past, week5))
    full = curve[-1]
    print(
        f"retrain on weeks 1-4 (a child process, with its own held-out check): {lat['retrain_s']:.1f} s, "
        f"{lat['retrain_cpu_s']:.1f} s CPU in the child"
    )
    print(
        f"suggestion latency over {len(week5)} week-5 tickets: p50 {lat['suggest_p50_ms']:.2f} ms, "
        f"p99 {lat['suggest_p99_ms']:.2f} ms, max {lat['suggest_max_ms']:.2f} ms"
    )
    figures: dict[str, float | int | None] = {"top1": full["top1"], "top3": full["top3"], **lat}
    for point in curve[:-1]:
        figures[f"top3_at_{point['train']}"] = point["top3"]
    record(
        "triage",
        figures,
        higher_is_better=[k for k in figures if k.startswith("top")],
        units={k: ("ms" if k.endswith("_ms") else "s" if k.endswith("_s") else "") for k in figures},
    )


if __name__ == "__main__":
    main()
