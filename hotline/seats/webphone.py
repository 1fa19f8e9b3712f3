"""The desk's browser phone: SIP over websocket from the agent's page,
relayed to Asterisk's loopback HTTP server (http.conf), or in a cluster to
the SIP edge's websocket, where it registers like the seats' desk phones.

Why a relay and not the browser straight to Asterisk: Asterisk's HTTP
server stays on loopback whatever the web's address; the page's origin is
the controller's (one certificate, the session cookie, the Origin check of
every websocket); only the agent sitting at a seat can open its relay, and
the relay passes no request that registers or calls as another phone; and
the controller sees at once when a desk's phone goes away (a tab closed, a
network lost), which Asterisk would notice only at the next qualify.

Media never passes here: it flows between the browser and Asterisk (ICE,
DTLS-SRTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aiohttp
from aiohttp import WSMsgType, web

from hotline.tasks import TaskSet

log = logging.getLogger(__name__)

SUBPROTOCOL = "sip"
REFUSED = 4403  # close code: a request as another phone
_USER = re.compile(r"<?sips?:([^@;>\s]+)@")


def web_endpoint(seat: str) -> str:
    """The PJSIP endpoint of a seat's browser phone (pjsip.conf)."""
    return f"{seat}-web"


def _headers(message: str) -> tuple[str, dict[str, str]]:
    head = message.split("\r\n\r\n", 1)[0].split("\r\n")
    fields: dict[str, str] = {}
    compact = {"f": "from", "t": "to"}
    for line in head[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            fields.setdefault(compact.get(key, key), value.strip())
    return head[0], fields


def refusal(message: str, own: str) -> str:
    """Why the relay must not pass this message from the browser ('' : pass).

    A REGISTER must register the seat's own browser phone; a call the phone
    starts (an INVITE outside a dialog) must come from it. Responses and
    requests inside a dialog Asterisk set up pass: Asterisk holds their
    dialog and authenticates what needs it."""
    first, fields = _headers(message)
    if first.startswith("SIP/2.0"):
        return ""
    method = first.split(" ", 1)[0]
    sender = _USER.search(fields.get("from", ""))
    target = _USER.search(fields.get("to", ""))
    if method == "REGISTER":
        if not (sender and target and sender.group(1) == own and target.group(1) == own):
            return f"只能登记本座席的网页电话 {own}"
    elif method in ("INVITE", "MESSAGE", "SUBSCRIBE", "PUBLISH", "REFER") and ";tag=" not in fields.get("to", ""):
        if not (sender and sender.group(1) == own):
            return f"只能以本座席的网页电话 {own} 呼叫"
    return ""


@dataclass(frozen=True, slots=True)
class PhoneGone:
    """A seat's browser phone went away (the relay closed)."""

    seat: str
    agent: str
    at: float
    # Its relay was another controller's (a cluster: the phone registered at
    # the edge, its call may be this node's).
    remote: bool = False


@dataclass(slots=True)
class Link:
    agent: str
    ws: web.WebSocketResponse
    opened: float


# A lead's claim on a monitoring phone lapses this long after its browser
# phone went away (another lead may take the phone then).
CLAIM_LAPSE_S = 60.0


class WebPhones:
    def __init__(
        self, http_port: int, edge_url: str = "", at_edge: frozenset[str] = frozenset(), edge_source: str = ""
    ):
        """edge_url: the SIP edge's websocket, where the seats' and the
        leads' browser phones (at_edge) register in a cluster, so any node
        rings them. edge_source: the node's own address, which the edge
        takes websockets from."""
        self.url = f"ws://127.0.0.1:{http_port}/ws"
        self.edge_url = edge_url
        self.at_edge = at_edge
        self.edge_source = edge_source
        self._edge_http: aiohttp.ClientSession | None = None
        self.links: dict[str, Link] = {}  # seat or monitoring phone -> its open relay
        self.claims: dict[str, str] = {}  # monitoring phone -> the lead whose browser phone it is
        self._left: dict[str, float] = {}  # phone -> when its relay closed
        self.refused = 0
        self._listeners: list[Callable[[PhoneGone], None]] = []
        self._opened: list[Callable[[str, str], None]] = []
        self.elsewhere: dict[str, str] = {}  # seat or monitoring phone -> its user, relayed by another controller
        self._http: aiohttp.ClientSession | None = None
        self._closing = TaskSet("webphone-close")

    def subscribe(self, listener: Callable[[PhoneGone], None]) -> None:
        self._listeners.append(listener)

    def on_open(self, listener: Callable[[str, str], None]) -> None:
        """listener(seat, agent) when a relay opens here (told to the other controllers)."""
        self._opened.append(listener)

    def connected(self, seat: str) -> bool:
        return seat in self.links

    def reachable(self, seat: str) -> bool:
        """Its browser phone is relayed here or, in a cluster, by another controller."""
        return seat in self.links or seat in self.elsewhere

    def heard(self, seat: str, agent: str, up: bool) -> None:
        """Another controller's relay for the seat opened (up) or closed."""
        if up:
            self.elsewhere[seat] = agent
            return
        self.elsewhere.pop(seat, None)
        gone = PhoneGone(seat, agent, time.monotonic(), remote=True)
        for listener in self._listeners:
            listener(gone)

    def claim(self, lead: str, phones: list[str]) -> str | None:
        """The monitoring phone a lead's browser phone registers as: theirs
        already, or one no other lead holds (a claim lapses a while after its
        browser phone went away)."""
        mine = self.claimed_by(lead)
        if mine is not None:
            return mine
        now = time.monotonic()
        for phone in phones:
            if phone in self.elsewhere:
                continue  # registered at the edge through another controller's relay
            holder = self.claims.get(phone)
            lapsed = holder is not None and phone not in self.links and now - self._left.get(phone, now) > CLAIM_LAPSE_S
            if holder is None or lapsed:
                self.claims[phone] = lead
                return phone
        return None

    def claimed_by(self, lead: str) -> str | None:
        return next((p for p, who in self.claims.items() if who == lead), None)

    def floor_changed(self, holders: Mapping[str, str]) -> None:
        """A seat's agent left (logout, a lead's force-logout): its browser
        phone's relay closes; what it was given no longer registers anyway."""
        for seat, link in list(self.links.items()):
            if seat in holders and holders[seat] != link.agent:
                self._closing.spawn(link.ws.close(code=4401, message="已退出座席".encode()), f"webphone-left-{seat}")

    async def close(self) -> None:
        await self._closing.close()
        for link in list(self.links.values()):
            await link.ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message="服务重启".encode())
        for http in (self._http, self._edge_http):
            if http is not None:
                await http.close()

    async def relay(self, ws: web.WebSocketResponse, seat: str, agent: str) -> None:
        """Carry SIP between the page and Asterisk until either side closes."""
        at_edge = bool(self.edge_url) and seat in self.at_edge
        if self._http is None:
            self._http = aiohttp.ClientSession()
        if at_edge and self._edge_http is None:
            source = (self.edge_source, 0) if self.edge_source else None
            self._edge_http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=source))
        http = self._edge_http if at_edge and self._edge_http is not None else self._http
        older = self.links.get(seat)
        if older is not None:  # the same agent's page again (a reload): the newer one wins
            await older.ws.close(code=4409, message="网页电话已在另一页面打开".encode())
        link = self.links[seat] = Link(agent, ws, time.monotonic())
        for opened in self._opened:
            opened(seat, agent)
        own = web_endpoint(seat)

        def left() -> None:
            if self.links.get(seat) is link:
                del self.links[seat]
                self._left[seat] = time.monotonic()
                gone = PhoneGone(seat, agent, time.monotonic())
                for listener in self._listeners:
                    listener(gone)

        try:
            url = self.edge_url if at_edge else self.url
            async with http.ws_connect(url, protocols=(SUBPROTOCOL,), heartbeat=20) as pbx:
                down = asyncio.create_task(self._down(pbx, ws))
                try:
                    async for msg in ws:
                        if msg.type != WSMsgType.TEXT:
                            continue
                        why = refusal(msg.data, own)
                        if why:
                            self.refused += 1
                            log.warning("web phone of %s (%s): refused a request: %s", seat, agent, why)
                            await ws.close(code=REFUSED, message=why.encode()[:120])
                            break
                        await pbx.send_str(msg.data)
                finally:
                    # Said before the PBX's side closes: the call it hangs up then
                    # is known to have gone with the phone (tickets/phone_lost.py).
                    left()
                    down.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await down
        except aiohttp.ClientError as exc:
            log.error("web phone of %s: the PBX's websocket is unreachable: %s", seat, exc)
            await ws.close(code=aiohttp.WSCloseCode.TRY_AGAIN_LATER, message="交换机暂不可用".encode())
        finally:
            left()

    @staticmethod
    async def _down(pbx: aiohttp.ClientWebSocketResponse, ws: web.WebSocketResponse) -> None:
        async for msg in pbx:
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
        await ws.close(code=aiohttp.WSCloseCode.TRY_AGAIN_LATER, message="交换机断开".encode())
