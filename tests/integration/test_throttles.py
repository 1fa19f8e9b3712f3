"""Throttles that protect without locking out the people they protect:
failures count, successes do not; an account is locked against the source
that failed, not for its owner; a trusted proxy's X-Forwarded-For names the
client, anyone else's is ignored; query codes are limited per ticket; and
anonymous bodies are limited before they are read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hotline.roles import Role
from hotline.web.keys import SETTINGS
from tests.integration.ivr_helpers import Api

pytestmark = pytest.mark.pbx


@contextmanager
def behind_proxy(server: TestServer) -> Iterator[None]:
    """The test's client plays the reverse proxy (127.0.0.1) for a while."""
    web_cfg = server.app[SETTINGS].web
    before = list(web_cfg.trusted_proxies)
    web_cfg.trusted_proxies = ["127.0.0.1/32"]
    try:
        yield
    finally:
        web_cfg.trusted_proxies = before


async def _login(server: TestServer, username: str, password: str, client: str | None = None) -> int:
    headers = {"X-Forwarded-For": client} if client else {}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            server.make_url("/api/login"), json={"username": username, "password": password}, headers=headers
        ) as r:
            return r.status


async def test_a_busy_office_logs_in_and_a_guessed_account_stays_open_to_its_owner(controller: TestServer) -> None:
    """Before: 20 normal logins from one address locked out everyone there,
    and 5 wrong passwords locked the owner out from anywhere."""
    owner = await Api(controller).login_as(Role.AGENT, "office-agent")
    try:
        for _ in range(25):  # a shift logging in through one NAT address
            assert await _login(controller, owner.username, owner.password) == 200
        with behind_proxy(controller):
            statuses = [
                await _login(controller, owner.username, "wrong-guess", client="203.0.113.50") for _ in range(6)
            ]
            assert statuses == [401] * 5 + [429]
            # The guesser stays locked out even with the right password...
            assert await _login(controller, owner.username, owner.password, client="203.0.113.50") == 429
            # ...while the owner, elsewhere, logs in.
            assert await _login(controller, owner.username, owner.password, client="198.51.100.20") == 200
    finally:
        await owner.close()


async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(controller: TestServer) -> None:
    """Before: behind a proxy the whole city shared one bucket; and the
    header, if read, would let anyone pick their own bucket."""
    owner = await Api(controller).login_as(Role.AGENT, "xff-agent")
    try:
        # Not a trusted proxy: each "client" it names is the same 127.0.0.1.
        statuses = [await _login(controller, owner.username, "wrong-guess", client=f"203.0.113.{i}") for i in range(6)]
        assert statuses == [401] * 5 + [429]
    finally:
        await owner.close()


async def test_query_codes_are_limited_per_ticket_from_any_number_of_addresses(controller: TestServer) -> None:
    """Before: ten addresses made 600 query-code guesses in 2.2 s."""
    limit = controller.app[SETTINGS].public.status_per_ticket_hour
    with behind_proxy(controller):
        async with aiohttp.ClientSession() as http:
            statuses = []
            for i in range(limit + 1):
                async with http.post(
                    controller.make_url("/api/public/status"),
                    json={"number": "2026112500001", "code": f"{i:08d}"},
                    headers={"X-Forwarded-For": f"203.0.113.{i}"},
                ) as r:
                    statuses.append(r.status)
            assert statuses == [404] * limit + [429]


async def test_anonymous_bodies_are_limited_and_counted_before_they_are_read(controller: TestServer) -> None:
    """Before: 900 KB bodies to /api/public/status were read and parsed
    before any throttle, slowing the IVR and ticket creation for everyone."""
    web_cfg = controller.app[SETTINGS].web
    async with aiohttp.ClientSession() as http:
        big = b'{"number": "1", "code": "' + b"1" * 900_000 + b'"}'
        async with http.post(
            controller.make_url("/api/public/status"), data=big, headers={"Content-Type": "application/json"}
        ) as r:
            assert r.status == 413 and (await r.json())["error_id"] == "body-too-large"
        statuses = []
        for _ in range(web_cfg.anonymous_per_minute - 1):
            async with http.post(
                controller.make_url("/api/public/status"),
                data=b"{not json",
                headers={"Content-Type": "application/json"},
            ) as r:
                statuses.append(r.status)
        assert set(statuses) == {400}
        async with http.post(
            controller.make_url("/api/public/status"), data=b"{not json", headers={"Content-Type": "application/json"}
        ) as r:
            assert r.status == 429 and int(r.headers["Retry-After"]) > 0
