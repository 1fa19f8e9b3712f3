"""Asterisk's CPU per call: the desk's browser phone (WebRTC: DTLS-SRTP, ICE,
the relay's websocket) beside plain SIP softphones (baresip, RTP and
SDES-SRTP), one kind at a time, N calls at once, each caller talking.

Per kind: Asterisk's CPU over a steady window of N answered calls, minus
its idle CPU over the same length, per call-second; and for the browser, the
time from the answer click to audio arriving in the page. Everything on
loopback; bounded by --seconds per window.

    .venv/bin/python -m bench.webphone_cpu [--calls 3] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import bench_pbx, controller
from bench.native_twin import cpu_seconds
from bench.record import record
from hotline import accounts
from hotline.acd.api import ACD
from hotline.config import Settings
from hotline.credentials import ensure_secrets
from hotline.pbx.process import Pbx
from hotline.roles import Role
from hotline.web.keys import AMI, SESSIONS
from tests.integration.browser import chromium, media_args
from tests.integration.sip_phone import Baresip


async def callers(client: Any, n: int) -> None:
    for i in range(n):
        await client.action(
            "Originate",
            Channel="Local/s@hotline-fallback",
            Context="sim-duplex",
            Exten=f"bench-{i}",
            Priority="1",
            CallerID=f"<1390000{i:04d}>",
            Async="true",
            Timeout=60000,
        )


async def window(pbx: Pbx, seconds: float) -> float:
    pid = pbx.asterisk_pid()
    assert pid is not None
    before = cpu_seconds(pid)
    await asyncio.sleep(seconds)
    return cpu_seconds(pid) - before


async def hang_up_all(client: Any) -> None:
    for c in (await client.list_action("CoreShowChannels")).events:
        try:
            await client.action("Hangup", Channel=c.channel)
        except Exception:
            pass
    await asyncio.sleep(3)


async def talking(app: Any, n: int, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while sum(1 for s in app[ACD].floor.seats.values() if s.talking) < n:
        if time.monotonic() > end:
            raise SystemExit(f"bench: fewer than {n} calls were answered within {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def softphones(settings: Settings, pbx: Pbx, app: Any, n: int, seconds: float, srtp: bool) -> float:
    for i in range(1, n + 1):
        await app[ACD].login(f"seat{i:02d}", f"bench{i}", f"坐席{i}")
    # A seat's password changed when the previous round's agent left it: read it now.
    await asyncio.sleep(2)
    passwords = ensure_secrets(settings)["seat_passwords"]
    tmp = Path(tempfile.mkdtemp(prefix="bench-baresip-"))
    phones = []
    for i in range(1, n + 1):
        seat = f"seat{i:02d}"
        rtp = settings.pbx.rtp_end + 1 + 20 * i
        phone = Baresip(
            tmp / seat,
            user=seat,
            password=passwords[seat],
            pbx_port=settings.pbx.sip_tls_port if srtp else settings.pbx.sip_port,
            listen_port=settings.pbx.sip_port + 30 + 3 * i,
            rtp_ports=(rtp, rtp + 19),
            answer=True,
            transport="tls" if srtp else "udp",
            srtp=srtp,
        )
        phone.start()
        phones.append(phone)
    try:
        await asyncio.sleep(3)  # registered
        await callers(app[AMI], n)
        await talking(app, n)
        await asyncio.sleep(2)
        return await window(pbx, seconds)
    finally:
        await hang_up_all(app[AMI])
        for phone in phones:
            phone.stop()
        for i in range(1, n + 1):
            await app[ACD].logout(f"seat{i:02d}", "bench")


async def browsers(settings: Settings, pbx: Pbx, app: Any, n: int, seconds: float) -> tuple[float, list[float]]:
    tone = Path(tempfile.mkdtemp(prefix="bench-tone-")) / "tone.wav"
    proc = await asyncio.create_subprocess_exec(
        "sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(tone), "synth", "60", "sine", "440"
    )
    await proc.wait()
    base = f"http://{settings.web.host}:{settings.web.port}"
    people = []
    async with app[SESSIONS]() as db, db.begin():
        for i in range(1, n + 1):
            _, password = await accounts.create_user(db, f"web{i}", f"网页坐席{i}", [Role.AGENT])
            people.append((f"web{i}", password, f"seat{i:02d}"))
    delays: list[float] = []
    async with chromium(media_args(tone)) as browser:
        pages = []
        for user, password, seat in people:
            ctx = await browser.new_context()
            page = await ctx.new_page()
            await page.goto(base + "/login?next=/desk")
            await page.fill("#u", user)
            await page.fill("#p", password)
            await page.click("button[type=submit]")
            await page.wait_for_url(base + "/desk")
            async with aiohttp.ClientSession(cookies={c["name"]: c["value"] for c in await ctx.cookies()}) as http:
                async with http.post(
                    base + "/api/agent/login", json={"seat": seat, "ready": True}, headers={"Origin": base}
                ) as resp:
                    assert resp.status == 200, await resp.text()
            await page.check("#wpToggle")
            await page.wait_for_selector("#wpState.ready", timeout=20000)
            pages.append(page)
        await callers(app[AMI], n)
        for page in pages:
            await page.wait_for_selector("#wpRinging:not(.hidden)", timeout=30000)
            clicked = time.monotonic()
            await page.click("#wpAnswer")
            while True:  # audio arriving in the page, read the way the tests read it
                tone_in = await page.evaluate("window.deskPhone.remoteTone(100)")
                if tone_in and tone_in["rms"] > 0.005:
                    break
                if time.monotonic() - clicked > 20:
                    raise SystemExit("bench: no audio reached the browser within 20 s")
            delays.append(time.monotonic() - clicked)
        await talking(app, n)
        await asyncio.sleep(2)
        used = await window(pbx, seconds)
        await hang_up_all(app[AMI])
    return used, delays


async def run(settings: Settings, pbx: Pbx, n: int, seconds: float) -> None:
    async with controller(settings) as app:
        await asyncio.sleep(3)
        idle = await window(pbx, seconds)
        plain = await softphones(settings, pbx, app, n, seconds, srtp=False)
        sdes = await softphones(settings, pbx, app, n, seconds, srtp=True)
        web, delays = await browsers(settings, pbx, app, n, seconds)

    def per_call(used: float) -> float:
        return 1000 * max(used - idle, 0.0) / (n * seconds)

    print(f"{n} calls at once, {seconds:.0f} s windows; Asterisk idle {1000 * idle / seconds:.1f} ms CPU per second")
    print("Asterisk CPU per call-second (idle subtracted):")
    print(f"  plain SIP (baresip, RTP)            {per_call(plain):6.2f} ms")
    print(f"  plain SIP (baresip, TLS + SDES-SRTP) {per_call(sdes):6.2f} ms")
    print(
        f"  browser phone (WebRTC, DTLS-SRTP)   {per_call(web):6.2f} ms   ({per_call(web) / max(per_call(plain), 1e-9):.2f}x RTP)"
    )
    print("answer click -> caller's audio read in the page: " + ", ".join(f"{d:.2f} s" for d in delays))
    record(
        "webphone_cpu",
        {
            "rtp_ms_per_call_second": per_call(plain),
            "srtp_ms_per_call_second": per_call(sdes),
            "webrtc_ms_per_call_second": per_call(web),
            "answer_to_audio_max_ms": 1000 * max(delays) if delays else None,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    n = max(1, min(args.calls, 8))
    seconds = max(5.0, min(args.seconds, 120.0))
    with bench_pbx(seats={"phones": "pjsip"}) as (settings, pbx):
        asyncio.run(run(settings, pbx, n, seconds))


if __name__ == "__main__":
    main()
