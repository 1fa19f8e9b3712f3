"""Who a request comes from, for throttles and logs.

Behind the reverse proxy the README describes, every request's peer is the
proxy: keyed on it, the whole city shared one bucket. The proxy names the
client in X-Forwarded-For, but anyone can send that header, so it is read
only from the proxies the operator lists (web.trusted_proxies), right to
left, up to the first address that is not one of them."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from aiohttp import web

from hotline.web.keys import SETTINGS

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(texts: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(t) for t in texts)


def _within(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def forwarded_client(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client address (pure): the peer, unless it is a trusted proxy
    that names one."""
    if not trusted or not forwarded_for or not _within(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",")]
    for hop in reversed(hops):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            return peer  # a hop we cannot read: nothing before it can be believed
        if not _within(address, trusted):
            return address
    return peer


def client_address(request: web.Request) -> str:
    peer = request.remote or "?"
    trusted = request.app[SETTINGS].web.trusted_proxies
    if not trusted:
        return peer
    return forwarded_client(peer, request.headers.get("X-Forwarded-For"), _networks(tuple(trusted)))
