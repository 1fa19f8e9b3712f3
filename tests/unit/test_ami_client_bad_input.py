"""Bad input from a server never crashes the client or loses the connection."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest

from hotline.ami import events as ev
from hotline.ami.client import AMIClient, backoff
from hotline.ami.replies import AMIActionError, AMIDisconnected
from hotline.config import AmiSettings
from tests.unit.fake_ami import FakeAMI


@pytest.fixture
async def fake() -> AsyncIterator[FakeAMI]:
    server = FakeAMI()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def client(fake: FakeAMI) -> AsyncIterator[AMIClient]:
    settings = AmiSettings(
        port=fake.port,
        secret="x",
        ping_interval=0.3,
        ping_timeout=0.5,
        backoff_initial=0.05,
        backoff_max=0.2,
        max_message_bytes=2 * 1024 * 1024,
    )
    c = AMIClient(settings)
    seen: list[ev.Event] = []
    c.on_any(seen.append)
    c.seen = seen  # type: ignore[attr-defined]
    await c.start()
    await c.wait_connected(5)
    yield c
    await c.close()


async def still_healthy(client: AMIClient, connections: int = 1) -> None:
    reply = await client.action("Ping", timeout=2)
    assert reply.get("Ping") == "Pong"
    assert client.connected and client.connections == connections


async def test_unknown_event(fake: FakeAMI, client: AMIClient) -> None:
    await fake.send(b"Event: BrandNewThing\r\nFoo: bar\r\n\r\n")
    await still_healthy(client)
    await asyncio.sleep(0.05)
    assert any(isinstance(e, ev.UnknownEvent) and e.name == "BrandNewThing" for e in client.seen)  # type: ignore[attr-defined]


async def test_invalid_utf8(fake: FakeAMI, client: AMIClient) -> None:
    await fake.send(b"Event: Newchannel\r\nCallerIDName: \xc3\x28\xff\r\nUniqueid: 1.1\r\n\r\n")
    await still_healthy(client)
    await asyncio.sleep(0.05)
    chans = [e for e in client.seen if isinstance(e, ev.Newchannel)]  # type: ignore[attr-defined]
    assert chans and chans[0].uniqueid == "1.1"


async def test_one_megabyte_header(fake: FakeAMI, client: AMIClient) -> None:
    await fake.send(b"Event: UserEvent\r\nUserEvent: big\r\nBlob: " + b"x" * (1024 * 1024) + b"\r\n\r\n")
    await still_healthy(client)
    await asyncio.sleep(0.05)
    assert any(isinstance(e, ev.UserEvent) for e in client.seen)  # type: ignore[attr-defined]


async def test_message_over_the_limit_is_dropped(fake: FakeAMI, client: AMIClient) -> None:
    await fake.send(b"Event: UserEvent\r\nBlob: " + b"y" * (3 * 1024 * 1024) + b"\r\n\r\n")
    await still_healthy(client)
    assert client.frame_errors == 1


async def test_reply_to_no_action(fake: FakeAMI, client: AMIClient) -> None:
    await fake.send(b"Response: Success\r\nActionID: nobody-asked\r\nMessage: surprise\r\n\r\n")
    await fake.send(b"Response: Success\r\nMessage: no id at all\r\n\r\n")
    await still_healthy(client)


async def test_garbage_lines(fake: FakeAMI, client: AMIClient) -> None:
    await fake.send(b"\x00\x01\x02 no colon here\r\n:\r\n\r\n\r\n\r\n")
    await still_healthy(client)


async def test_truncated_frame_then_close(fake: FakeAMI, client: AMIClient) -> None:
    await fake.send(b"Event: Newchannel\r\nChannel: PJSIP/seat01-0000")
    fake.hang_up()
    for _ in range(100):
        if client.connections == 2 and client.connected:
            break
        await asyncio.sleep(0.05)
    await still_healthy(client, connections=2)
    assert not any(isinstance(e, ev.Newchannel) for e in client.seen)  # type: ignore[attr-defined]


async def test_error_response_raises_typed_error(fake: FakeAMI, client: AMIClient) -> None:
    with pytest.raises(AMIActionError) as info:
        await client.action("Fail")
    assert info.value.reason == "Permission denied"
    assert info.value.error_id == "ami-action-failed"
    await still_healthy(client)


async def test_silent_server_is_detected_by_keepalive(fake: FakeAMI, client: AMIClient) -> None:
    fake.answer_pings = False
    pending = asyncio.ensure_future(client.action("Status", timeout=30))
    with pytest.raises(AMIDisconnected):
        await asyncio.wait_for(pending, 5)
    fake.answer_pings = True
    for _ in range(100):
        if client.connected and client.connections >= 2:
            break
        await asyncio.sleep(0.05)
    await still_healthy(client, connections=client.connections)
    assert client.connections >= 2


def test_reconnect_backoff_doubles_up_to_the_cap() -> None:
    assert list(itertools.islice(backoff(0.2, 4.0), 8)) == [0.2, 0.4, 0.8, 1.6, 3.2, 4.0, 4.0, 4.0]


async def test_refused_connects_keep_retrying(fake: FakeAMI) -> None:
    await fake.close()  # nothing listens: every connect is refused
    settings = AmiSettings(port=fake.port, secret="x", backoff_initial=0.01, backoff_max=0.02)
    c = AMIClient(settings, quiet=True)
    await c.start()
    for _ in range(200):
        if c.attempts >= 5:
            break
        await asyncio.sleep(0.02)
    await c.close()
    assert c.attempts >= 5 and not c.connected
    assert "refused" in c.last_error.lower() or "connect call failed" in c.last_error.lower()


async def test_event_filters_are_installed_after_login(fake: FakeAMI, client: AMIClient) -> None:
    criteria = [m.get("MatchCriteria") for m in fake.actions if m.get("Action") == "Filter"]
    # A whitelist by name (a hash in Asterisk, no regex over every event):
    # what the controller handles, and nothing of the per-call chatter.
    assert "action(include),name(AgentConnect)" in criteria and "action(include),name(QueueCallerJoin)" in criteria
    assert not any("VarSet" in c or "AGIExec" in c or "Bridge" in c for c in criteria)
    # Of the OriginateResponses every session gets, only the answers to its own.
    (originate,) = [m for m in fake.actions if "name(OriginateResponse)" in m.get("MatchCriteria", "")]
    assert "header(ActionID),method(starts_with)" in originate.get("MatchCriteria")
    assert originate.get("Filter") and fake.actions[0].get("ActionID").startswith(originate.get("Filter"))
    (login,) = [m for m in fake.actions if m.get("Action") == "Login"]
    # Only the classes those events come in: dialplan, AGI, RTCP, CDR are never built for it.
    assert login.get("Events") == "agent,call,security,system,user"
    login_at = next(i for i, m in enumerate(fake.actions) if m.get("Action") == "Login")
    first_filter = next(i for i, m in enumerate(fake.actions) if m.get("Action") == "Filter")
    assert login_at < first_filter


async def test_an_event_with_a_response_field_is_an_event(fake: FakeAMI, client: AMIClient) -> None:
    # Asterisk's ChallengeResponseFailed carries the digest the phone sent in
    # a field named Response; read as an action reply, it was silently lost.
    await fake.send(
        b"Event: ChallengeResponseFailed\r\nService: PJSIP\r\nAccountID: seat02\r\n"
        b"RemoteAddress: IPV4/UDP/203.0.113.9/5060\r\nChallenge: 1/abc\r\nResponse: 5b5c\r\n"
        b"ExpectedResponse: \r\n\r\n"
    )
    await still_healthy(client)
    await asyncio.sleep(0.05)
    failed = [e for e in client.seen if isinstance(e, ev.ChallengeResponseFailed)]  # type: ignore[attr-defined]
    assert [(e.account_id, e.address) for e in failed] == [("seat02", "203.0.113.9")]
