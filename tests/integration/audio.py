"""What a simulated phone heard, measured with sox, and when events happened
by Asterisk's own clock: how the integration tests check that a caller hears
something."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from hotline.ami import events as ev


def rms(path: Path) -> float:
    """sox's RMS amplitude of a recording (0 silent, 1 full scale)."""
    out = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True, timeout=30).stderr
    return float(re.search(r"RMS\s+amplitude:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]


def stamp(e: ev.Event) -> float:
    """When Asterisk sent the event (manager.conf timestampevents)."""
    return float(e.raw.get("Timestamp"))


def stamp_plus(e: ev.Event, seconds: float) -> float:
    return stamp(e) + seconds


def rms_between(path: Path, start: ev.Event, since: ev.Event | float, until: ev.Event | float) -> float:
    """RMS of a recording between two moments, inside by a quarter second at each end."""
    t0 = (since if isinstance(since, float) else stamp(since)) - stamp(start) + 0.25
    t1 = (until if isinstance(until, float) else stamp(until)) - stamp(start) - 0.25
    assert t1 - t0 > 0.4, (t0, t1)
    return sox_stat(path, t0, t1 - t0)[0]


def sox_stat(path: Path, start: float, length: float) -> tuple[float, float]:
    """(RMS amplitude, rough frequency) of a stretch of a recording."""
    out = subprocess.run(
        ["sox", str(path), "-n", "trim", f"{start:.2f}", f"{length:.2f}", "stat"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stderr
    rms = float(re.search(r"RMS\s+amplitude:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    freq = re.search(r"Rough\s+frequency:\s+([0-9.]+)", out)  # silence has none
    return rms, float(freq.group(1)) if freq else 0.0


def seconds(path: Path) -> float:
    out = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True, timeout=30).stderr
    return float(re.search(r"Length \(seconds\):\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
