"""Every benchmark's figures as JSON, beside what it prints.

A run writes `<folder>/<benchmark>.json` (the folder: HOTLINE_BENCH_OUT, or
var/bench/): its figures, which way each is better, the arguments, and a
calibration of this machine at the time (a fixed piece of pure-Python work,
in milliseconds of CPU) so that bench/compare.py can compare ratios across
runs and machines instead of absolute times."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def out_dir() -> Path:
    return Path(os.environ.get("HOTLINE_BENCH_OUT") or ROOT / "var" / "bench")


def _work() -> int:
    # What a controller does most: small dicts, strings split and joined, sorting.
    total = 0
    for i in range(20_000):
        fields = {"Event": "Newstate", "Uniqueid": f"1700000000.{i}", "ChannelState": str(i % 7)}
        text = "\r\n".join(f"{k}: {v}" for k, v in fields.items())
        parsed = dict(line.split(": ", 1) for line in text.split("\r\n"))
        total += len(sorted(parsed.values(), key=len)[0])
    return total


def calibrate(rounds: int = 5) -> float:
    """Milliseconds of CPU this machine takes for a fixed piece of work (the
    best of a few rounds: noise only ever adds)."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.process_time()
        _work()
        best = min(best, time.process_time() - t0)
    return round(1000 * best, 3)


def record(
    bench: str,
    figures: Mapping[str, float | int | None],
    *,
    higher_is_better: Iterable[str] = (),
    units: Mapping[str, str] | None = None,
) -> Path:
    """Write the figures; NaN and None (not measured) are left out."""
    clean = {k: float(v) for k, v in figures.items() if v is not None and v == v}
    doc = {
        "bench": bench,
        "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "calibration_ms": calibrate(),
        "figures": clean,
        "higher_is_better": sorted(set(higher_is_better) & set(clean)),
        "units": dict(units or {}),
    }
    folder = out_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{bench}.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    print(f"bench: figures written to {path}")
    return path
