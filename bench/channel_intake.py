"""Channel intake under load, then kill -9: how many tickets a `hotline serve`
acknowledges, and that every one it acknowledged is kept.

16 gateway writers post tickets (web, WeChat, SMS, app) as fast as the
controller answers for 6 s; the controller is then killed with SIGKILL
while writes are in flight, started again, and the acknowledged numbers are
looked up. Every intake makes a ticket, its work item, its outbox message
and a duplicate probe, as in production.

    .venv/bin/python -m bench.channel_intake [--writers 16] [--seconds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from sqlalchemy import select

from bench.common import bench_pbx, percentile, wait_up
from bench.record import record
from hotline.config import Settings
from hotline.credentials import ensure_secrets
from hotline.db.engine import make_engine, sessionmaker
from hotline.db.models import Ticket, WorkItem

MATTERS = ["夜间施工噪音", "餐馆油烟扰民", "路灯不亮", "井盖缺失", "占道经营", "小区停水", "违章停车堵路"]


def form(n: int) -> dict[str, str]:
    return {
        "category": "env-noise",
        "district": "东城区",
        "caller": f"138{n:08d}",
        "address": f"幸福路{n % 400 + 1}号",
        "content": f"幸福路{n % 400 + 1}号附近{MATTERS[n % len(MATTERS)]}，已经持续{n % 9 + 2}天",
    }


def _serve(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HOTLINE_STATE_DIR": str(settings.state_dir),
        "HOTLINE_PBX__ROOTFS": str(settings.pbx.rootfs),
        "HOTLINE_PBX__INSTANCE_DIR": str(settings.pbx.instance_dir),
        "HOTLINE_AMI__SECRET": settings.ami.secret,
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hotline", "--config", str(Path(__file__).parent / "hotline-bench.toml"), "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def run(settings: Settings, writers: int, seconds: float) -> None:
    url = f"http://{settings.web.host}:{settings.web.port}/"
    tokens = ensure_secrets(settings)["gateway_tokens"]
    channels = [c for c in ("web", "wechat", "sms", "app") if c in tokens]
    log = settings.state_dir / "serve.log"
    proc = _serve(settings, log)
    acknowledged: list[str] = []
    latencies: list[float] = []
    counter = iter(range(10**9))
    try:
        await wait_up(url)
        stop_at = time.monotonic() + seconds

        async def writer(http: aiohttp.ClientSession, k: int) -> None:
            headers = {"Authorization": f"Bearer {tokens[channels[k % len(channels)]]}"}
            while time.monotonic() < stop_at:
                t0 = time.monotonic()
                try:
                    async with http.post(url + "api/channels/tickets", json=form(next(counter)), headers=headers) as r:
                        if r.status == 201:
                            acknowledged.append((await r.json())["number"])
                            latencies.append(time.monotonic() - t0)
                except (TimeoutError, aiohttp.ClientError):
                    return  # the server died under us: never acknowledged

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=writers)) as http:
            tasks = [asyncio.ensure_future(writer(http, k)) for k in range(writers)]
            await asyncio.sleep(seconds)
            proc.send_signal(signal.SIGKILL)  # writes are in flight
            await asyncio.to_thread(proc.wait, 10)
            await asyncio.gather(*tasks)
        proc = _serve(settings, log)
        await wait_up(url)
        engine = make_engine(settings)
        try:
            async with sessionmaker(engine)() as db:
                stored = set((await db.scalars(select(Ticket.number))).all())
                items = set((await db.scalars(select(WorkItem.ref).where(WorkItem.kind == "intake"))).all())
        finally:
            await engine.dispose()
    finally:
        if proc.poll() is None:
            proc.terminate()
            await asyncio.to_thread(proc.wait, 20)
    acked = set(acknowledged)
    lost = len(acked - stored)
    print(f"channel intake: {writers} writers for {seconds:g} s, then kill -9 of the controller")
    print(
        f"  acknowledged {len(acked)} ({len(acked) / seconds:.0f} per second); kept {len(acked & stored)}, lost {lost}"
    )
    print(f"  acknowledged without a work item: {len(acked - items)}")
    print(
        f"  answer time per intake: p50 {1000 * percentile(latencies, 50):.1f} ms  "
        f"p99 {1000 * percentile(latencies, 99):.1f} ms"
    )
    record(
        "channel_intake",
        {
            "acknowledged": len(acked),
            "lost": lost,
            "without_item": len(acked - items),
            "answer_p50_ms": 1000 * percentile(latencies, 50),
            "answer_p99_ms": 1000 * percentile(latencies, 99),
        },
        higher_is_better=["acknowledged"],
        units={"acknowledged": "rate"},  # tickets in a fixed time: a faster machine acknowledges more
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--writers", type=int, default=16)
    p.add_argument("--seconds", type=float, default=6.0)
    args = p.parse_args()
    if not 1 <= args.writers <= 64 or not 0 < args.seconds <= 120:
        raise SystemExit("writers 1-64, seconds up to 120")
    with bench_pbx() as (settings, _pbx):
        asyncio.run(run(settings, args.writers, args.seconds))


if __name__ == "__main__":
    main()
