"""FastAGI server edge cases, driven by a raw loopback socket playing Asterisk."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from hotline.ami.fastagi import AGISession, FastAGIServer
from hotline.config import AgiSettings

ENV = (
    b"agi_network: yes\nagi_network_script: ivr\nagi_request: agi://127.0.0.1/ivr?x=1\n"
    b"agi_channel: Local/12345@from-pstn-0001;2\nagi_uniqueid: 1.2\n\n"
)


@pytest.fixture
async def server() -> AsyncIterator[FastAGIServer]:
    s = FastAGIServer(AgiSettings())
    await s.start(port=0)
    yield s
    await s.close()


def port(s: FastAGIServer) -> int:
    return s.port


@contextlib.asynccontextmanager
async def asterisk(server: FastAGIServer) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A loopback connection playing Asterisk's side, closed however the test ends."""
    r, w = await asyncio.open_connection("127.0.0.1", port(server))
    try:
        yield r, w
    finally:
        w.close()
        with contextlib.suppress(ConnectionError):
            await w.wait_closed()


async def test_plain_function_route(server: FastAGIServer) -> None:
    seen: list[AGISession] = []
    server.route("ivr", seen.append)
    async with asterisk(server) as (r, w):
        w.write(ENV)
        await w.drain()
        assert await r.read() == b""  # the session ends and closes
        assert seen[0].channel.startswith("Local/12345") and seen[0].args == {"x": ["1"]}


async def test_eof_inside_headers_ends_cleanly(server: FastAGIServer) -> None:
    called: list[object] = []
    server.route("ivr", called.append)
    async with asterisk(server) as (r, w):
        w.write(b"agi_network: yes\nagi_chan")
        await w.drain()
        w.close()
        for _ in range(100):
            if server.active_sessions == 0 and server.sessions_started == 1:
                break
            await asyncio.sleep(0.01)
        assert server.active_sessions == 0 and not called


async def test_headers_in_pieces_are_read_whole_and_too_many_are_refused(server: FastAGIServer) -> None:
    seen: list[AGISession] = []
    server.route("ivr", seen.append)
    async with asterisk(server) as (r, w):
        for i in range(0, len(ENV), 7):  # the block split across reads
            w.write(ENV[i : i + 7])
            await w.drain()
            await asyncio.sleep(0)
        assert await r.read() == b""
    assert [x.uniqueid for x in seen] == ["1.2"]
    flood = b"".join(b"agi_arg_%d: x\n" % i for i in range(server.settings.max_header_lines + 1))
    async with asterisk(server) as (r, w):
        w.write(ENV[:-1] + flood + b"\n")
        await w.drain()
        assert await r.read() == b""  # dropped, no route run
    assert len(seen) == 1


async def test_command_reply_parsing(server: FastAGIServer) -> None:
    replies: list[object] = []

    async def ivr(session: AGISession) -> None:
        replies.append(await session.command("WAIT FOR DIGIT 1000"))
        replies.append(await session.get_variable("HOTLINE_TAG"))

    server.route("ivr", ivr)
    async with asterisk(server) as (r, w):
        w.write(ENV)
        assert await r.readline() == b"WAIT FOR DIGIT 1000\n"
        w.write(b"200 result=49\n")
        assert await r.readline() == b"GET VARIABLE HOTLINE_TAG\n"
        w.write("200 result=1 (城建)\n".encode())
        await w.drain()
        assert await r.read() == b""
        assert replies[0].result == "49" and replies[1] == "城建"  # type: ignore[union-attr]


async def test_usage_error_is_typed(server: FastAGIServer) -> None:
    errors: list[str] = []

    async def ivr(session: AGISession) -> None:
        try:
            await session.command("BOGUS")
        except Exception as exc:  # noqa: BLE001
            errors.append(getattr(exc, "error_id", ""))

    server.route("ivr", ivr)
    async with asterisk(server) as (r, w):
        w.write(ENV)
        await r.readline()
        w.write(b"520-Invalid command syntax.  Proper usage follows:\nUsage: ...\n520 End of proper usage.\n")
        await w.drain()
        assert await r.read() == b""
        assert errors == ["agi-command-failed"]


async def test_close_cancels_sessions_promptly(server: FastAGIServer) -> None:
    cancelled = asyncio.Event()

    async def ivr(session: AGISession) -> None:
        try:
            await session.command("WAIT FOR DIGIT 60000")
        except asyncio.CancelledError:
            cancelled.set()
            raise

    server.route("ivr", ivr)
    async with asterisk(server) as (r, w):
        w.write(ENV)
        await r.readline()
        await asyncio.wait_for(server.close(), 3)
        assert cancelled.is_set() and server.active_sessions == 0


async def test_unknown_script_is_refused(server: FastAGIServer) -> None:
    async with asterisk(server) as (r, w):
        w.write(ENV.replace(b"script: ivr", b"script: nope").replace(b"/ivr?x=1", b"/nope"))
        line = await r.readline()
        assert line.startswith(b"VERBOSE")
        w.write(b"200 result=1\n")
        assert await r.read() == b""


async def test_last_commands_go_out_together_and_the_session_ends_without_their_replies(server: FastAGIServer) -> None:
    async def ivr(session: AGISession) -> None:
        session.send_last(['EXEC MSet "A=1,B=2"', 'SET VARIABLE C "x y"'])

    server.route("ivr", ivr)
    async with asterisk(server) as (r, w):
        w.write(ENV)
        # Both commands, then the close, with no reply sent: Asterisk runs
        # what it has read before it sees the connection end.
        assert await asyncio.wait_for(r.read(), 3) == b'EXEC MSet "A=1,B=2"\nSET VARIABLE C "x y"\n'
    assert server.commands_total == 2 and server.sessions_failed == 0


async def test_last_commands_with_a_line_break_are_refused_whole(server: FastAGIServer) -> None:
    errors: list[str] = []

    async def ivr(session: AGISession) -> None:
        try:
            session.send_last(["EXEC MSet A=1", "SET VARIABLE B 2\nHANGUP"])
        except Exception as exc:  # noqa: BLE001
            errors.append(getattr(exc, "error_id", ""))

    server.route("ivr", ivr)
    async with asterisk(server) as (r, w):
        w.write(ENV)
        assert await asyncio.wait_for(r.read(), 3) == b""  # nothing sent, not even the first
    assert errors == ["agi-error"]


async def test_a_prompt_is_played_so_that_any_listed_key_stops_it(server: FastAGIServer) -> None:
    keys: list[str] = []

    async def ivr(session: AGISession) -> None:
        keys.append(await session.play("hotline/prompts/menu", "0123456789*#"))
        keys.append(await session.play("hotline/prompts/thanks"))
        try:
            await session.play("hotline/prompts/menu", '1" 0 1 2')  # not keys: refused, nothing sent
        except Exception as exc:  # noqa: BLE001
            keys.append(getattr(exc, "error_id", ""))

    server.route("ivr", ivr)
    async with asterisk(server) as (r, w):
        w.write(ENV)
        # Fast-forward and rewind on '-', which no phone sends: * and # stop the prompt.
        assert await r.readline() == b'CONTROL STREAM FILE hotline/prompts/menu "0123456789*#" 0 - -\n'
        w.write(b"200 result=35 endpos=4200\n")
        assert await r.readline() == b'CONTROL STREAM FILE hotline/prompts/thanks "" 0 - -\n'
        w.write(b"200 result=0 endpos=8000\n")
        assert await asyncio.wait_for(r.read(), 3) == b""
    assert keys == ["#", "", "agi-error"]
