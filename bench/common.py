"""Shared by the benchmarks: a bundled PBX and settings on the bench ports."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import wave
import zoneinfo
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from hotline.config import Settings
from hotline.configfile import load
from hotline.ivr.api import FLOWS
from hotline.pbx.install import install
from hotline.pbx.process import Pbx
from hotline.server import AMI, KEEPER, create_app
from hotline.web.keys import ENGINE

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def _state_folder() -> Iterator[str]:
    # HOTLINE_BENCH_KEEP=1: the run's state (database, logs) is kept and named.
    if os.environ.get("HOTLINE_BENCH_KEEP", "") not in ("", "0"):
        tmp = tempfile.mkdtemp(prefix="hotline-bench-")
        yield tmp
        print(f"bench: state kept in {tmp}")
        return
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        yield tmp


@contextmanager
def bench_pbx(**overrides: object) -> Iterator[tuple[Settings, Pbx]]:
    with _state_folder() as tmp:
        rootfs = os.environ.get("HOTLINE_TEST_ROOTFS", str(ROOT / "var" / "pbx-rootfs"))
        pbx = {"rootfs": rootfs, "instance_dir": f"{tmp}/pbx", **overrides.pop("pbx", {})}  # type: ignore[dict-item]
        settings = load(Path(__file__).parent / "hotline-bench.toml", state_dir=f"{tmp}/state", pbx=pbx, **overrides)
        install(settings, say=lambda line: None)
        pbx = Pbx(settings)
        # A benchmark stopped with SIGTERM stops its PBX too (the finally below).
        previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        pbx.start()
        try:
            yield settings, pbx
        finally:
            pbx.stop()
            signal.signal(signal.SIGTERM, previous)


def percentile(values: Iterable[float], p: float) -> float:
    data = sorted(values)
    if not data:
        return float("nan")
    if len(data) == 1:
        return data[0]
    return statistics.quantiles(data, n=1000, method="inclusive")[int(p * 10) - 1]


# A weekday morning in the hotline's city: every caller hears the day menu.
MORNING = dt.datetime(2026, 11, 25, 10, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))


def morning_clock() -> Callable[[], dt.datetime]:
    """Runs (timers end) but always reads as a weekday morning."""
    start = time.time()
    return lambda: MORNING + dt.timedelta(seconds=time.time() - start)


@asynccontextmanager
async def controller(settings: Settings) -> AsyncIterator[web.Application]:
    """The whole controller in this process, synced with the PBX."""
    app = create_app(settings, clock=morning_clock())
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, settings.web.host, settings.web.port).start()
    try:
        for _ in range(300):
            if app[KEEPER].mirror.synced:
                break
            await asyncio.sleep(0.05)
        with profiled(), census(app[ENGINE], app[AMI].dispatcher):
            yield app
    finally:
        await runner.cleanup()


# HOTLINE_BENCH_PROFILE=folder: the controller's process is sampled while the
# benchmark drives it (pyinstrument, 1 ms), and the folder gets the call tree
# (profile.txt, profile.html) and the functions that cost most in themselves
# (top.txt): where the time goes, before anything is changed.
PROFILE = os.environ.get("HOTLINE_BENCH_PROFILE", "")


def _area(path: str) -> str:
    """Where a frame's code lives: a hotline package, a library, or the standard library's module."""
    parts = Path(path).parts
    if "hotline" in parts and "site-packages" not in parts:
        i = parts.index("hotline")
        return ".".join(p.removesuffix(".py") for p in parts[i : i + 2])
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    return Path(path).stem or "(built-in)"


@contextmanager
def profiled() -> Iterator[None]:
    if not PROFILE:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
    try:
        yield
    finally:
        session = profiler.stop()
        folder = Path(PROFILE)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "profile.txt").write_text(profiler.output_text(show_all=False))
        (folder / "profile.html").write_text(profiler.output_html())
        session.save(str(folder / "session.pyisession"))  # pyinstrument --load it: any view, any depth
        # Self time per function; the loop's wait for I/O (uvloop's run, a
        # C function) is idle, not cost, and synthetic frames hold no code.
        own: dict[str, float] = {}
        areas: dict[str, float] = {}
        stack = [session.root_frame()]
        while stack:
            frame = stack.pop()
            if frame is None:
                continue
            stack.extend(frame.children)
            if frame.is_synthetic or (frame.function == "run" and "runners.py" in (frame.file_path or "")):
                continue
            key = f"{frame.function} ({Path(frame.file_path or '?').name}:{frame.line_no})"
            own[key] = own.get(key, 0.0) + frame.total_self_time
            area = _area(frame.file_path or "")
            areas[area] = areas.get(area, 0.0) + frame.total_self_time
        busy = sum(own.values()) or 1.0
        ranked = sorted(own.items(), key=lambda kv: -kv[1])[:40]
        lines = [f"{t:8.3f} s {100 * t / busy:5.1f} %  {k}" for k, t in ranked]
        head = f"sampled {session.duration:.1f} s of wall time, {busy:.1f} s busy (percent of busy)"
        by_area = [
            f"{t:8.3f} s {100 * t / busy:5.1f} %  {a}" for a, t in sorted(areas.items(), key=lambda kv: -kv[1])[:25]
        ]
        (folder / "top.txt").write_text(
            head + "\n\nby area:\n" + "\n".join(by_area) + "\n\nby function:\n" + "\n".join(lines) + "\n"
        )
        print(f"bench: profile written to {folder}/ (top.txt, profile.txt, profile.html)")


# HOTLINE_BENCH_SQL=1: every statement the controller sends its database is
# counted by its first words while the benchmark drives it, and every AMI
# event it receives by name; the census is printed at the end: how many
# statements (each a hop to the database thread on SQLite) and events a call
# costs, and which.
SQL_CENSUS = os.environ.get("HOTLINE_BENCH_SQL", "") not in ("", "0")


@contextmanager
def census(engine: Any, dispatcher: Any) -> Iterator[None]:
    if not SQL_CENSUS:
        yield
        return
    from collections import Counter

    from sqlalchemy import event

    counts: Counter[str] = Counter()
    events: Counter[str] = Counter()
    counting = [True]

    def received(e: Any) -> None:
        if counting[0]:
            # By name and what it is about (PJSIP/, Local/, Queue:, ...): whose events a call costs.
            about = e.raw.get("Device") or e.raw.get("Channel")
            kind = about[: max(about.find("/"), about.find(":")) + 1] if about else ""
            events[f"{e.raw.get('Event', type(e).__name__)} {kind}".rstrip()] += 1

    dispatcher.on_any(received)

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        counts[" ".join(statement.split())[:90]] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        yield
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
        counting[0] = False
        print(f"bench: {sum(counts.values())} database statements")
        for text, n in counts.most_common(30):
            print(f"{n:7d}  {text}")
        print(f"bench: {sum(events.values())} AMI events")
        for name, n in events.most_common(30):
            print(f"{n:7d}  {name}")


def median_max(values: list[float], scale: float = 1.0, unit: str = "s", width: int = 5, digits: int = 2) -> str:
    """'median 1.55 s  max 2.50 s': the two figures every benchmark prints."""
    med, top = scale * statistics.median(values), scale * max(values)
    return f"median {med:{width}.{digits}f} {unit}  max {top:{width}.{digits}f} {unit}"


async def wait_up(url: str) -> None:
    """Until a `hotline serve` at url answers its health check (up to a minute)."""
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(url + "api/health") as resp:
                    if resp.status in (200, 503):
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the controller did not come up")


# Seconds into the day menu when a simulated caller presses its key: the menu
# has begun whether the dialplan or the controller plays it.
MENU_BEGUN = 0.2


def menu_begins(settings: Settings, app: Any) -> float:
    """Seconds from the answer to a key pressed in the day menu: the welcome's
    length and a little. The load generators press by the clock: the PBX as
    shipped does not report the IVR's AGI commands (pbx.unread_events)."""
    name = app[FLOWS].current().prompts[("welcome", "prompt")].rsplit("/", 1)[-1]
    with wave.open(str(settings.prompts_dir / f"{name}.wav")) as w:
        return w.getnframes() / w.getframerate() + MENU_BEGUN


def acd_callers(
    settings: Settings, callers: int, press_after: float, deadline: float, spread: float | None = None
) -> list[str]:
    """The command line of bench/acd_callers.py (IVR -> queue -> seat) against settings' PBX."""
    argv = [str(Path(__file__).parent / "acd_callers.py"), "--port", str(settings.ami.port)]
    argv += ["--callers", str(callers), "--press-after", f"{press_after:.3f}"]
    argv += ["--deadline", str(deadline)] + (["--spread", str(spread)] if spread is not None else [])
    return argv


# Where a load generator finds the AMI secret (bench/ivr_callers.py and the others read it).
AMI_SECRET_ENV = "HOTLINE_BENCH_AMI_SECRET"


def generator_env(settings: Settings) -> dict[str, str]:
    """A load generator's environment: the AMI secret goes there, not on its
    command line (readable by anyone in ps, and a secret starting with '-'
    read as an option)."""
    return {**os.environ, AMI_SECRET_ENV: settings.ami.secret}


async def load_report(argv: list[str], deadline: float, settings: Settings) -> dict[str, Any] | None:
    """Run a load generator (its own process) and read the JSON it prints
    last. Ends by `deadline` whatever happens: a generator that hangs is
    killed and None returned, so a benchmark prints what it has, never
    waits for ever."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *argv, stdout=subprocess.PIPE, env=generator_env(settings)
    )
    try:
        async with asyncio.timeout(deadline):
            out, _ = await proc.communicate()
        report: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        return report
    except (TimeoutError, ValueError, IndexError):
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        print(f"bench: {' '.join(argv[:1])} did not report within {deadline:.0f} s")
        return None
