"""Seat map fan-out: 1,500 seats' worth of AMI events at 50/s to 20 viewers,
one of them deliberately slow (target p99 < 100 ms for the others).

The AMI events come from a small scripted server on loopback (Asterisk is
not needed to produce AgentCalled/AgentConnect/AgentComplete for 1,500
seats); they go through the real controller: AMI client, typed events, ACD,
seat-map hub, aiohttp websockets. Latency is from the moment an event is
written to the controller's socket to the moment a viewer has parsed the
frame showing the new state.

    .venv/bin/python -m bench.seatmap_fanout [--seats 1500 --rate 50 --seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from bench.common import morning_clock, percentile, profiled
from bench.record import record
from hotline import accounts, eventloop
from hotline.acd.api import ACD
from hotline.ami.protocol import FrameBuffer, Message
from hotline.configfile import load
from hotline.roles import Role
from hotline.seatmap.api import HUB
from hotline.server import KEEPER, create_app
from hotline.web.keys import SESSIONS
from hotline.web.login import THROTTLE
from hotline.web.throttle import LoginThrottle

STATE_AFTER = {"AgentCalled": "ringing", "AgentConnect": "talking", "AgentComplete": "wrapup"}


class ScriptedAMI:
    """Answers every action with Success and every list with an empty list;
    a member added, paused or removed is told back as Asterisk tells it."""

    def __init__(self) -> None:
        self.writer: asyncio.StreamWriter | None = None
        self.port = 0
        self.members: dict[tuple[str, str], dict[str, str]] = {}  # (queue, interface) -> its fields

    async def start(self) -> None:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        frames = FrameBuffer()
        while data := await reader.read(65536):
            for msg in frames.feed(data):
                if not isinstance(msg, Message):
                    continue
                aid = msg.action_id
                action = msg.get("Action").lower()
                if action in ("coreshowchannels", "queuestatus", "devicestatelist"):
                    writer.write(
                        f"Response: Success\r\nActionID: {aid}\r\nEventList: start\r\n\r\n"
                        f"Event: ListComplete\r\nActionID: {aid}\r\nEventList: Complete\r\n\r\n".encode()
                    )
                elif action == "coresettings":
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\nAsteriskVersion: 22-bench\r\n\r\n".encode())
                else:
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\n\r\n".encode())
                    writer.write(self._member_event(action, msg))
                if action == "login":
                    self.writer = writer
                    writer.write(b"Event: FullyBooted\r\nUptime: 1000\r\n\r\n")
            await writer.drain()

    def _member_event(self, action: str, msg: Message) -> bytes:
        """What Asterisk says after a member change, so the controller's
        mirror and its reconciler settle as they do against a real PBX."""
        key = (msg.get("Queue"), msg.get("Interface"))
        if action == "queueremove":
            self.members.pop(key, None)
            return f"Event: QueueMemberRemoved\r\nQueue: {key[0]}\r\nInterface: {key[1]}\r\n\r\n".encode()
        if action not in ("queueadd", "queuepause"):
            return b""
        member = self.members.setdefault(key, {"MemberName": msg.get("MemberName"), "StateInterface": ""})
        if action == "queueadd":
            member["StateInterface"] = msg.get("StateInterface")
        member["Paused"] = "1" if msg.get("Paused") == "true" else "0"
        member["PausedReason"] = msg.get("Reason")
        name = "QueueMemberAdded" if action == "queueadd" else "QueueMemberPause"
        fields = {"Queue": key[0], "Interface": key[1], **member, "Status": "1", "Penalty": "0", "InCall": "0"}
        return (f"Event: {name}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode()

    def send(self, event: str, interface: str, caller: str) -> float:
        sent = time.time()
        text = (
            f"Event: {event}\r\nTimestamp: {sent:.6f}\r\nQueue: hotline\r\nInterface: {interface}\r\n"
            f"Channel: Local/s@hotline-fallback-{caller};2\r\nUniqueid: {caller}\r\nCallerIDNum: {caller}\r\n"
            f"HoldTime: 1\r\nTalkTime: 5\r\n\r\n"
        )
        assert self.writer is not None
        self.writer.write(text.encode())
        return sent


async def viewer(
    http: aiohttp.ClientSession,
    url: str,
    pending: dict[str, tuple[str, float]],
    lat: list[float],
    slow: bool,
    stop: asyncio.Event,
    stats: dict[str, int],
) -> None:
    async with http.ws_connect(url, max_msg_size=64 * 1024 * 1024, origin=url.split("/ws/")[0]) as ws:
        while not stop.is_set():
            try:
                msg = await asyncio.wait_for(ws.receive(), 0.5)
            except TimeoutError:
                continue
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            now = time.time()
            stats["snapshots" if frame["type"] == "snapshot" else "deltas"] += 1
            if not slow:
                for seat, s in frame.get("seats", {}).items():
                    want = pending.get(seat)
                    if want is not None and s["state"] == want[0]:
                        lat.append(now - want[1])
            if slow:
                await asyncio.sleep(1.0)  # a browser on a bad link


async def run(seats: int, rate: float, seconds: float, viewers: int) -> None:
    ami = ScriptedAMI()
    await ami.start()
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        settings = load(
            Path(__file__).parent / "hotline-bench.toml",
            state_dir=f"{tmp}/state",
            pbx={"instance_dir": f"{tmp}/pbx"},
            ami={"port": ami.port, "secret": "bench"},
            seats={"count": seats, "phones": "simulated"},
            acd={"wrapup_seconds": 3600.0},
        )
        app = create_app(settings, clock=morning_clock())
        # Every viewer logs in from 127.0.0.1: lift the per-address login limit.
        app[THROTTLE] = LoginThrottle(per_address=10_000, inflight_per_address=10_000)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, settings.web.host, settings.web.port).start()
        try:
            while not app[KEEPER].mirror.synced:
                await asyncio.sleep(0.05)
            acd = app[ACD]
            names = settings.seats.names()
            for i, name in enumerate(names):
                await acd.login(name, f"a{i}", f"坐席{i}")
            await acd.set_lines(seats, "bench")
            async with app[SESSIONS]() as db, db.begin():
                _, password = await accounts.create_user(db, "bench-lead", "值班长", [Role.LEAD])
            base = f"http://{settings.web.host}:{settings.web.port}"
            pending: dict[str, tuple[str, float]] = {}
            lat: list[float] = []
            stop = asyncio.Event()
            stats = {"snapshots": 0, "deltas": 0}
            slow_stats = {"snapshots": 0, "deltas": 0}
            sessions, tasks = [], []
            for n in range(viewers):
                http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
                async with http.post(f"{base}/api/login", json={"username": "bench-lead", "password": password}):
                    pass
                sessions.append(http)
                slow = n == 0
                tasks.append(
                    asyncio.create_task(
                        viewer(http, f"{base}/ws/seatmap", pending, lat, slow, stop, slow_stats if slow else stats)
                    )
                )
            await asyncio.sleep(2)
            cycle = ["AgentCalled", "AgentConnect", "AgentComplete"]
            step = {name: 0 for name in names}
            cpu0, t0 = time.process_time(), time.monotonic()
            sent = 0
            with profiled():
                while time.monotonic() - t0 < seconds:
                    name = random.choice(names)
                    event = cycle[step[name] % 3]
                    step[name] += 1
                    at = ami.send(event, settings.seats.interface(name), f"1380000{sent:04d}")
                    pending[name] = (STATE_AFTER[event], at)
                    sent += 1
                    await asyncio.sleep(max(0.0, t0 + sent / rate - time.monotonic()))
                await asyncio.sleep(1)
            cpu = time.process_time() - cpu0
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0.2)
            for http in sessions:
                await http.close()
            ms = [x * 1000 for x in lat]
            print(f"seats / viewers / events  {seats} / {viewers} (1 slow) / {sent} at {rate:g}/s for {seconds:g} s")
            print(
                f"event -> frame (fast)     p50 {percentile(ms, 50):.1f} ms  p99 {percentile(ms, 99):.1f} ms"
                f"  max {max(ms, default=float('nan')):.1f} ms  (n={len(ms)})"
            )
            print(f"frames to fast viewers    {stats['deltas']} deltas, {stats['snapshots']} snapshots")
            print(
                f"slow viewer               {slow_stats['deltas']} deltas, {slow_stats['snapshots']} snapshots"
                f" read (one frame a second); server frames dropped for it: {app[HUB].dropped}"
            )
            print(f"process CPU (all of it)   {cpu:.1f} s over {seconds:g} s")
            record(
                "seatmap_fanout",
                {
                    "frame_p50_ms": percentile(ms, 50),
                    "frame_p99_ms": percentile(ms, 99),
                    "cpu_ms_per_event": 1000 * cpu / max(sent, 1),
                },
            )
        finally:
            await runner.cleanup()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seats", type=int, default=1500)
    p.add_argument("--rate", type=float, default=50)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--viewers", type=int, default=20)
    a = p.parse_args()
    eventloop.run(run(a.seats, a.rate, a.seconds, a.viewers))


if __name__ == "__main__":
    main()
