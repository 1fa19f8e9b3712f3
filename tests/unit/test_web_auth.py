from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hotline.roles import Role
from hotline.web.auth import IDENTIFY, allow, auth_middleware, error_middleware


async def make_client(identity: object) -> TestClient:
    app = web.Application(middlewares=[error_middleware, auth_middleware])

    async def identify(request: web.Request) -> object:
        return identity

    app[IDENTIFY] = identify

    @allow(Role.LEAD, Role.ADMIN)
    async def lead_only(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def undeclared(request: web.Request) -> web.Response:
        return web.json_response({"leak": True})

    app.router.add_get("/lead", lead_only)
    app.router.add_get("/undeclared", undeclared)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def test_anonymous_gets_401_agent_gets_403_lead_gets_200() -> None:
    for identity, expected in (
        (None, 401),
        (SimpleNamespace(roles={Role.AGENT}), 403),
        (SimpleNamespace(roles={Role.LEAD}), 200),
    ):
        client = await make_client(identity)
        resp = await client.get("/lead")
        assert resp.status == expected, identity
        if expected != 200:
            assert (await resp.json())["error_id"] in ("auth-required", "forbidden")
        await client.close()


async def test_route_without_declared_role_is_refused() -> None:
    client = await make_client(SimpleNamespace(roles={Role.ADMIN}))
    resp = await client.get("/undeclared")
    assert resp.status == 500
    assert "leak" not in await resp.text()
    await client.close()


def test_the_access_log_never_writes_a_provisioning_token_or_a_query_string(caplog: pytest.LogCaptureFixture) -> None:
    from aiohttp.test_utils import make_mocked_request

    from hotline.web.accesslog import AccessLog

    log = logging.getLogger("test.access")
    for path in ("/provision/s3cr3t-T0ken_x", "/api/public/status?code=123456"):
        with caplog.at_level(logging.INFO, logger="test.access"):
            AccessLog(log, "").log(make_mocked_request("GET", path), web.Response(status=404), 0.002)
    written = caplog.text
    assert "s3cr3t" not in written and "123456" not in written
    assert '"GET /provision/[token]" 404' in written and '"GET /api/public/status" 404' in written
