"""A regression guard for the hot paths: a quick subset of the benchmarks,
compared by ratios with a committed baseline (bench/baseline.json).

Each benchmark of the subset runs `--repeat` times (default 2); every time
figure is divided by the machine's calibration taken in the same run
(bench/record.py: a fixed piece of pure-Python work), so a slower or faster
machine compares by the same ratios; counts and ratios are compared as they
are. The run-to-run noise is measured here (the spread between the repeats)
and a figure is called worse only beyond it (and never within 10 %). Not
part of CI: timings are noisy there. Run it before stopping when a hot path
changed; `--update` writes the baseline from this run.

    .venv/bin/python -m bench.compare [--repeat 2] [--update] [--only native_twin,...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BASELINE = Path(__file__).with_name("baseline.json")
FLOOR = 0.10  # never call a change worse within this share

# The quick subset: each a few tens of seconds to two minutes here.
SUBSET: dict[str, list[str]] = {
    # Two rounds: twin, controller, controller, twin; one round (twin, then
    # controller) read a machine slowing down as the controller's cost.
    "native_twin": ["--callers", "80", "--spread", "20", "--rounds", "2"],
    "channel_intake": ["--writers", "16", "--seconds", "6"],
    "seatmap_fanout": ["--seats", "1500", "--rate", "50", "--seconds", "15", "--viewers", "10"],
    "work_queue": ["--items", "150", "--minutes", "1", "--agents", "10"],
}


@dataclass(frozen=True)
class Verdict:
    figure: str
    base: float | None
    now: float
    noise: float
    word: str  # worse, better, same, new


def kind(name: str, units: dict[str, str]) -> str:
    """time (divided by the calibration), rate (multiplied), or plain."""
    unit = units.get(name, "")
    if unit:
        return unit
    if "_ms" in name:
        return "time"
    return "plain"


def normalised(doc: dict) -> dict[str, float]:
    cal = float(doc["calibration_ms"])
    units = doc.get("units", {})
    out = {}
    for name, value in doc["figures"].items():
        k = kind(name, units)
        out[name] = value / cal if k == "time" else value * cal if k == "rate" else value
    return out


def run_once(bench: str, args: list[str], folder: Path) -> dict | None:
    env = {**os.environ, "HOTLINE_BENCH_OUT": str(folder)}
    env.pop("HOTLINE_BENCH_PROFILE", None)  # a sampled run is slower: never compared
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{bench}", *args], env=env, capture_output=True, text=True, timeout=900
    )
    path = folder / f"{bench}.json"
    if done.returncode != 0 or not path.exists():
        print(f"  {bench}: failed (exit {done.returncode})\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        return None
    print(f"  {bench}: {time.monotonic() - t0:.0f} s")
    doc: dict = json.loads(path.read_text())
    path.unlink()
    return doc


def summarise(docs: list[dict]) -> tuple[dict[str, float], dict[str, float], list[str]]:
    """Median of the normalised figures, their spread (share of the median)
    and which are better higher."""
    values: dict[str, list[float]] = {}
    for d in docs:
        for name, v in normalised(d).items():
            values.setdefault(name, []).append(v)
    med = {n: statistics.median(vs) for n, vs in values.items()}
    noise = {n: (max(vs) - min(vs)) / abs(med[n]) if med[n] else 0.0 for n, vs in values.items()}
    higher = sorted({h for d in docs for h in d.get("higher_is_better", [])})
    return med, noise, higher


def judge(name: str, base: dict | None, now: float, noise: float, higher: bool) -> Verdict:
    if base is None:
        return Verdict(name, None, now, noise, "new")
    b = float(base["value"])
    allowed = max(noise, float(base.get("noise", 0.0)), FLOOR)
    if b == 0:
        worse = now < 0 if higher else now > 0
        return Verdict(name, b, now, allowed, "worse" if worse else "same")
    change = (now - b) / abs(b)
    if higher:
        change = -change
    word = "worse" if change > allowed else "better" if change < -allowed else "same"
    return Verdict(name, b, now, allowed, word)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--update", action="store_true", help="write bench/baseline.json from this run")
    p.add_argument("--only", default="", help="comma-separated benchmarks of the subset")
    a = p.parse_args()
    chosen = [b for b in SUBSET if not a.only or b in a.only.split(",")]
    if not chosen or not 1 <= a.repeat <= 5:
        raise SystemExit(f"--only from {', '.join(SUBSET)}; --repeat 1-5")
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {"benchmarks": {}}
    results: dict[str, dict] = {}
    worse = 0
    with tempfile.TemporaryDirectory(prefix="hotline-compare-") as tmp:
        for bench in chosen:
            print(f"{bench} {' '.join(SUBSET[bench])} x{a.repeat}")
            docs = [d for _ in range(a.repeat) if (d := run_once(bench, SUBSET[bench], Path(tmp))) is not None]
            if not docs:
                worse += 1
                continue
            med, noise, higher = summarise(docs)
            results[bench] = {
                "args": SUBSET[bench],
                "figures": {n: {"value": round(med[n], 6), "noise": round(noise[n], 4)} for n in med},
                "higher_is_better": higher,
            }
            known = baseline["benchmarks"].get(bench, {}).get("figures", {})
            for name in sorted(med):
                v = judge(name, known.get(name), med[name], noise[name], name in higher)
                worse += v.word == "worse"
                base = "—" if v.base is None else f"{v.base:.4g}"
                print(
                    f"    {v.word:<6} {name:<30} baseline {base:>10}  now {v.now:10.4g}  (noise allowed {v.noise:.0%})"
                )
    if a.update:
        BASELINE.write_text(
            json.dumps(
                {
                    "note": "figures divided by (time) or multiplied by (rate) the calibration: see bench/compare.py",
                    "repeat": a.repeat,
                    "benchmarks": {**baseline["benchmarks"], **results},
                },
                ensure_ascii=False,
                indent=1,
            )
            + "\n"
        )
        print(f"baseline written: {BASELINE}")
    elif worse:
        print(f"{worse} figure(s) worse than the baseline beyond the noise")
        raise SystemExit(1)
    else:
        print("nothing worse than the baseline beyond the noise")


if __name__ == "__main__":
    main()
