"""Seats registered at the SIP edge: Kamailio is their registrar, reading
their passwords from the shared PostgreSQL database, and every Asterisk node
rings a seat through it, so a seat takes calls from any node.

Node A is the session's PBX (reloaded with the edge), node B a second
bundled Asterisk; phones are baresip, or raw REGISTERs where a test counts
the edge's answers."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import os
import re
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import accounts
from hotline.acd.api import ACD, CALLBACKS
from hotline.acd.offer import QUEUES_FILE, in_config
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.ami.replies import AMIError
from hotline.cluster.app import FENCE, PLACEMENT, STEERING
from hotline.config import Settings
from hotline.credentials import ensure_secrets
from hotline.db.engine import make_engine, sessionmaker
from hotline.db.migrate import upgrade
from hotline.db.models import Callback
from hotline.edge.process import Edge
from hotline.ivr.api import ANNOUNCEMENTS, FLOWS
from hotline.ivr.service import MAIN_FLOW, SHIPPED_FLOWS
from hotline.numbers import mask_number
from hotline.pbx.process import Pbx
from hotline.plans.api import PLANS
from hotline.plans.service import PlanRefused
from hotline.roles import Role
from hotline.seatmap.api import HUB as SEATMAP_HUB
from hotline.seatmap.api import SUPERVISION
from hotline.seats import edge_passwords
from hotline.seats import state as st
from hotline.seats.api import WEBPHONES
from hotline.server import KEEPER, create_app
from hotline.web.keys import CLOCK, FASTAGI, SESSIONS, SETTINGS
from hotline.work.api import WORK
from tests.conftest import Clock
from tests.integration.audio import sox_stat, stamp
from tests.integration.browser import SHOTS, chromium, media_args, sign_in
from tests.integration.conftest import adopt_secrets, connected_client, keep_rotations
from tests.integration.desk import Desk
from tests.integration.edge_nodes import edge_section, node_b_settings
from tests.integration.floor import channel_gone, has_channel, queue_caller
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api
from tests.integration.sip_phone import Baresip
from tests.integration.test_webphone import _heard, duplex_caller, tone_440
from tests.integration.test_work import NOISE, events_of, from_gateway, offer_to
from tests.pg import PostgresServer

pytestmark = pytest.mark.pbx

OFFSET = 60
EDGE_HOST = "127.0.0.20"
NODE_B_HOST = "127.0.0.21"
PHONE_HOST = "127.0.0.8"  # a seats' network: alert only, never blocked (tests/hotline-test.toml)
GUESSER = "127.0.0.24"


@dataclass
class Site:
    edge: Edge
    a: Settings
    b: Settings
    b_pbx: Pbx
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture(scope="module")
def site_parts(
    pbx: Pbx, settings: Settings, postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Edge, Settings, Settings, Pbx]]:
    tmp = tmp_path_factory.mktemp("edge-seats")
    url = asyncio.run(postgres.new_database())
    edge = edge_section(settings, tmp, host=EDGE_HOST, node_b=NODE_B_HOST, offset=OFFSET, registrar=True)
    common = {"edge": edge, "database": {"url": url}, "seats": {"phones": "pjsip"}}
    node_a = Settings.model_validate(settings.model_dump() | common)
    node_b = node_b_settings(settings, tmp, host=NODE_B_HOST, offset=OFFSET, rtp=(38200, 38299), **common)
    upgrade(node_a)  # the edge reads the schema's view from its start
    b = Pbx(node_b)
    b.start()
    Pbx(node_a).reload()
    edge = Edge(node_a)
    edge.start()
    try:
        yield edge, node_a, node_b, b
    finally:
        edge.stop()
        b.stop()
        Pbx(settings).reload()


@pytest.fixture
async def site(site_parts: tuple[Edge, Settings, Settings, Pbx]) -> AsyncIterator[Site]:
    edge, a, b, b_pbx = site_parts
    engine = make_engine(a)
    sessions = sessionmaker(engine)
    # The seats' passwords as a controller shares them at its start.
    await edge_passwords.seed(sessions, ensure_secrets(a)["seat_passwords"])
    try:
        yield Site(edge, a, b, b_pbx, sessions)
    finally:
        await engine.dispose()


@pytest.fixture
async def nodes(site: Site, ami: AMIClient) -> AsyncIterator[tuple[AMIClient, AMIClient]]:
    b = await connected_client(site.b, name="node-b")
    try:
        yield ami, b
    finally:
        for client in (ami, b):
            if client.connected:
                await client.command("channel request hangup all")
        await b.close()


def register(edge: Edge, source: str, seat: str, password: str, realm: str = "hotline") -> int | None:
    """One REGISTER, answered to a digest challenge: the final status, None if the edge stays silent."""
    e = edge.settings.edge
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(1.5)
        port = sock.getsockname()[1]
        uri = f"sip:{e.host}:{e.sip_port}"

        def send(cseq: int, auth: str = "") -> str | None:
            msg = (
                f"REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {source}:{port};branch=z9hG4bK-r{cseq}-{port}\r\n"
                f"From: <sip:{seat}@{e.host}>;tag=r{port}\r\nTo: <sip:{seat}@{e.host}>\r\n"
                f"Call-ID: reg-{port}@{source}\r\nCSeq: {cseq} REGISTER\r\n"
                f"Contact: <sip:{seat}@{source}:{port}>\r\nExpires: 60\r\nMax-Forwards: 70\r\n"
                f"{auth}Content-Length: 0\r\n\r\n"
            )
            sock.sendto(msg.encode(), (e.host, e.sip_port))
            try:
                return sock.recv(4096).decode(errors="replace")
            except TimeoutError:
                return None

        first = send(1)
        if first is None:
            return None
        nonce = re.search(r'nonce="([^"]+)"', first)
        if not first.startswith("SIP/2.0 401") or nonce is None:
            return int(first.split()[1])
        ha1 = hashlib.md5(f"{seat}:{realm}:{password}".encode()).hexdigest()
        ha2 = hashlib.md5(f"REGISTER:{uri}".encode()).hexdigest()
        response = hashlib.md5(f"{ha1}:{nonce[1]}:{ha2}".encode()).hexdigest()
        auth = (
            f'Authorization: Digest username="{seat}", realm="{realm}", nonce="{nonce[1]}", uri="{uri}", '
            f'response="{response}", algorithm=MD5\r\n'
        )
        answer = send(2, auth)
        return None if answer is None else int(answer.split()[1])


async def device_state(client: AMIClient, device: str) -> str:
    reply = await client.action("Getvar", Variable=f"DEVICE_STATE({device})")
    return reply.get("Value") or ""


def phone(site: Site, folder: Path, seat: str, password: str, n: int = 0) -> Baresip:
    e = site.a.edge
    return Baresip(
        folder,
        user=seat,
        password=password,
        pbx_port=e.sip_port,
        server=e.host,
        address=PHONE_HOST,
        listen_port=e.sip_port + 7 + 3 * n,
        rtp_ports=(38400 + 20 * n, 38419 + 20 * n),
        answer=True,
    )


async def edge_phones(site: Site, folder: Path, *names: str, first: int = 0) -> list[Baresip]:
    """Baresip phones registering at the edge with the passwords the controllers share there."""
    passwords = [await edge_passwords.password(site.sessions, name) for name in names]
    assert all(passwords), dict(zip(names, passwords, strict=True))
    phones = [
        phone(site, folder / n, n, str(p), i) for i, (n, p) in enumerate(zip(names, passwords, strict=True), first)
    ]
    for p in phones:
        p.start()
    return phones


async def test_a_seat_registered_at_the_edge_is_rung_by_either_node(
    site: Site, nodes: tuple[AMIClient, AMIClient], tmp_path: Path
) -> None:
    if not Baresip.available():
        pytest.fail("baresip is not installed (scripts/bootstrap installs baresip-core)")
    a, b = nodes
    password = await edge_passwords.password(site.sessions, "seat01")
    assert password
    seat = phone(site, tmp_path / "seat01", "seat01", password)
    seat.start()
    try:
        # Each node probes the seat through the edge and finds its phone.
        for client in (a, b):
            await eventually(lambda c=client: _state_is(c, "PJSIP/seat01", "NOT_INUSE"), timeout=20)
        # A seat whose phone never registered stays unavailable on both.
        for client in (a, b):
            assert await device_state(client, "PJSIP/seat02") == "UNAVAILABLE"
        for client in (a, b):
            seen = Recorder(client)
            await client.action(
                "Originate",
                Channel="Local/seat01@hotline-seat",
                Application="Wait",
                Data="30",
                CallerID="<13800138000>",
                Async="true",
            )
            answered = await seen.wait_for(ev.OriginateResponse, timeout=20)
            assert answered.response == "Success"
            await eventually(lambda c=client: _state_is(c, "PJSIP/seat01", "INUSE"), timeout=10)
            await client.command("channel request hangup all")
            await eventually(lambda c=client: _state_is(c, "PJSIP/seat01", "NOT_INUSE"), timeout=10)
        assert seat.output().count("Call established") >= 2, seat.output()[-2000:]
        # The edge restarts: it still knows where the phone is (the database),
        # so a node rings the seat at once, before the phone registers again.
        registered = seat.output().count("200 OK")
        await asyncio.to_thread(site.edge.stop)
        await asyncio.to_thread(site.edge.start)
        await eventually(lambda: _state_is(b, "PJSIP/seat01", "NOT_INUSE"), timeout=20)
        seen = Recorder(b)
        await b.action("Originate", Channel="Local/seat01@hotline-seat", Application="Wait", Data="30", Async="true")
        assert (await seen.wait_for(ev.OriginateResponse, timeout=20)).response == "Success"
        assert seat.output().count("200 OK") == registered
        await b.command("channel request hangup all")
    finally:
        seat.stop()


async def _state_is(client: AMIClient, device: str, want: str) -> bool:
    return await device_state(client, device) == want


async def test_the_edge_checks_seats_passwords_where_the_desks_read_them(site: Site) -> None:
    edge = site.edge
    current = await edge_passwords.password(site.sessions, "seat03")
    assert current
    assert await asyncio.to_thread(register, edge, PHONE_HOST, "seat03", current) == 200
    # The agent leaves; the seat's password is rotated where the edge reads it.
    await edge_passwords.store(site.sessions, {"seat03": "rotated-" + current[:8]})
    assert await asyncio.to_thread(register, edge, PHONE_HOST, "seat03", current) == 401
    assert await asyncio.to_thread(register, edge, PHONE_HOST, "seat03", "rotated-" + current[:8]) == 200
    # Not a seat at all: no such account to guess.
    assert await asyncio.to_thread(register, edge, PHONE_HOST, "admin", "x") == 404


async def test_an_address_guessing_seats_passwords_is_blocked_at_the_edge(site: Site) -> None:
    edge = site.edge
    limit = site.a.edge.auth_failures
    answers = [await asyncio.to_thread(register, edge, GUESSER, "seat04", f"guess-{n}") for n in range(limit)]
    # The last guess gets no answer at all: the address is blocked from then on.
    assert answers == [401] * (limit - 1) + [None]
    await eventually(lambda: f"{GUESSER} blocked for" in edge.log_tail(300), timeout=10)
    right = await edge_passwords.password(site.sessions, "seat04")
    assert right
    # Even the right password goes unanswered from there now; a seat elsewhere registers.
    assert await asyncio.to_thread(register, edge, GUESSER, "seat04", right) is None
    assert await asyncio.to_thread(register, edge, PHONE_HOST, "seat04", right) == 200


# -- one logical queue over both nodes --------------------------------------------


@dataclass
class Cluster:
    site: Site
    a: TestServer
    b: TestServer
    a_ami: AMIClient
    b_ami: AMIClient


@pytest.fixture
async def cluster(site: Site, pbx: Pbx, settings: Settings, clock: Clock, tmp_path: Path) -> AsyncIterator[Cluster]:
    """A controller per node on the shared database; a leads."""
    fast = {"poll_seconds": 0.3, "heartbeat_seconds": 0.3, "seat_settle_seconds": 3.0}
    # Work written at one controller reaches the others only by their word
    # (hotline_work), not by a periodic read within the tests' time.
    work = settings.work.model_dump() | {"sync_seconds": 30.0}
    own_a = site.a.model_validate(
        site.a.model_dump() | {"state_dir": tmp_path / "a", "cluster": {"node": "a", **fast}, "work": work}
    )
    own_b = site.b.model_validate(
        site.b.model_dump()
        | {
            "cluster": {"node": "b", **fast},
            "web": site.b.web.model_dump() | {"port": settings.web.port + 1},
            "work": work,
        }
    )
    adopt_secrets(settings, own_a)
    await _fresh_floor(site)
    servers = []
    try:
        for own in (own_a, own_b):  # one at a time: a wins the first term
            server = TestServer(create_app(own, clock=clock), host=settings.web.host, port=own.web.port)
            await server.start_server()
            servers.append(server)
            await eventually(lambda s=server: s.app[KEEPER].mirror.synced, timeout=15)
            await eventually(lambda s=server: s.app[FENCE].leadership is not None, timeout=5)
        a, b = servers
        await eventually(lambda: a.app[FENCE].leading, timeout=10)
        b_ami = await connected_client(site.b, name="node-b-test")
        a_ami = await connected_client(site.a, name="node-a-test")
        try:
            yield Cluster(site, a, b, a_ami, b_ami)
        finally:
            for client in (a_ami, b_ami):
                # Node b's Asterisk may have been killed before its client noticed.
                with contextlib.suppress(AMIError):
                    await client.command("channel request hangup all")
                await client.close()
    finally:
        for server in reversed(servers):
            await server.close()
        keep_rotations(pbx, settings)


async def _fresh_floor(site: Site) -> None:
    """The module's database as a new shift finds it: nobody logged in or
    placed, the lead's choices and callbacks of earlier tests gone."""
    async with site.sessions() as db, db.begin():
        for table in ("agent_sessions", "cluster_seats", "callbacks"):
            await db.execute(text(f"DELETE FROM {table}"))
        await db.execute(
            text(
                "UPDATE acd_intent SET lines_override = NULL, lines_window = '', standby_manual = NULL,"
                " overflow_exempt = '', plan_lines = NULL"
            )
        )


async def queue_members(client: AMIClient) -> set[str]:
    if not client.connected:
        return set()
    status = await client.list_action("QueueStatus", Queue="hotline")
    return {e.member_name for e in status.events if isinstance(e, ev.QueueMember)}


async def _paused_in(client: AMIClient, agent: str) -> bool:
    status = await client.list_action("QueueStatus", Queue="hotline")
    return any(e.paused for e in status.events if isinstance(e, ev.QueueMember) and e.member_name == agent)


async def _not_paused_in(client: AMIClient, agent: str) -> bool:
    status = await client.list_action("QueueStatus", Queue="hotline")
    return any(not e.paused for e in status.events if isinstance(e, ev.QueueMember) and e.member_name == agent)


async def _members_are(client: AMIClient, *agents: str) -> bool:
    return await queue_members(client) == set(agents)


async def test_one_queue_over_two_nodes_a_waiting_caller_gets_a_free_seat_from_the_other_node(
    cluster: Cluster, tmp_path: Path
) -> None:
    if not Baresip.available():
        pytest.fail("baresip is not installed (scripts/bootstrap installs baresip-core)")
    site, a, b = cluster.site, cluster.a, cluster.b
    desk: Desk | None = None
    phones = await edge_phones(site, tmp_path, "seat01", "seat02")
    try:
        for seat in ("seat01", "seat02"):
            await eventually(lambda s=seat: _state_is(cluster.a_ami, f"PJSIP/{s}", "NOT_INUSE"), timeout=20)
        # Both agents log in at node a's desks; the leader spreads them.
        # One agent logs in at node a's desks, the other at node b's (the
        # desk's websocket open there); the leader spreads their seats.
        await a.app[ACD].login("seat01", "agent01", "坐席员1")
        desk = await Desk(b, "seat02").start()
        agent2 = desk.username
        await eventually(lambda: _members_are(cluster.a_ami, "坐席员1"), timeout=15)
        await eventually(lambda: _members_are(cluster.b_ami, agent2), timeout=15)
        # Each controller took the other's login over: both floors show both agents.
        for server in (a, b):
            assert {s.agent for s in server.app[ACD].floor.seats.values() if s.logged_in} == {"agent01", agent2}

        # Node a's only seat takes a call; the next caller on a waits while
        # seat02 idles on b, until the leader moves seat02 to a.
        seen = Recorder(cluster.a_ami)
        first = await queue_caller(cluster.a_ami)
        await seen.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == first, timeout=20)
        second = await queue_caller(cluster.a_ami)
        joined = await seen.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == second, timeout=20)
        waited_from = time.monotonic()
        await eventually(lambda: _members_are(cluster.a_ami, "坐席员1", agent2), timeout=15, interval=0.02)
        moved = time.monotonic() - waited_from
        served = await seen.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == second, timeout=20)
        waited = time.monotonic() - waited_from
        print(
            f"\ncaller waiting on node a, seat free on node b -> the seat a member on a after {moved:.1f} s, "
            f"the caller answered after {waited:.1f} s (app_queue rings once the prompt the caller hears ends)"
        )
        assert served.member_name == agent2 and joined.queue == "hotline"
        # The bound: a few heartbeats (0.3 s here) plus the prompt the caller hears.
        assert waited < 10
        # Node a answered the call; the agent's desk, open at node b, got the pop and the ticket.
        pop = await desk.pop()
        assert pop["caller"] == second and pop["seat"] == "seat02" and pop["ticket"]["agent"] == agent2
        # The desk at node b holds the call node a carries: node a's controller acts on it.
        status, body = await desk.call("POST", "/api/desk/call/hold")
        assert status == 200 and body["held"] is True, body
        await eventually(lambda: has_channel(cluster.a_ami, "Local/hold-seat02@hotline-hold", "ChanSpy"), timeout=5)
        status, body = await desk.call("POST", "/api/desk/call/unhold")
        assert status == 200 and body["held"] is False, body
        await eventually(lambda: channel_gone(cluster.a_ami, "Local/hold-seat02@hotline-hold"), timeout=5)
        # A number the desk may not dial is refused by the controller that holds the call.
        status, body = await desk.call("POST", "/api/desk/call/transfer", json={"number": "99999"})
        assert status == 400 and body["error_id"] == "bad-request", body
        # Node b's seat map shows seat02 on its call at node a (the heartbeat carries it).
        async with b.app[SESSIONS]() as db, db.begin():
            _, lead_password = await accounts.create_user(db, "edge-lead", "值班长", [Role.LEAD])
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1500, "height": 1000})
            await page.goto(str(b.make_url("/lead/seatmap")))
            await sign_in(page, "edge-lead", lead_password, "/lead/seatmap")
            await page.wait_for_selector("#seat-seat02[data-state=talking]", timeout=10000)
            assert "节点 a" in await page.inner_text("#seat-seat02")
            # ...with whom: the caller, masked as on every tile.
            assert f"来电 {mask_number(second)}" in await page.inner_text("#seat-seat02")
            assert "节点 a" in await page.inner_text("#seat-seat01")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "seatmap-seat-on-other-node.png"), full_page=True)
        assert await queue_members(cluster.b_ami) == set()
        notes = [c for c in a.app[ACD].changes if c.kind == "placed" and c.seat == "seat02"]
        assert notes and "支援排队来电" in notes[-1].detail
        # Node b's lead reads the move on its own change log too.
        assert [c.detail for c in b.app[ACD].changes if c.kind == "placed" and c.seat == "seat02"] == [
            "支援排队来电：在节点 a 接听"
        ]
        await cluster.a_ami.command("channel request hangup all")
        await eventually(lambda: _not_talking(a, "seat01", "seat02"), timeout=15)
        # Node b learns it from a's next heartbeat: until then its agent is on a call there.
        await eventually(lambda: _not_talking(b, "seat02"), timeout=5)
        a.app[ACD].end_wrapup("seat01", "agent01")  # the agent is ready again (the test's clock stands still)
        # seat02's agent ends the wrap-up at the desk node b serves: node a, whose
        # queue holds the seat paused meanwhile, ends it and offers it calls again.
        assert a.app[ACD].floor.seats["seat02"].wrapup_until is not None
        assert await _paused_in(cluster.a_ami, agent2)
        status, body = await desk.call("POST", "/api/agent/wrapup/end")
        assert status == 200, body
        await eventually(lambda: a.app[ACD].floor.seats["seat02"].wrapup_until is None, timeout=5)
        await eventually(lambda: _not_paused_in(cluster.a_ami, agent2), timeout=10)
        assert [c.detail for c in a.app[ACD].changes if c.kind == "wrapup-end"] == ["结束整理（节点 b 的座席页面）"]

        # seat02's agent logs out and in again: placed on b, the emptier node.
        await b.app[ACD].logout("seat02", agent2)
        await eventually(lambda: _members_are(cluster.a_ami, "坐席员1"), timeout=15)
        await b.app[ACD].login("seat02", agent2, agent2)
        await eventually(lambda: _members_are(cluster.b_ami, agent2), timeout=15)
        # The password was rotated when the agent left: the phone is provisioned anew.
        old = phones[1].password
        password = await eventually(lambda: _changed_password(site, "seat02", old), timeout=10)
        phones[1].stop()
        phones[1] = phone(site, tmp_path / "seat02-again", "seat02", password, 1)
        phones[1].start()
        await eventually(lambda: "200 OK" in phones[1].output(), timeout=10)

        # Node b's Asterisk dies: seat02 serves on a.
        killed = time.monotonic()
        supervisor = site.b_pbx.supervisor_pid()
        assert supervisor is not None
        os.killpg(supervisor, signal.SIGKILL)
        await eventually(lambda: _members_are(cluster.a_ami, "坐席员1", agent2), timeout=20)
        print(f"node b killed -> its seat a member on node a after {time.monotonic() - killed:.1f} s")
        # The leader told the lead what went down with the node (nothing was on it).
        down = [c.detail for c in a.app[ACD].changes if c.kind == "node-down"]
        assert down == ["节点 b 故障：通话中 0 通、语音导航中 0 位、排队中 0 位来电随之中断"]
        seen = Recorder(cluster.a_ami)
        for caller in (await queue_caller(cluster.a_ami), await queue_caller(cluster.a_ami)):
            await seen.wait_for(ev.AgentConnect, lambda e, c=caller: e.caller_id_num == c, timeout=30)
        assert {e.member_name for e in seen.of(ev.AgentConnect)} == {"坐席员1", agent2}
    finally:
        if desk is not None:
            await desk.close()
        for p in phones:
            p.stop()
        await asyncio.to_thread(site.b_pbx.start)


async def test_the_leader_plans_the_lines_for_callers_waiting_on_any_node(cluster: Cluster, tmp_path: Path) -> None:
    """Standby is brought on by a caller waiting on node b while the standby
    seat sits in node a's queue: the leader counts every node's callers."""
    if not Baresip.available():
        pytest.fail("baresip is not installed (scripts/bootstrap installs baresip-core)")
    site, a, b = cluster.site, cluster.a, cluster.b
    password = await edge_passwords.password(site.sessions, "seat01")
    assert password
    p = phone(site, tmp_path / "seat01", "seat01", password)
    p.start()
    try:
        await eventually(lambda: _state_is(cluster.b_ami, "PJSIP/seat01", "NOT_INUSE"), timeout=20)
        await a.app[ACD].login("seat01", "agent01", "坐席员1", standby=True)
        # Placed on a (the emptier node on a tie), paused there: standby waits for a reason.
        await eventually(lambda: _members_are(cluster.a_ami, "坐席员1"), timeout=15)
        assert not a.app[ACD].lines.standby_active and not a.app[ACD].floor.seats["seat01"].on_line
        seen = Recorder(cluster.b_ami)
        caller = await queue_caller(cluster.b_ami)
        served = await seen.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == caller, timeout=30)
        assert served.member_name == "坐席员1"
        # The leader noted and stored why; node b's lead reads the same on its change log.
        assert "备班上线：排队人数多于在岗线路" in [c.detail for c in a.app[ACD].changes if c.kind == "standby"]
        assert "备班上线：排队人数多于在岗线路" in [c.detail for c in b.app[ACD].changes if c.kind == "standby"]
        assert b.app[ACD].lines.standby_active
        # Stored once, by the leader (the followers' notes are theirs only).
        await eventually(lambda: _standby_notes_stored(site, 1), timeout=5)
        await asyncio.sleep(1.0)  # three heartbeats: a follower's write would have landed
        assert await _standby_notes_stored(site, 1)
        # The lead turns standby off at node b's seat map: the leader plans with it.
        await b.app[ACD].set_standby(False, "lead")
        await eventually(lambda: a.app[ACD].lines.standby_manual is False, timeout=5)
        await cluster.b_ami.command("channel request hangup all")
        await eventually(lambda: not a.app[ACD].floor.seats["seat01"].on_line, timeout=10)
        await eventually(lambda: not b.app[ACD].floor.seats["seat01"].on_line, timeout=5)
    finally:
        p.stop()


async def test_work_is_offered_by_the_leader_alone_and_reaches_a_desk_at_any_node(cluster: Cluster) -> None:
    """A ticket filed at node b makes an item; the leader (a) offers it to an
    agent whose desk is open at b; the agent accepts there. One offer, made
    by the leader, seen at b within moments (not at the next full read)."""
    a, b = cluster.a, cluster.b
    # The lead, at node b's seat map, takes every line away: agents do ticket work.
    await b.app[ACD].set_lines(0, "lead")
    await eventually(lambda: a.app[ACD].lines.target == 0, timeout=5)
    desk = await Desk(b, "seat02").start()
    try:
        await eventually(lambda: a.app[ACD].floor.seats["seat02"].agent == desk.username, timeout=5)
        assert not b.app[ACD].floor.seats["seat02"].on_line
        ticket = await from_gateway(b, "app", NOISE)
        filed = time.monotonic()
        item = await offer_to(desk, ticket["number"], "intake", timeout=10)
        print(
            f"\nticket filed at node b -> offered by the leader, on the desk at node b after {time.monotonic() - filed:.2f} s"
        )
        status, detail = await desk.call("POST", f"/api/work/{item['id']}/accept")
        assert status == 200 and detail["state"] == "accepted"
        # The leader hears of the accept: it neither lets the offer lapse nor offers it again.
        await eventually(lambda: a.app[WORK].items[item["id"]].state.value == "accepted", timeout=5)
        assert await events_of(a, item["id"]) == ["created", "offered", "accepted"]
        assert b.app[WORK].conflicts == 0 and a.app[WORK].conflicts == 0
        # The offer was the leader's (each controller times the offers it wrote).
        assert (len(a.app[WORK].offer_latency), len(b.app[WORK].offer_latency)) == (1, 0)
    finally:
        await desk.close()
        await b.app[ACD].set_lines(None, "lead")


async def test_a_missed_call_is_called_back_once_by_one_node(cluster: Cluster, tmp_path: Path) -> None:
    """Both controllers look for due callbacks in the shared table at the
    same moment: one claims it, and only its node rings the citizen."""
    if not Baresip.available():
        pytest.fail("baresip is not installed (scripts/bootstrap installs baresip-core)")
    site, a, b = cluster.site, cluster.a, cluster.b
    password = await edge_passwords.password(site.sessions, "seat01")
    assert password
    p = phone(site, tmp_path / "seat01", "seat01", password)
    p.start()
    try:
        await eventually(lambda: _state_is(cluster.a_ami, "PJSIP/seat01", "NOT_INUSE"), timeout=20)
        await a.app[ACD].login("seat01", "agent01", "坐席员1")
        await eventually(lambda: _members_are(cluster.a_ami, "坐席员1"), timeout=15)
        await eventually(lambda: all(s.app[ACD].floor.seats["seat01"].on_line for s in (a, b)), timeout=5)
        seen = {"a": Recorder(cluster.a_ami), "b": Recorder(cluster.b_ami)}
        now = a.app[ACD].now()
        async with site.sessions() as db, db.begin():
            cb = Callback(kind="missed", number="13677770009", status="pending", created_at=now, due_at=now)
            db.add(cb)
        await asyncio.gather(a.app[CALLBACKS].dispatch(), b.app[CALLBACKS].dispatch())

        def placed() -> list[str]:
            return [
                n for n, r in seen.items() if r.of(ev.Newchannel, lambda e: e.channel.startswith(f"Local/cb{cb.id}@"))
            ]

        await eventually(placed, timeout=10)
        for server in (a, b):
            rounds = server.app[CALLBACKS].rounds
            await eventually(lambda s=server, r=rounds: s.app[CALLBACKS].rounds >= r + 2, timeout=10)
        async with site.sessions() as db:
            row = await db.get(Callback, cb.id)
        assert row is not None and row.attempts == 1
        assert len(placed()) == 1, placed()
    finally:
        p.stop()


async def test_a_caller_waiting_for_a_lawyer_on_one_node_draws_the_lawyer_from_the_other(
    cluster: Cluster, tmp_path: Path
) -> None:
    if not Baresip.available():
        pytest.fail("baresip is not installed (scripts/bootstrap installs baresip-core)")
    site, a, b = cluster.site, cluster.a, cluster.b
    phones = await edge_phones(site, tmp_path, "seat01", "seat02")
    try:
        for seat in ("seat01", "seat02"):
            await eventually(lambda s=seat: _state_is(cluster.a_ami, f"PJSIP/{s}", "NOT_INUSE"), timeout=20)
        # A general agent and a lawyer, both placed on node a (b has nobody: the general
        # seat goes first to a, the lawyers' pool counts apart and also starts at a).
        await a.app[ACD].login("seat01", "agent01", "坐席员1")
        await a.app[ACD].login("seat02", "lawyer01", "律师1", lawyer=True)
        await eventually(lambda: _members_are(cluster.a_ami, "坐席员1"), timeout=15)
        await eventually(lambda: _lawyers_are(cluster.a_ami, "律师1"), timeout=15)
        seen = Recorder(cluster.b_ami)
        caller = "13677770123"
        await cluster.b_ami.action(
            "Originate",
            Channel="Local/queue@hotline-route",
            Application="Wait",
            Data="600",
            CallerID=f"<{caller}>",
            Variable=["HOTLINE_QUEUE=hotline-lawyer"],
            Async="true",
        )
        served = await seen.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == caller, timeout=30)
        assert (served.queue, served.member_name) == ("hotline-lawyer", "律师1")
        # The general seat stayed on a: it is no lawyer.
        assert await queue_members(cluster.a_ami) == {"坐席员1"}
        assert await queue_members(cluster.b_ami) == set()
        # Both seat maps show the lawyer on the call, placed on b.
        await eventually(lambda: b.app[ACD].floor.seats["seat02"].talking, timeout=5)
        await eventually(lambda: a.app[ACD].floor.seats["seat02"].talking, timeout=5)
        assert a.app[ACD].placed_on["seat02"] == "b"
    finally:
        for p in phones:
            p.stop()


async def _lawyers_are(client: AMIClient, *names: str) -> bool:
    status = await client.list_action("QueueStatus", Queue="hotline-lawyer")
    return {e.member_name for e in status.events if isinstance(e, ev.QueueMember)} == set(names)


async def _standby_notes_stored(site: Site, n: int) -> bool:
    async with site.sessions() as db:
        query = text("SELECT count(*) FROM acd_events WHERE kind = 'standby' AND detail LIKE '备班上线%'")
        return (await db.execute(query)).scalar() == n


async def _changed_password(site: Site, seat: str, old: str) -> str | None:
    now = await edge_passwords.password(site.sessions, seat)
    return now if now != old else None


def _not_talking(server: TestServer, *seats: str) -> bool:
    floor = server.app[ACD].floor
    return not any(floor.seats[s].talking for s in seats)


async def _offer_in_pbx(client: AMIClient) -> int | None:
    reply = await client.action("GetConfig", Filename=QUEUES_FILE, Category="hotline")
    return in_config([v for k, v in reply.as_dict().items() if k.startswith("Line-")])


async def _offers_are(cluster: Cluster, seconds: int) -> bool:
    return await _offer_in_pbx(cluster.a_ami) == seconds and await _offer_in_pbx(cluster.b_ami) == seconds


async def test_a_plan_started_at_one_node_runs_on_every_node_and_its_end_restores_them_all(cluster: Cluster) -> None:
    """Two leads start the same plan at two nodes at once: one run. The
    other node follows it within a heartbeat, the knobs it holds itself
    (overflow, its own PBX's callback offer) included, and the flow an
    admin published at one node serves at both; ended at the other node, every
    node is back as before. A plan due by its date starts at the leader alone."""
    a, b = cluster.a, cluster.b
    configured = a.app[SETTINGS].acd.callback_offer_seconds
    wanted = 45 if configured != 45 else 50
    body = {
        "code": "test-storm",
        "name": "测试暴雨预案",
        "announcement": "今日暴雨，积水报修请按一。",
        "lines": 3,
        "overflow": not a.app[ACD].acd.overflow.enabled,
        "callback_offer_seconds": wanted,
    }
    flows_a, flows_b = a.app[FLOWS], b.app[FLOWS]
    try:
        # An admin publishes a new welcome at node b: node a's callers hear it within a heartbeat.
        shipped = (SHIPPED_FLOWS / f"{MAIN_FLOW}.yaml").read_text(encoding="utf-8")
        await flows_b.save_draft(
            MAIN_FLOW, shipped.replace("您好，12345。", "您好，12345，暴雨期间请耐心等待。"), "admin"
        )
        version = await flows_b.publish(MAIN_FLOW, "admin")
        await eventually(lambda: flows_a.current(MAIN_FLOW).version == version, timeout=10)
        # Prepared at node a; node b's catalogue has it within a heartbeat.
        await a.app[PLANS].prepare(body, "admin", None)
        await eventually(lambda: "test-storm" in b.app[PLANS].plans, timeout=5)
        overflow_before = a.app[ACD].acd.overflow.enabled
        assert b.app[ACD].acd.overflow.enabled == overflow_before

        results = await asyncio.gather(
            a.app[PLANS].start("test-storm", "值班长甲", "暴雨"),
            b.app[PLANS].start("test-storm", "值班长乙", "暴雨"),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, PlanRefused)]
        assert len(refused) == 1 and len([r for r in results if isinstance(r, dict)]) == 1, results
        async with cluster.site.sessions() as db:
            running = (await db.execute(text("SELECT started_by FROM plan_runs WHERE ended_at IS NULL"))).all()
        assert len(running) == 1
        starter, other = (a, b) if running[0][0] == "值班长甲" else (b, a)

        # The other node follows: its plan, its overflow, its own PBX's offer, the notice, the lines.
        await eventually(lambda: other.app[PLANS].run is not None, timeout=5)
        assert other.app[SEATMAP_HUB].plan["running"]["name"] == "测试暴雨预案"
        for node in (a, b):
            await eventually(lambda n=node: n.app[ACD].acd.overflow.enabled != overflow_before, timeout=5)
            await eventually(lambda n=node: n.app[ANNOUNCEMENTS].current_file() is not None, timeout=10)
            await eventually(lambda n=node: n.app[ACD].lines.plan == 3, timeout=5)
        await eventually(lambda: _offers_are(cluster, wanted), timeout=10)
        assert "预案「测试暴雨预案」已在其他节点启动" in " ".join(c.detail for c in other.app[ACD].changes)

        # Ended at the node that did not start it: every node is back.
        ended = await other.app[PLANS].end("值班长乙", "雨停")
        assert "排队回拨提示" in ended["restored"] and "溢出支援" in ended["restored"]
        await eventually(lambda: starter.app[PLANS].run is None, timeout=5)
        for node in (a, b):
            await eventually(lambda n=node: n.app[ACD].acd.overflow.enabled == overflow_before, timeout=5)
            await eventually(lambda n=node: n.app[ANNOUNCEMENTS].current_file() is None, timeout=10)
            await eventually(lambda n=node: n.app[ACD].lines.plan is None, timeout=5)
        await eventually(lambda: _offers_are(cluster, configured), timeout=10)
        assert starter.app[SEATMAP_HUB].plan["running"] is None
        with pytest.raises(PlanRefused):
            await starter.app[PLANS].end("值班长甲", "")

        # Due today by its date: the follower leaves it, the leader starts it, the follower follows.
        today = a.app[CLOCK]().astimezone(a.app[ACD].calendar.tz).date().isoformat()
        await a.app[PLANS].prepare(
            body | {"code": "test-holiday", "name": "测试节日预案", "dates": [today]}, "admin", None
        )
        await eventually(lambda: "test-holiday" in b.app[PLANS].plans, timeout=5)
        # (On a loaded machine the 0.3 s heartbeats may pass the lead to b meanwhile.)
        leader = await eventually(lambda: next((n for n in (a, b) if n.app[FENCE].leading), None), timeout=5)
        follower = b if leader is a else a
        await follower.app[PLANS].tick()
        assert follower.app[PLANS].run is None
        await leader.app[PLANS].tick()
        run = leader.app[PLANS].run
        assert run is not None and run.started_by == "系统" and run.code == "test-holiday"
        await eventually(lambda: follower.app[PLANS].run is not None, timeout=5)
        await follower.app[PLANS].end("值班长乙", "")
        await eventually(lambda: leader.app[PLANS].run is None, timeout=5)
        await eventually(lambda: _offers_are(cluster, configured), timeout=10)
    finally:
        async with cluster.site.sessions() as db, db.begin():
            await db.execute(text("UPDATE plan_runs SET ended_at = started_at WHERE ended_at IS NULL"))
            await db.execute(text("DELETE FROM plan_defs"))
            await db.execute(text("UPDATE announcements SET active = false, text = ''"))


async def test_with_no_wrap_up_a_seat_freed_on_a_later_node_serves_the_earlier_caller_on_another(
    cluster: Cluster, clock: Clock, tmp_path: Path
) -> None:
    """Arrival order across nodes with `wrapup_seconds` 0: both nodes' seats
    talk; a caller waits on node a, one on node b 10 s later. When b's seat
    hangs up, b's queue would hand it b's own (later) caller at once; b holds
    it instead, the leader moves it to a, and it answers a's caller first."""
    if not Baresip.available():
        pytest.fail("baresip is not installed (scripts/bootstrap installs baresip-core)")
    site, a, b = cluster.site, cluster.a, cluster.b
    for node in (a, b):
        node.app[ACD].acd = node.app[ACD].acd.model_copy(update={"wrapup_seconds": 0.0})
    phones = await edge_phones(site, tmp_path, "seat01", "seat02")
    try:
        for seat in ("seat01", "seat02"):
            await eventually(lambda s=seat: _state_is(cluster.a_ami, f"PJSIP/{s}", "NOT_INUSE"), timeout=20)
        await a.app[ACD].login("seat01", "agent01", "坐席员1")
        await eventually(lambda: _members_are(cluster.a_ami, "坐席员1"), timeout=15)
        await b.app[ACD].login("seat02", "agent02", "坐席员2")
        await eventually(lambda: _members_are(cluster.b_ami, "坐席员2"), timeout=15)
        at_a, at_b = Recorder(cluster.a_ami), Recorder(cluster.b_ami)
        # Both seats on a call, one on each node.
        first_a, first_b = await queue_caller(cluster.a_ami), await queue_caller(cluster.b_ami)
        await at_a.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == first_a, timeout=20)
        talking_b = await at_b.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == first_b, timeout=20)
        # A caller waits on a; ten seconds later another on b.
        early = await queue_caller(cluster.a_ami)
        await at_a.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == early, timeout=20)
        await eventually(lambda: len(a.app[ACD].waiting) == 1, timeout=5)
        clock.now += dt.timedelta(seconds=10)
        late = await queue_caller(cluster.b_ami)
        await at_b.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == late, timeout=20)
        await eventually(lambda: len(b.app[ACD].waiting) == 1, timeout=5)
        # Node b has heard, by a's heartbeat, that a's caller came first.
        await eventually(lambda: b.app[PLACEMENT]._loads["a"].waiting != (), timeout=5)

        hung_up = time.monotonic()
        await cluster.b_ami.action("Hangup", Channel=talking_b.dest_channel)
        served = await at_a.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == early, timeout=20)
        print(
            f"\nseat freed on node b -> node a's earlier caller answered by it after {time.monotonic() - hung_up:.1f} s"
        )
        assert served.member_name == "坐席员2"
        # b's later caller was never offered the seat; it still waits.
        assert not [e for e in at_b.of(ev.AgentCalled) if e.caller_id_num == late]
        assert len(b.app[ACD].waiting) == 1
        moves = [c.detail for c in a.app[ACD].changes if c.kind == "placed" and c.seat == "seat02"]
        assert moves[-1] == "先到先接：支援更早排队的来电：在节点 a 接听", moves
        # The hold ended with the move: the seat talks on a, nothing holds it on b.
        assert not b.app[ACD].held
    finally:
        for p in phones:
            p.stop()


async def _edge_registered(site: Site, user: str) -> bool:
    async with site.sessions() as db:
        found = await db.scalar(text("SELECT count(*) FROM edge_location WHERE username = :u"), {"u": user})
    return bool(found)


async def test_the_desks_browser_phone_registers_at_the_edge_and_takes_a_call_from_the_other_node(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The desk is open at node a; its browser phone registers at the edge
    through a's relay, so the leader may place the seat on node b, and b's
    caller is answered in the browser with audio both ways."""
    site, a, b = cluster.site, cluster.a, cluster.b
    await b.app[ACD].login("seat02", "agent02", "坐席员2")  # placed first: on a
    await eventually(lambda: _members_are(cluster.a_ami, "坐席员2"), timeout=15)
    agent = await Api(a).login_as(Role.AGENT, "edge-web")
    try:
        assert (await agent.request("POST", "/api/agent/login", json={"seat": "seat01"}))[0] == 200
        await eventually(lambda: _members_are(cluster.b_ami, "edge-web"), timeout=15)
        async with chromium(media_args(tone_440(tmp_path))) as browser:
            page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
            await page.goto(str(a.make_url("/desk")))
            await sign_in(page, agent.username, agent.password, "/desk")
            await page.check("#wpToggle")
            await page.wait_for_selector("#wpState.ready:has-text('已登记（seat01）')", timeout=20000)
            # Registered at the edge (not at node a's Asterisk), and node b reaches it there.
            assert await _edge_registered(site, "seat01-web")
            # Each node's AoR for it is the edge (its static contact), none registered at a node.
            for client in (cluster.a_ami, cluster.b_ami):
                shown = await client.command("pjsip show aor seat01-web")
                assert f"seat01-web/sip:seat01-web@{EDGE_HOST}" in shown, shown
            await eventually(lambda: _state_is(cluster.b_ami, "PJSIP/seat01-web", "NOT_INUSE"), timeout=20)
            # The seat stays placed on b: a browser phone at the edge pins it nowhere.
            assert a.app[PLACEMENT].placed["seat01"].node == "b"
            assert (await agent.request("POST", "/api/agent/ready"))[0] == 200
            at_b = Recorder(cluster.b_ami)
            await duplex_caller(cluster.b_ami, "edge-wp", "13588880009")
            await page.wait_for_selector("#wpRinging:not(.hidden)", timeout=20000)
            await page.click("#wpAnswer")
            served = await at_b.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == "13588880009", timeout=20)
            assert served.member_name == "edge-web"
            # Node b's leg to the browser phone, through the edge.
            assert await has_channel(cluster.b_ami, "PJSIP/seat01-web-")
            # The pop reaches the desk at node a from node b's controller.
            await page.wait_for_selector("#caller:has-text('13588880009')", timeout=10000)
            tone = await eventually(lambda: _heard(page), timeout=15)
            assert tone["rms"] > 0.005 and 480 < tone["peak_hz"] < 700, tone  # the caller's hold music
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "desk-webphone-at-the-edge.png"))
            talk_from = time.time()
            began = await at_b.wait_for(
                ev.Newexten, lambda e: e.context == "sim-duplex" and e.application == "MixMonitor", timeout=10
            )
            await asyncio.sleep(3)
            await page.click("#wpHangup")  # the browser's BYE reaches node b through the edge
            await eventually(lambda: _not_talking(b, "seat01"), timeout=15)
            heard = site.b.recordings_dir / "sim-heard-edge-wp.wav"
            await eventually(lambda: heard.is_file() and heard.stat().st_size > 44, timeout=15)
            await asyncio.sleep(1)  # MixMonitor closes its file after the hang-up
            rms, freq = sox_stat(heard, max(talk_from - stamp(began), 0) + 0.5, 2.0)
            assert rms > 0.01 and 400 < freq < 480, (rms, freq)  # the browser's 440 Hz tone, heard on node b

            # The tab is closed mid-call: node a held its relay, node b the call. b hears
            # of it, and after the grace puts its caller back at the front of its queue.
            b.app[ACD].end_wrapup("seat01", "edge-web")  # the agent is ready again (the test's clock stands still)
            await duplex_caller(cluster.b_ami, "edge-wp2", "13588880010")
            await page.wait_for_selector("#wpRinging:not(.hidden)", timeout=20000)
            await page.click("#wpAnswer")
            talk = await at_b.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == "13588880010", timeout=20)
            assert "seat01" in b.app[WEBPHONES].elsewhere  # node b knows the phone is relayed by a
            await page.context.close()
            await eventually(lambda: a.app[ACD].floor.seats["seat01"].pause == st.PHONE_LOST, timeout=10)
            back = await at_b.wait_for(
                ev.QueueCallerJoin,
                lambda e: e.channel == talk.channel and at_b.events.index(e) > at_b.events.index(talk),
                timeout=30,
            )
            assert back.position == 1
            assert any(c.kind == "requeue" and "13588880010" in c.detail for c in b.app[ACD].changes)
            # Node b takes the stored pause over: the seat is offered nothing meanwhile.
            await eventually(lambda: b.app[ACD].floor.seats["seat01"].pause == st.PHONE_LOST, timeout=10)
    finally:
        await agent.close()


async def test_new_calls_go_to_the_node_with_a_seat_free(cluster: Cluster) -> None:
    """Only node b has a seat free: the leader steers the edge, and every new
    call lands on b, where round robin would send every other one to a (whose
    caller would wait for a seat to move over)."""
    a, b = cluster.a, cluster.b
    await a.app[ACD].login("seat01", "agent01", "坐席员1")
    await eventually(lambda: _members_are(cluster.a_ami, "坐席员1"), timeout=15)
    await b.app[ACD].login("seat02", "agent02", "坐席员2")
    await eventually(lambda: _members_are(cluster.b_ami, "坐席员2"), timeout=15)
    await a.app[ACD].pause("seat01", "meal", "agent01")
    b_uri = f"sip:{NODE_B_HOST}:{cluster.site.b.pbx.sip_port}"

    def steered_to_b() -> bool:
        # The leader wrote it, and the edge (reading every second) has it.
        return a.app[STEERING].last == ["b"] and cluster.site.edge.steered() == [b_uri]

    await eventually(steered_to_b, timeout=10)
    landed = []
    for n in range(4):
        number = f"1390000000{n}"
        at_a, at_b = Recorder(cluster.a_ami), Recorder(cluster.b_ami)
        # A carrier's call for 12345, sent to the edge (node a's trunk to it stands in for the carrier).
        await cluster.a_ami.action(
            "Originate", Channel="PJSIP/12345@edge", Application="Wait", Data="60", CallerID=f"<{number}>", Async="true"
        )

        def arrived(e: ev.Newchannel, number: str = number) -> bool:
            return e.context == "from-trunk-edge" and e.caller_id_num == number

        where = await eventually(
            lambda: "a" if at_a.of(ev.Newchannel, arrived) else "b" if at_b.of(ev.Newchannel, arrived) else None,
            timeout=15,
        )
        landed.append(where)
        for client in (cluster.a_ami, cluster.b_ami):
            await client.command("channel request hangup all")
        # Its seat free and unclaimed again, b is steered to once more.
        await eventually(lambda: b.app[FASTAGI].active_sessions == 0 and steered_to_b(), timeout=10)
    assert landed == ["b", "b", "b", "b"]
    # No seat free anywhere: nothing steered, the edge goes round robin.
    await b.app[ACD].pause("seat02", "meal", "agent02")
    await eventually(lambda: a.app[STEERING].last == [] and cluster.site.edge.steered() == [], timeout=10)


async def test_a_lead_at_one_node_listens_to_a_call_on_the_other_from_a_monitoring_phone_at_the_edge(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The lead's seat map is served by node b's controller; the seat's call
    is on node a. ChanSpy runs on a (b's controller asks a's), and a rings
    the lead's monitoring phone where it registered: at the edge."""
    if not Baresip.available():
        pytest.fail("baresip is not installed (scripts/bootstrap installs baresip-core)")
    site, a, b = cluster.site, cluster.a, cluster.b
    # The controllers shared the monitoring phone's password with the edge too.
    phones = await edge_phones(site, tmp_path, "seat02", "monitor01", first=1)
    seat, monitor = phones
    lead = await Api(b).login_as(Role.LEAD, "edge-spy-lead")
    try:
        await eventually(lambda: _edge_registered(site, "monitor01"), timeout=20)
        # Node a rings the monitoring phone through the edge: its AoR there, and the phone answers its probe.
        assert f"monitor01/sip:monitor01@{EDGE_HOST}" in await cluster.a_ami.command("pjsip show aor monitor01")
        await eventually(lambda: _state_is(cluster.a_ami, "PJSIP/monitor01", "NOT_INUSE"), timeout=20)
        await eventually(lambda: _state_is(cluster.a_ami, "PJSIP/seat02", "NOT_INUSE"), timeout=20)
        await b.app[ACD].login("seat02", "agent02", "坐席员2")  # placed first: on a
        await eventually(lambda: _members_are(cluster.a_ami, "坐席员2"), timeout=15)
        at_a = Recorder(cluster.a_ami)
        await duplex_caller(cluster.a_ami, "edge-spy", "13588880011")
        await at_a.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == "13588880011", timeout=20)
        # Node b's floor shows seat02 talking (a's heartbeat carries it).
        await eventually(lambda: b.app[ACD].floor.seats["seat02"].talking, timeout=10)

        status, body = await lead.request(
            "POST", "/api/lead/seats/seat02/spy", json={"mode": "listen", "phone": "monitor01"}
        )
        assert status == 200 and (body["node"], body["phone"], body["seat"]) == ("a", "monitor01", "seat02"), body
        spying = await at_a.wait_for(ev.UnknownEvent, lambda e: e.name == "ChanSpyStart", timeout=20)
        assert spying.raw.get("SpyeeChannel", "").startswith("PJSIP/seat02-")
        assert spying.raw.get("SpyerChannel", "").startswith("Local/monitor01@hotline-monitor-phone")
        await eventually(lambda: "Call established" in monitor.output(), timeout=15)
        # The monitoring phone is no queue member on either node.
        for client in (cluster.a_ami, cluster.b_ami):
            assert not any("monitor" in m for m in await queue_members(client))
        await asyncio.sleep(3)
        # The lead at node b sees the listen on its own seat map, and stops it there.
        assert [(s["phone"], s["seat"], s["node"]) for s in b.app[SUPERVISION].views()] == [
            ("monitor01", "seat02", "a")
        ]
        async with chromium(media_args(tone_440(tmp_path))) as browser:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            await page.goto(str(b.make_url("/lead/seatmap")))
            await sign_in(page, lead.username, lead.password, "/lead/seatmap")
            await page.wait_for_selector("#spies:has-text('monitor01：') >> text=节点 a")
            await page.wait_for_selector("#seat-seat02 .spying:has-text('monitor01')")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "seatmap-listen-on-other-node.png"))
            await page.click("#spies button:has-text('停止')")
            await page.wait_for_selector("#seat-seat02 .spying", state="detached")
            await eventually(lambda: channel_gone(cluster.a_ami, "Local/monitor01@hotline-monitor-phone"), timeout=10)
            assert await has_channel(cluster.a_ami, "PJSIP/seat02-")  # the call itself goes on
            await eventually(lambda: not a.app[SUPERVISION].served, timeout=5)
            # What the monitoring phone heard: the call (the seat's 440 Hz and the caller's music), not silence.
            heard = await eventually(monitor.heard, timeout=10)
            rms, freq = sox_stat(heard, 0.5, 2.0)
            print(f"\nmonitoring phone at the edge, spying on node a for node b's lead: RMS {rms:.3f}, ~{freq:.0f} Hz")
            assert rms > 0.01, (rms, freq)

            # The lead's browser phone on the seat map registers at the edge too (through b's
            # relay): node a rings it there, the page answers by itself and hears the call.
            monitor.stop()
            await page.check("#wpToggle")
            await page.wait_for_selector("#wpState.ready:has-text('已登记（monitor01）')", timeout=20000)
            assert await _edge_registered(site, "monitor01-web")
            await eventually(lambda: _state_is(cluster.a_ami, "PJSIP/monitor01-web", "NOT_INUSE"), timeout=20)
            await page.click("#seat-seat02 button:has-text('监听')")
            await eventually(lambda: page.evaluate("window.deskPhone.inCall"), timeout=20)
            tone = await eventually(lambda: _heard(page), timeout=15)
            assert tone["rms"] > 0.005, tone
            print(f"the lead's browser phone at the edge hears node a's call: {tone}")
            await page.wait_for_selector("#seat-seat02 .spying:has-text('监听中（monitor01）')")
            # The call ends on node a: a says so, and b's map drops the listen.
            await cluster.a_ami.command("channel request hangup all")
            await page.wait_for_selector("#seat-seat02 .spying", state="detached", timeout=15000)
        assert not b.app[SUPERVISION].active
        ends = [c.detail for c in b.app[ACD].changes if c.kind == "spy-end"]
        assert ends and "monitor01" in ends[-1], ends
        starts = [c.detail for c in b.app[ACD].changes if c.kind == "spy"]
        assert starts and "节点 a" in starts[-1], starts
    finally:
        await lead.close()
        for p in phones:
            p.stop()
