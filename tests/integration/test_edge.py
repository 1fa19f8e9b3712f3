"""The SIP edge: Kamailio in front of two Asterisk nodes, on loopback.

Node A is the session's PBX (reloaded with the edge as its trunk), node B a
second bundled Asterisk; a carrier (one more Asterisk) sends citizens' calls
to the edge, which spreads them over the nodes that answer its probes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.config import Settings
from hotline.edge.process import Edge
from hotline.pbx.process import Pbx
from tests.integration.carrier import Carrier, make_carrier
from tests.integration.conftest import connected_client
from tests.integration.edge_nodes import edge_section, node_b_settings
from tests.integration.helpers import Recorder, eventually

pytestmark = pytest.mark.pbx

OFFSET = 50
EDGE_HOST = "127.0.0.4"
NODE_B_HOST = "127.0.0.5"


@pytest.fixture(scope="module")
def cluster(
    pbx: Pbx, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Edge, Settings, Pbx]]:
    """Node A (the session's PBX, reloaded with the edge), node B, the edge."""
    tmp = tmp_path_factory.mktemp("cluster")
    edge = edge_section(settings, tmp, host=EDGE_HOST, node_b=NODE_B_HOST, offset=OFFSET)
    node_a = Settings.model_validate(settings.model_dump() | {"edge": edge})
    # The carrier's media ports are 37000-37099 (make_carrier, offset 70).
    node_b = node_b_settings(settings, tmp, host=NODE_B_HOST, offset=OFFSET, rtp=(38000, 38099), edge=edge)
    b = Pbx(node_b)
    b.start()
    Pbx(node_a).reload()
    kamailio = Edge(node_a)
    kamailio.start()
    try:
        yield kamailio, node_b, b
    finally:
        kamailio.stop()
        b.stop()
        Pbx(settings).reload()


@pytest.fixture(scope="module")
def carrier(cluster: tuple[Edge, Settings, Pbx], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Carrier]:
    """A carrier whose calls for 12345 go to the edge."""
    edge = cluster[0].settings.edge
    toward_edge = cluster[0].settings.model_copy(
        update={"pbx": cluster[0].settings.pbx.model_copy(update={"sip_host": edge.host, "sip_port": edge.sip_port})}
    )
    c = make_carrier(
        tmp_path_factory.mktemp("edge-carrier"),
        toward_edge,
        name="e",
        address="127.0.0.3",
        offset=OFFSET + 20,
        mode="address",
    )
    c.start()
    yield c
    c.stop()


@pytest.fixture
async def clients(
    cluster: tuple[Edge, Settings, Pbx], carrier: Carrier, ami: AMIClient
) -> AsyncIterator[tuple[AMIClient, AMIClient, AMIClient]]:
    b = await connected_client(cluster[1], name="node-b")
    c = await connected_client(carrier.settings, name="carrier")
    try:
        yield ami, b, c
    finally:
        for client in (c, ami, b):
            if client.connected:
                await client.command("channel request hangup all")
        await b.close()
        await c.close()


async def edge_calls(client: AMIClient) -> int:
    """Calls a node holds from the edge (its trunk 'edge')."""
    if not client.connected:
        return 0
    chans = await client.command("core show channels concise")
    return sum(1 for line in chans.splitlines() if line.startswith("PJSIP/edge-"))


async def citizen_calls(carrier_ami: AMIClient, carrier: Carrier, number: str = "12345") -> None:
    await carrier_ami.action(
        "Originate",
        Channel=f"PJSIP/{number}@{carrier.account}",
        Context="carrier-caller",
        Exten="s",
        Priority=1,
        CallerID="<13800138000>",
        Async="true",
    )


async def both_up(edge: Edge) -> bool:
    return {n.name: n.up for n in edge.nodes()} == {"a": True, "b": True}


async def test_calls_spread_over_the_nodes_and_a_dead_node_gets_none(
    cluster: tuple[Edge, Settings, Pbx], carrier: Carrier, clients: tuple[AMIClient, AMIClient, AMIClient]
) -> None:
    edge, node_b, b = cluster
    a_ami, b_ami, carrier_ami = clients
    await eventually(lambda: both_up(edge), timeout=15)

    # Round robin: four calls, two on each node.
    for _ in range(4):
        await citizen_calls(carrier_ami, carrier)
    await eventually(lambda: _counts(a_ami, b_ami, (2, 2)), timeout=20)
    await carrier_ami.command("channel request hangup all")
    await eventually(lambda: _counts(a_ami, b_ami, (0, 0)), timeout=15)

    # Node B dies hard (its supervisor and Asterisk with it).
    killed = time.monotonic()
    supervisor = b.supervisor_pid()
    assert supervisor is not None
    os.killpg(supervisor, signal.SIGKILL)
    await eventually(lambda: not b_ami.connected, timeout=10)
    # Two calls made at once, before the probes have noticed: round robin
    # sends one of them to B, whose silence passes it on to A. Neither is lost.
    for _ in range(2):
        await citizen_calls(carrier_ami, carrier)
    await eventually(lambda: _counts(a_ami, b_ami, (2, 0)), timeout=20)
    print(f"\nnode B killed -> both calls made at once answered on A after {time.monotonic() - killed:.1f} s")
    dead = f"node sip:{NODE_B_HOST}:{node_b.pbx.sip_port} did not answer; marked down"
    assert dead in edge.log_tail(400)
    await eventually(lambda: not {n.name: n.up for n in edge.nodes()}["b"], timeout=10)
    print(f"node B killed -> marked down at the edge in {time.monotonic() - killed:.1f} s")
    for _ in range(2):
        await citizen_calls(carrier_ami, carrier)
    await eventually(lambda: _counts(a_ami, b_ami, (4, 0)), timeout=20)
    await carrier_ami.command("channel request hangup all")
    await eventually(lambda: _counts(a_ami, b_ami, (0, 0)), timeout=15)

    # B comes back: the edge finds it by its probes and gives it calls again.
    await asyncio.to_thread(b.start)
    back = await connected_client(node_b, name="node-b-again")
    try:
        await eventually(lambda: both_up(edge), timeout=15)
        for _ in range(2):
            await citizen_calls(carrier_ami, carrier)
        await eventually(lambda: _counts(a_ami, back, (1, 1)), timeout=20)
    finally:
        await carrier_ami.command("channel request hangup all")
        await back.close()


async def test_the_edge_refuses_numbers_that_are_not_the_hotlines(
    cluster: tuple[Edge, Settings, Pbx], carrier: Carrier, clients: tuple[AMIClient, AMIClient, AMIClient]
) -> None:
    a_ami, b_ami, carrier_ami = clients
    seen = Recorder(carrier_ami)
    await citizen_calls(carrier_ami, carrier, number="110")
    reply = await seen.wait_for(ev.OriginateResponse, lambda e: True, timeout=15)
    assert reply.response == "Failure"
    assert (await edge_calls(a_ami), await edge_calls(b_ami)) == (0, 0)
    await eventually(lambda: "for 110 from 127.0.0.3 refused: not a hotline number" in cluster[0].log_tail(200))


async def _counts(a: AMIClient, b: AMIClient, want: tuple[int, int]) -> bool:
    return (await edge_calls(a), await edge_calls(b)) == want


async def test_calls_in_progress_outlive_a_restart_of_the_edge(
    cluster: tuple[Edge, Settings, Pbx], carrier: Carrier, clients: tuple[AMIClient, AMIClient, AMIClient]
) -> None:
    edge = cluster[0]
    a_ami, b_ami, carrier_ami = clients
    await eventually(lambda: both_up(edge), timeout=15)
    for _ in range(2):
        await citizen_calls(carrier_ami, carrier)
    await eventually(lambda: _total(a_ami, b_ami, 2), timeout=20)
    before = (await edge_calls(a_ami), await edge_calls(b_ami))
    await asyncio.to_thread(edge.stop)
    await asyncio.to_thread(edge.start)
    await asyncio.sleep(2)
    # The edge keeps no call state: the calls went on without it.
    assert (await edge_calls(a_ami), await edge_calls(b_ami)) == before
    await eventually(lambda: both_up(edge), timeout=15)
    await citizen_calls(carrier_ami, carrier)
    await eventually(lambda: _total(a_ami, b_ami, 3), timeout=20)
    # The citizens hang up: each BYE finds its node through the new edge.
    await carrier_ami.command("channel request hangup all")
    await eventually(lambda: _total(a_ami, b_ami, 0), timeout=15)


async def _total(a: AMIClient, b: AMIClient, want: int) -> bool:
    return await edge_calls(a) + await edge_calls(b) == want


def _flood(edge: Edge, source: str, count: int) -> int:
    """count OPTIONS from source as fast as a scanner sends them; the replies it got."""
    e = edge.settings.edge
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        port = sock.getsockname()[1]
        for n in range(count):
            msg = (
                f"OPTIONS sip:{e.host}:{e.sip_port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {source}:{port};branch=z9hG4bK-flood-{n}\r\n"
                f"From: <sip:scan@{source}>;tag=f{n}\r\nTo: <sip:{e.host}>\r\n"
                f"Call-ID: flood-{n}@{source}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            )
            sock.sendto(msg.encode(), (e.host, e.sip_port))
        sock.settimeout(1.0)
        replies = 0
        try:
            while True:
                sock.recv(4096)
                replies += 1
        except TimeoutError:
            return replies


async def test_a_flood_from_a_listed_network_is_dropped_and_carriers_still_get_through(
    cluster: tuple[Edge, Settings, Pbx], carrier: Carrier, clients: tuple[AMIClient, AMIClient, AMIClient]
) -> None:
    edge = cluster[0]
    a_ami, b_ami, carrier_ami = clients
    await eventually(lambda: both_up(edge), timeout=15)
    # 127.0.0.9 is on a listed network (loopback) but neither a node nor a carrier.
    replies = await asyncio.to_thread(_flood, edge, "127.0.0.9", 300)
    assert replies < 100, replies
    print(f"\nflood of 300 OPTIONS: {replies} answered before the ban")
    await eventually(lambda: "flood from 127.0.0.9: blocked for 300 s" in edge.log_tail(400))
    assert await asyncio.to_thread(_flood, edge, "127.0.0.9", 5) == 0  # still blocked
    # The carrier sends as much as it likes: its calls still reach the nodes.
    for _ in range(2):
        await citizen_calls(carrier_ami, carrier)
    await eventually(lambda: _total(a_ami, b_ami, 2), timeout=20)
