"""A channel gateway on loopback, as the tests need one: it keeps what the
hotline posts (de-duplicated by Idempotency-Key, as a real gateway must)
and can be told to be down."""

from __future__ import annotations

from typing import Any

from aiohttp import web


class GatewaySim:
    def __init__(self, port: int, token: str):
        self.port = port
        self.token = token
        self.down = False
        self.received: list[dict[str, Any]] = []  # every attempt that reached it
        self.messages: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> payload
        self._runner: web.AppRunner | None = None

    async def _post(self, request: web.Request) -> web.Response:
        self.received.append(
            {"key": request.headers.get("Idempotency-Key", ""), "auth": request.headers.get("Authorization", "")}
        )
        if self.down:
            return web.json_response({"error": "maintenance"}, status=503)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "bad token"}, status=401)
        key = request.headers.get("Idempotency-Key", "")
        self.messages.setdefault(key, await request.json())
        return web.json_response({"ok": True})

    def for_ticket(self, number: str) -> list[dict[str, Any]]:
        return [m for m in self.messages.values() if m["ticket"] == number]

    async def start(self) -> GatewaySim:
        app = web.Application()
        app.router.add_post("/replies", self._post)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
