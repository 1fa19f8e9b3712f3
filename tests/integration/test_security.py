"""Security: each hole found by trying the hotline as an attacker would, on
loopback, against the bundled PBX and the whole controller."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.ami.replies import AMIActionError
from hotline.config import Settings
from hotline.db.models import Call, Callback, WebSession
from hotline.ivr.api import ANNOUNCEMENTS
from hotline.ivr.prompts import check_wav
from hotline.pbx.process import Pbx
from hotline.roles import Role
from hotline.web.keys import SESSIONS, SETTINGS
from hotline.web.login import THROTTLE
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api, IvrCaller, prompt

pytestmark = pytest.mark.pbx


# -- prompt text never becomes an espeak-ng option --------------------------------------------


async def test_announcement_text_is_spoken_not_run_as_espeak_options(controller: TestServer, tmp_path: Path) -> None:
    app = controller.app
    secret = tmp_path / "secret.txt"
    # Read aloud, this file would take far longer than the few words of the option itself.
    secret.write_text("机密 " * 60, encoding="utf-8")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    lead = await Api(controller).login_as(Role.LEAD)
    try:
        for text in (f"-f {secret}", f"--phonout={victim}"):
            status, body = await lead.request("PUT", "/api/ivr/announcement", json={"active": True, "text": text})
            assert status == 200, body
            # What callers hear is the option's own words, a few seconds, never the file read aloud.
            current = app[ANNOUNCEMENTS].current_file()
            assert current, "the announcement is on"
            assert check_wav(app[SETTINGS].prompts_dir / (current.rsplit("/", 1)[-1] + ".wav")) < 8
        assert victim.read_text(encoding="utf-8") == "keep me"
    finally:
        await lead.close()


# -- login flood -------------------------------------------------------------------------------


async def test_a_login_flood_is_throttled_and_never_holds_the_database(
    controller: TestServer, settings: Settings
) -> None:
    from hotline.credentials import ensure_secrets

    token = ensure_secrets(controller.app[SETTINGS])["gateway_tokens"]["web"]
    async with aiohttp.ClientSession() as http:
        url = controller.make_url("/api/login")

        async def bad_login(i: int) -> tuple[int, float]:
            async with http.post(url, json={"username": f"nobody{i}", "password": "wrong-password"}) as r:
                return r.status, asyncio.get_running_loop().time()

        async def ticket() -> tuple[int, float]:
            async with http.post(
                controller.make_url("/api/channels/tickets"),
                json={"content": "楼下酒吧夜间噪音", "category": "env-noise"},
                headers={"Authorization": f"Bearer {token}"},
            ) as r:
                return r.status, asyncio.get_running_loop().time()

        flood = [asyncio.ensure_future(bad_login(i)) for i in range(25)]
        # The flood is in flight: passwords are being checked when the ticket comes.
        throttle = controller.app[THROTTLE]
        await eventually(lambda: throttle.inflight("127.0.0.1") > 0, timeout=10, interval=0.001)
        made, made_at = await ticket()
        results = await asyncio.gather(*flood)
    statuses = [s for s, _ in results]
    assert made == 201
    # Two verifications at a time per address; the rest are turned away at once.
    assert statuses.count(429) >= 20 and set(statuses) <= {401, 429}
    # The ticket did not queue behind the password checks (argon2 runs outside
    # any transaction): it was answered before the slowest of them.
    assert made_at < max(t for s, t in results if s == 401)


async def test_guessing_one_account_is_locked_out_with_retry_after(controller: TestServer) -> None:
    api = await Api(controller).login_as(Role.AGENT, "guessed")
    try:
        seen = []
        for _ in range(6):
            async with api.http.post(
                controller.make_url("/api/login"), json={"username": "guessed", "password": "not-it-at-all"}
            ) as r:
                seen.append(r.status)
                retry = r.headers.get("Retry-After")
        assert seen[:5] == [401] * 5 and seen[5] == 429
        assert retry is not None and int(retry) > 0
    finally:
        await api.close()


# -- Asterisk without root ---------------------------------------------------------------------


def _proc_status(pid: int) -> dict[str, str]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def test_asterisk_runs_unprivileged_with_no_capabilities(pbx: Pbx) -> None:
    pid = pbx.asterisk_pid()
    assert pid is not None
    status = _proc_status(pid)
    uids = status["Uid"].split()
    assert "0" not in uids, status["Uid"]
    assert int(status["CapEff"], 16) == 0 and int(status["CapPrm"], 16) == 0, status
    # In a user namespace of its own: even its "root" inside would be nobody outside.
    assert os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")


# -- FastAGI only for live channels --------------------------------------------------------------


async def _forge(
    settings: Settings,
    script: str,
    *,
    key: str = "",
    channel: str = "PJSIP/x-0001",
    uniqueid: str = "1700000000.1",
    callerid: str = "13912345678",
    args: list[str] = (),
) -> list[bytes]:
    reader, writer = await asyncio.open_connection(settings.agi.host, settings.agi.port)
    query = f"?key={key}" if key else ""
    headers = {
        "agi_network": "yes",
        "agi_network_script": f"{script}{query}",
        "agi_request": f"agi://{settings.agi.host}:{settings.agi.port}/{script}{query}",
        "agi_channel": channel,
        "agi_uniqueid": uniqueid,
        "agi_callerid": callerid,
    }
    headers |= {f"agi_arg_{i}": a for i, a in enumerate(args, start=1)}
    writer.write("".join(f"{k}: {v}\n" for k, v in headers.items()).encode() + b"\n")
    await writer.drain()
    sent: list[bytes] = []
    try:
        while True:  # answer every command as Asterisk would, until the server hangs up
            line = await asyncio.wait_for(reader.readline(), 10)
            if not line:
                break
            sent.append(line)
            writer.write(b"200 result=0\n")
            await writer.drain()
    finally:
        writer.close()
    return sent


async def test_forged_fastagi_sessions_are_refused(
    controller: TestServer, settings: Settings, ami: AMIClient, recorder: Recorder
) -> None:
    app = controller.app
    # No key; the right key for a channel the PBX does not have; a live
    # channel's name with someone else's unique id.
    live = await IvrCaller(ami, recorder).dial()
    assert await _forge(settings, "callback", args=["forged", "1"]) == []
    assert await _forge(settings, "callback", key=settings.agi.key, args=["forged", "1"]) == []
    assert (
        await _forge(
            settings,
            "ivr",
            key=settings.agi.key,
            channel=live.inner,
            uniqueid="1.999",
            args=["chosen-call-id", "12345", "12345"],
        )
        == []
    )
    async with app[SESSIONS]() as db:
        assert await db.scalar(select(func.count()).select_from(Callback)) == 0
        assert await db.scalar(select(func.count()).select_from(Call).where(Call.call_id == "chosen-call-id")) == 0
    assert not recorder.of(ev.Newchannel, lambda e: "hotline-callback" in e.channel)
    # The real caller beside the forgeries was served all along.
    await live.wait_prompt(prompt(app, "welcome"), timeout=20)


async def test_an_idle_fastagi_connection_is_dropped(controller: TestServer, settings: Settings) -> None:
    reader, writer = await asyncio.open_connection(settings.agi.host, settings.agi.port)
    try:
        # Nothing sent: the server hangs up after its header timeout.
        assert await asyncio.wait_for(reader.read(), settings.agi.header_timeout + 5) == b""
    finally:
        writer.close()


# -- dialplan injection --------------------------------------------------------------------------


async def test_a_seat_phone_cannot_dial_through_a_seat_pattern(ami: AMIClient, recorder: Recorder) -> None:
    async def dial_from_seats(exten: str, caller: str) -> None:
        await ami.action(
            "Originate",
            Channel="Local/wait@hotline-selftest",
            Context="seats",
            Exten=exten,
            Priority=1,
            CallerID=f"<{caller}>",
            Async="true",
            Timeout=10000,
        )

    # Control: a real seat name rings that seat's phones (none is registered: absent).
    await dial_from_seats("seat02", "15000000001")
    await recorder.wait_for(ev.Newexten, lambda e: e.context == "hotline-seat" and e.exten == "seat02", timeout=20)
    # The injected "number" is no extension of the seats' context at all.
    with pytest.raises(AMIActionError, match="Extension does not exist"):
        await dial_from_seats("seat01&Local/4321@hotline-outside", "15000000002")
    await recorder.wait_for(ev.Hangup, lambda e: e.caller_id_num == "15000000001", timeout=20)
    assert not recorder.of(ev.Newexten, lambda e: e.context == "seats" and "4321" in e.app_data)
    assert not recorder.of(ev.Newchannel, lambda e: "4321" in e.channel)


async def test_outside_numbers_must_be_digits(ami: AMIClient, recorder: Recorder) -> None:
    # "_X." matches this (a digit, then anything): the dialplan itself refuses it.
    await ami.action(
        "Originate",
        Channel="Local/wait@hotline-selftest",
        Context="hotline-outside",
        Exten="110&Local/4321@sim-pstn",
        Priority=1,
        CallerID="<15000000003>",
        Async="true",
    )
    hung = await recorder.wait_for(
        ev.Hangup, lambda e: e.caller_id_num == "15000000003" and e.context == "hotline-outside", timeout=20
    )
    assert hung.cause == 21  # call rejected
    assert not recorder.of(ev.Newchannel, lambda e: "4321" in e.channel or "/110@" in e.channel)


# -- websockets and cross-site requests ----------------------------------------------------------


async def test_websockets_check_origin_and_cap_per_session(controller: TestServer) -> None:
    lead = await Api(controller).login_as(Role.LEAD)
    url = controller.make_url("/ws/seatmap")
    try:
        for origin in (None, "http://127.0.0.1:9999", "null"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await lead.http.ws_connect(url, **({"origin": origin} if origin else {}))
            assert info.value.status == 403
        cap = controller.app[SETTINGS].web.max_websockets_per_session
        open_ = [await lead.http.ws_connect(url, origin=lead.origin) for _ in range(cap)]
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await lead.http.ws_connect(url, origin=lead.origin)
        assert info.value.status == 429
        await open_[0].close()
        # One closed: a new one may open again.
        again = await eventually(lambda: _try_ws(lead, url), timeout=5)
        for ws in [*open_[1:], again]:
            await ws.close()
    finally:
        await lead.close()


async def _try_ws(api: Api, url: object) -> aiohttp.ClientWebSocketResponse | None:
    try:
        return await api.http.ws_connect(url, origin=api.origin)
    except aiohttp.WSServerHandshakeError:
        return None


async def test_changes_need_json_and_our_origin(controller: TestServer) -> None:
    agent = await Api(controller).login_as(Role.AGENT)
    try:
        url = controller.make_url("/api/agent/logout")
        async with agent.http.post(url) as r:  # a bare POST, as a same-site form or img could send
            assert r.status == 400 and (await r.json())["error_id"] == "json-required"
        async with agent.http.post(url, data="a=1", headers={"Content-Type": "application/x-www-form-urlencoded"}) as r:
            assert r.status == 400
        async with agent.http.post(
            url, headers={"Content-Type": "application/json", "Origin": "http://127.0.0.1:9999"}
        ) as r:
            assert r.status == 403 and (await r.json())["error_id"] == "cross-origin"
        async with agent.http.post(url, headers={"Content-Type": "application/json", "Origin": agent.origin}) as r:
            assert r.status != 403
            assert r.headers["X-Frame-Options"] == "DENY"
            assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    finally:
        await agent.close()


# -- bad input gets a 4xx with an error id --------------------------------------------------------


async def test_bad_input_is_a_clear_4xx_never_a_500(controller: TestServer) -> None:
    lead = await Api(controller).login_as(Role.LEAD)
    raw_headers = {"Content-Type": "application/json"}
    try:
        cases = [
            ("POST", "/api/kb", {"data": "[" * 5000 + "]" * 5000, "headers": raw_headers}),  # deep JSON
            (
                "POST",
                "/api/kb",
                {"data": '{"title": "\\ud800", "body": "x"}', "headers": raw_headers},
            ),  # lone surrogate
            ("POST", "/api/kb", {"json": {"title": ["a"], "body": "x"}}),  # wrong type
            ("POST", "/api/kb", {"json": {"title": "a\u0000b", "body": "x"}}),  # NUL
            ("GET", "/api/kb?q=%00", {}),
            ("GET", "/api/tickets?limit=%D9%A3", {}),  # an Arabic-Indic digit
            ("PUT", "/api/acd/lines", {"json": {"count": True}}),
            ("PUT", "/api/ivr/announcement", {"json": {"active": "yes", "text": ""}}),
            ("POST", "/api/lead/seats/seat01/pause", {"json": {"reason": 5}}),
        ]
        for method, path, kw in cases:
            status, body = await lead.request(method, path, **kw)
            assert 400 <= status < 500, (path, kw, status, body)
            assert isinstance(body, dict) and body.get("error_id"), (path, body)
    finally:
        await lead.close()


async def test_a_huge_ivr_document_is_refused_without_stalling_the_server(controller: TestServer) -> None:
    admin = await Api(controller).login_as(Role.ADMIN)
    try:
        doc = "name: x\nstart: a\nnodes:\n" + "".join(f"  n{i}: {{type: hangup}}\n" for i in range(12_000))
        assert len(doc) > 256 * 1024
        health = asyncio.ensure_future(admin.request("GET", "/api/health"))
        status, body = await admin.request("POST", "/api/ivr/flows/hotline/validate", json={"document": doc})
        assert status == 400 and "过大" in body["message"]
        assert (await health)[0] in (200, 503)
        status, body = await admin.request(
            "POST", "/api/ivr/flows/hotline/validate", json={"document": "a: &x [1]\nb: *x\n"}
        )
        assert status == 200 and any("锚点" in p["message"] for p in body["problems"])
    finally:
        await admin.close()


async def test_gateway_caller_must_be_ascii_digits(controller: TestServer) -> None:
    from hotline.credentials import ensure_secrets

    token = ensure_secrets(controller.app[SETTINGS])["gateway_tokens"]["app"]
    async with aiohttp.ClientSession() as http:
        async with http.post(
            controller.make_url("/api/channels/tickets"),
            json={"content": "楼下酒吧夜间噪音", "category": "env-noise", "caller": "١٣٨٠٠٠٠٠٠٠٠"},
            headers={"Authorization": f"Bearer {token}"},
        ) as r:
            assert r.status == 400 and (await r.json())["details"]["field"] == "caller"


# -- sessions ------------------------------------------------------------------------------------


async def test_sessions_end_when_idle_and_expired_ones_are_purged(controller: TestServer) -> None:
    app = controller.app
    agent = await Api(controller).login_as(Role.AGENT, "idler")
    try:
        assert (await agent.request("GET", "/api/me"))[0] == 200
        # Jump past the idle timeout: the row's expiry is what the idle timeout moved.
        async with app[SESSIONS]() as db, db.begin():
            for row in (await db.scalars(select(WebSession))).all():
                row.expires_at = row.created_at
        assert (await agent.request("GET", "/api/me"))[0] == 401
        other = await Api(controller).login_as(Role.AGENT, "next-one")  # any login sweeps expired sessions
        await other.close()
        async with app[SESSIONS]() as db:
            rows = (await db.scalars(select(WebSession))).all()
        assert len(rows) == 1
    finally:
        await agent.close()


# -- files holding personal data -------------------------------------------------------------------


async def test_database_recordings_and_logs_are_private(
    controller: TestServer, ami: AMIClient, recorder: Recorder, settings: Settings, pbx: Pbx
) -> None:
    from tests.integration.floor import queue_caller, staff

    await staff(controller, 1)
    caller = await queue_caller(ami)
    await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == caller, timeout=30)
    own = controller.app[SETTINGS]
    recordings = own.recordings_dir
    await eventually(lambda: any(recordings.glob("*.wav")), timeout=10)
    db = Path(own.database_url.split(":///", 1)[1])
    paths = [
        db,
        db.with_name(db.name + "-wal"),
        *recordings.glob("*.wav"),
        pbx.paths.log / "queue_log",
        pbx.paths.log / "messages.log",
        pbx.paths.console_log,
        own.secrets_file,
    ]
    for path in paths:
        assert path.exists(), path
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    for folder in (db.parent, recordings, pbx.paths.log, pbx.paths.base):
        assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0, folder


# -- the login page returns only to this site ----------------------------------------------------


async def test_login_never_redirects_off_the_site(controller: TestServer) -> None:
    from urllib.parse import urlsplit

    from hotline import accounts
    from tests.integration.browser import chromium, sign_in

    async with controller.app[SESSIONS]() as db, db.begin():
        _, password = await accounts.create_user(db, "redirected", "张三", [Role.LEAD])
    base = str(controller.make_url("/")).rstrip("/")
    own = urlsplit(base).netloc
    async with chromium() as browser:
        for nxt, lands in (
            ("/\\evil.example/x", "/"),
            ("//evil.example/x", "/"),
            ("https://evil.example/", "/"),
            # Before: the page tested the raw text and went to the normalised path.
            ("/.//evil.example/", "/"),
            ("/..//evil.example/", "/"),
            ("/%2E//evil.example/", "/"),
            ("/lead/seatmap", "/lead/seatmap"),
        ):
            page = await browser.new_page()
            await page.goto(f"{base}/login?next={nxt}")
            await sign_in(page, "redirected", password, lands)
            assert urlsplit(page.url).netloc == own, (nxt, page.url)
            await page.context.clear_cookies()
            await page.close()


# -- code-read bugs ---------------------------------------------------------------------------------


async def test_callback_dispatch_survives_a_database_error(controller: TestServer) -> None:
    from hotline.acd.api import CALLBACKS

    service = controller.app[CALLBACKS]
    real, calls = service.dispatch, []

    async def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database is locked")  # not an AMI error: once ended dispatch for good
        await real()

    service.dispatch = flaky  # type: ignore[method-assign]
    try:
        await eventually(lambda: len(calls) >= 3, timeout=15)
        assert service.dispatch_errors == 1
    finally:
        service.dispatch = real  # type: ignore[method-assign]


async def test_bearer_tokens_are_not_read_from_disk_per_request(controller: TestServer) -> None:
    from hotline.credentials import ensure_secrets

    own = controller.app[SETTINGS]
    token = ensure_secrets(own)["metrics_token"]
    saved = own.secrets_file.read_bytes()
    try:
        own.secrets_file.write_text("not = [valid toml", encoding="utf-8")
        async with aiohttp.ClientSession() as http:
            async with http.get(controller.make_url("/metrics"), headers={"Authorization": f"Bearer {token}"}) as r:
                assert r.status == 200  # answered from the tokens read at start-up
    finally:
        own.secrets_file.write_bytes(saved)
