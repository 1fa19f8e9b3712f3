"""110's side of the link, simulated (tests, demos, and an operator trying
the interface before 110 connects): it receives the hotline's incidents and
status reports (checking each signature, de-duplicating by Idempotency-Key,
answering 503 while `down`), answers each incident with a receipt (接警)
and later a dispatch result (处警), and pushes incidents of its own.

`hotline sim 110` runs it with the installation's secret."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import logging
import time
from typing import Any

import aiohttp
from aiohttp import web

from hotline import signing
from hotline.tasks import TaskSet, wait_event

log = logging.getLogger(__name__)

SAMPLES = [
    ("A01", "幸福路 12 号小区门口路灯不亮，晚上很黑。", "东城区幸福路 12 号"),
    ("B07", "楼上装修每天晚上十点以后还在施工，噪音很大。", "西城区和平街 3 号楼"),
    ("C03", "小区暖气不热，室温只有 15 度。", "南山区滨河小区 8 栋"),
]


class Police110Simulator:
    def __init__(
        self,
        secret: bytes,
        hotline_url: str,
        *,
        receipt_after: float = 0.2,
        dispatch_after: float = 1.0,
        max_skew: float = 300,
    ):
        self.secret = secret
        self.hotline_url = hotline_url.rstrip("/")
        self.receipt_after = receipt_after
        self.dispatch_after = dispatch_after
        self.max_skew = max_skew
        self.down = False
        self.incidents: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> incident (with its intake_no)
        self.statuses: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> status report
        self.received_at: dict[str, float] = {}  # intake number -> first status heard (monotonic)
        self.deliveries: list[tuple[str, str]] = []  # (endpoint, key), duplicates included
        self.refused = 0
        self.reports: list[tuple[dict[str, Any], int]] = []  # what 110 sent back, with the hotline's answer
        self._seq = itertools.count(1)
        self._tasks = TaskSet("sim-110")
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.changed = asyncio.Event()

    # -- the server 110 runs -------------------------------------------------------------------
    async def start(self, host: str, port: int) -> None:
        app = web.Application()
        app.router.add_post("/incident", self._incident)
        app.router.add_post("/status", self._status)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self._http = aiohttp.ClientSession()

    async def close(self) -> None:
        await self._tasks.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def _read(self, request: web.Request) -> tuple[str, dict[str, Any]] | web.Response:
        if self.down:
            return web.json_response({"error": "110 接口维护中"}, status=503)
        raw = await request.read()
        try:
            signing.verify(
                self.secret,
                request.headers.get(signing.TIMESTAMP),
                request.headers.get(signing.SIGNATURE),
                raw,
                time.time(),
                self.max_skew,
            )
        except signing.BadSignature as exc:
            self.refused += 1
            return web.json_response({"error": str(exc)}, status=401)
        key = request.headers.get("Idempotency-Key", "")
        if not key:
            return web.json_response({"error": "缺少 Idempotency-Key"}, status=400)
        self.deliveries.append((request.path, key))
        return key, json.loads(raw)

    async def _incident(self, request: web.Request) -> web.Response:
        got = await self._read(request)
        if isinstance(got, web.Response):
            return got
        key, body = got
        if key not in self.incidents:
            today = dt.datetime.now().strftime("%Y%m%d")
            body["intake_no"] = f"J{today}{next(self._seq):04d}"
            self.incidents[key] = body
            self._tasks.spawn(self._handle(body), f"sim-110-{body['intake_no']}")
            self.changed.set()
        return web.json_response({"intake_no": self.incidents[key]["intake_no"]})

    async def _status(self, request: web.Request) -> web.Response:
        got = await self._read(request)
        if isinstance(got, web.Response):
            return got
        key, body = got
        self.statuses.setdefault(key, body)
        self.received_at.setdefault(str(body.get("intake_no", "")), time.monotonic())
        self.changed.set()
        return web.json_response({"ok": True})

    async def _handle(self, incident: dict[str, Any]) -> None:
        """接警, then 处警: a patrol went and reports what it found."""
        await asyncio.sleep(self.receipt_after)
        await self.report(incident["ticket"], incident["intake_no"], "received")
        await asyncio.sleep(self.dispatch_after)
        await self.report(
            incident["ticket"], incident["intake_no"], "dispatched", "民警已到场处置，双方情绪稳定，现场已恢复秩序。"
        )

    # -- requests 110 makes ----------------------------------------------------------------------
    async def _post(self, path: str, body: dict[str, Any], attempts: int = 5) -> tuple[int, dict[str, Any]]:
        """Signed, retried like 110 would (a hotline restarting answers late)."""
        assert self._http is not None, "start() first"
        raw = json.dumps(body, ensure_ascii=False).encode()
        status, answer = 0, {}
        for attempt in range(attempts):
            headers = {"Content-Type": "application/json", **signing.headers(self.secret, raw, time.time())}
            try:
                async with self._http.post(
                    f"{self.hotline_url}{path}", data=raw, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
                ) as resp:
                    status, answer = resp.status, await resp.json(content_type=None)
                if status < 500:
                    break
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.info("110 simulator: %s failed (%s), retrying", path, exc)
            await asyncio.sleep(0.5 * 2**attempt)
        return status, answer

    async def report(self, ticket: str, intake_no: str, stage: str, result: str = "") -> int:
        body = {
            "ticket": ticket,
            "intake_no": intake_no,
            "stage": stage,
            "result": result,
            "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        status, answer = await self._post("/api/110/results", body)
        self.reports.append((body, status))
        self.changed.set()
        return status

    async def push_incident(
        self,
        intake_no: str,
        content: str,
        *,
        address: str = "",
        category_code: str = "",
        caller: str = "",
        caller_name: str = "",
        longitude: float | None = None,
        latitude: float | None = None,
        recording_url: str = "",
    ) -> tuple[int, dict[str, Any]]:
        body = {
            "intake_no": intake_no,
            "content": content,
            "address": address,
            "category_code": category_code,
            "caller": caller,
            "caller_name": caller_name,
            "longitude": longitude,
            "latitude": latitude,
            "recording_url": recording_url,
            "reported_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        return await self._post("/api/110/incidents", body)

    def statuses_of(self, intake_no: str) -> list[dict[str, Any]]:
        return [s for s in self.statuses.values() if s.get("intake_no") == intake_no]

    async def wait(self, predicate: Any, timeout: float = 20.0) -> None:
        """Until predicate() holds (tests), woken by every change."""
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("110 simulator: condition not met in time")
            self.changed.clear()
            await wait_event(self.changed, min(left, 0.5))


async def run(secret: bytes, hotline_url: str, host: str, port: int, incidents: int, every: float) -> None:
    sim = Police110Simulator(secret, hotline_url)
    await sim.start(host, port)
    print(f"110 simulator listening on http://{host}:{port} (incident, status); hotline at {hotline_url}", flush=True)
    try:
        for n in range(incidents):
            code, content, address = SAMPLES[n % len(SAMPLES)]
            no = f"SIM{int(time.time())}{n:03d}"
            status, answer = await sim.push_incident(
                no, content, address=address, category_code=code, caller=f"1390000{n:04d}", caller_name="模拟报警人"
            )
            print(f"pushed {no}: HTTP {status} {answer}", flush=True)
            await asyncio.sleep(every)
        await asyncio.Event().wait()  # serve until stopped
    finally:
        await sim.close()
