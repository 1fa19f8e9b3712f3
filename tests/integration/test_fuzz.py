"""Every route, hostile values of every type: a 4xx with an error id, never a
500. The fields tried are the ones each handler and the modules it belongs to
read (body.get, text_field, query_text ...), so a new route is walked without
anyone listing it here. One person holding every role calls them all, so
each route's own checks are reached, not the role check in front of them."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import re
import sys
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hotline import accounts
from hotline.roles import PEOPLE, Role
from hotline.web.keys import SESSIONS
from hotline.web.throttle import LoginThrottle, RateLimit

pytestmark = pytest.mark.pbx

FIELD = re.compile(
    r"""(?:body\.get|_field|text_field|query_text|query\.get|int_field|bool_field)\("""
    r"""\s*(?:body,\s*|request,\s*)?["']([a-z_]{1,32})["']"""
)
DEEP_YAML = "[" * 1000 + "]" * 1000
VALUES: list[Any] = [
    None,
    True,
    False,
    -1,
    0,
    10**23,
    -(10**23),
    1.5,
    1e308,
    "",
    "\x00",
    "x" * 5000,
    "../../../etc/passwd",
    "٣",
    "9999-12-31",
    "0001-01-01",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    DEEP_YAML,
    [],
    {},
    [[[[]]]],
    {"a": {"b": [1]}},
    ["x"],
    [1, "a"],
]
# One field at a time (its own checks reached, not another's first): one of each kind.
EACH: list[Any] = [None, True, 10**23, "\x00", "x" * 5000, "9999-12-31T23:59:59-23:59", DEEP_YAML, [], {}]
QUERY = [
    "",
    "\x00",
    "9999",
    "1",
    "0",
    "-1",
    "0001-01",
    "9999-12",
    "9999-12-31",
    "0001-01-01",
    "1" * 30,
    "٣",
    "x" * 300,
    "2026-13-45",
]
# Ends the fuzzer's own login, or streams for ever.
SKIP = {("POST", "/api/logout")}


def _fields(handler: Any) -> list[str]:
    """Field and query names the handler's module reads."""
    module = sys.modules.get(getattr(handler, "__module__", ""), None)
    try:
        source = inspect.getsource(module) if module else inspect.getsource(handler)
    except (OSError, TypeError):
        return []
    return sorted(set(FIELD.findall(source)))


def _handler_fields(handler: Any) -> list[str]:
    try:
        return sorted(set(FIELD.findall(inspect.getsource(handler))))
    except (OSError, TypeError):
        return []


def _paths(resource: web.AbstractResource) -> list[str]:
    info = resource.get_info()
    if "path" in info:
        return [info["path"]]
    formatter = info.get("formatter")
    if not formatter:
        return []
    names = re.findall(r"\{(\w+)\}", formatter)
    pattern = info["pattern"]
    candidates = [
        "99999999",
        "9" * 12,
        "1",
        "seat01",
        "hotline",
        "x",
        "..",
        "%00",
        "1.2.3.4",
        "listen",
        "hold",
        "dispatch",
        "pause",
        "9" * 20,
        "12345",
    ]
    out = []
    for combo in itertools.product(candidates, repeat=len(names)):
        path = formatter.format(**dict(zip(names, combo)))
        if pattern.fullmatch(path) and path not in out:
            out.append(path)
        if len(out) >= 2:
            break
    return out


async def test_every_route_answers_hostile_input_with_a_4xx_and_an_error_id(controller: TestServer) -> None:
    """Before: 500s on spy {"mode": []}, a rollback to version 10**23, a
    1000-deep YAML flow, a photo without multipart, an unknown outbox id,
    years 1 and 9999 in figures and briefings, a 110 incident dated 9999."""
    app = controller.app
    for value in list(app.values()):
        if isinstance(value, RateLimit):  # the fuzzer is one address; its limits are not what is tested
            value.limit = 10**9
        elif isinstance(value, LoginThrottle):
            value.per_address = value.per_pair = value.per_user = 10**9
    async with app[SESSIONS]() as db, db.begin():
        # Every role a person can hold together (a leader's account holds no other).
        roles = [r for r in PEOPLE if r is not Role.LEADER]
        _, password = await accounts.create_user(db, "fuzzer", "模糊测试", roles, department="xingfu")
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    failures: dict[str, list[str]] = {}  # route -> what failed there
    tried = 0
    try:
        async with http.post(controller.make_url("/api/login"), json={"username": "fuzzer", "password": password}) as r:
            assert r.status == 200
        origin = str(controller.make_url("/")).rstrip("/")
        for route in list(app.router.routes()):
            method, resource = route.method, route.resource
            if method in ("HEAD", "*") or resource is None:
                continue
            handler = route.handler
            for variant, path in enumerate(_paths(resource)):
                if (method, path) in SKIP or path.startswith("/ws/"):
                    continue
                fields = _fields(handler)
                own = _handler_fields(handler) or fields
                requests: list[dict[str, Any]] = []
                if variant:
                    # The second path tries the path's own value (a number past
                    # int32, say); the bodies were tried on the first.
                    requests.append({} if method == "GET" else {"json": {}})
                elif method == "GET":
                    requests += [{"params": {f: q for f in fields}} for q in QUERY if fields]
                    requests += [{"params": {f: q}} for f in own for q in QUERY[:6]]
                    requests.append({})
                else:
                    requests += [{"json": {f: v for f in fields}} for v in VALUES]
                    requests += [{"json": {f: v}} for f in own for v in EACH]
                    requests += [{"data": DEEP_YAML}, {"data": "{"}, {"data": json.dumps([1])}, {"json": {}}]
                # A route's requests go out a few at a time, as several pages' would.
                gate = asyncio.Semaphore(6)

                async def send(
                    kw: dict[str, Any], method: str = method, path: str = path, where: str = str(resource.canonical)
                ) -> None:
                    headers = {"Origin": origin}
                    if "data" in kw or "json" not in kw and method != "GET":
                        headers["Content-Type"] = "application/json"
                    async with (
                        gate,
                        http.request(
                            method, controller.make_url(path), headers=headers, allow_redirects=False, **kw
                        ) as resp,
                    ):
                        if resp.status < 500:
                            if resp.status >= 400 and "json" in resp.content_type:
                                body = await resp.json()
                                if not (isinstance(body, dict) and body.get("error_id")):
                                    failures.setdefault(f"{method} {where}", []).append(
                                        f"{path} {kw!r:.100}: {resp.status} without error_id"
                                    )
                            return
                        failures.setdefault(f"{method} {where}", []).append(f"{path} {kw!r:.100}: {resp.status}")

                tried += len(requests)
                await asyncio.gather(*(send(kw) for kw in requests))
    finally:
        await http.close()
    assert tried > 1000
    assert not failures, f"{sum(map(len, failures.values()))} of {tried} on {len(failures)} routes:\n" + "\n".join(
        f"{route} ({len(fails)}x), e.g. {fails[0]}" for route, fails in failures.items()
    )
