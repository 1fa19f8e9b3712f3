"""Throttling: login attempts and per-address limits as pure bookkeeping
(no I/O), and the one helper the public routes refuse with (429).

The client is who `web/clients.py` says it is (a trusted proxy's
X-Forwarded-For, else the peer). Password guessing is slowed per client
address and per account; argon2's
cost is paid by at most a few attempts at a time, so a flood of wrong
passwords cannot take the CPU the event loop (and the calls on it) need.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from hotline.errors import HotlineError
from hotline.web.auth import Handler, anonymous
from hotline.web.clients import client_address


@dataclass
class LoginThrottle:
    """Counts failed logins only (a busy office logging in from one address
    is not an attack), and locks an account against the address that failed,
    not for everyone: five wrong passwords from one place cannot lock the
    owner out elsewhere. Guessing one account from many addresses still ends
    at `per_user` failures in the window."""

    window: float = 300.0
    per_address: int = 20  # wrong passwords from one address in the window, any account
    per_pair: int = 5  # wrong passwords for one account from one address
    per_user: int = 100  # wrong passwords for one account from anywhere
    inflight_per_address: int = 2  # verifications running at once for one address
    _by_address: dict[str, deque[float]] = field(default_factory=dict)
    _by_pair: dict[str, deque[float]] = field(default_factory=dict)
    _by_user: dict[str, deque[float]] = field(default_factory=dict)
    _inflight: dict[str, int] = field(default_factory=dict)

    def _recent(self, book: dict[str, deque[float]], key: str, now: float) -> deque[float]:
        q = book.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def _books(self, address: str, username: str) -> tuple[tuple[dict[str, deque[float]], str, int], ...]:
        return (
            (self._by_address, address, self.per_address),
            (self._by_pair, f"{username}\x00{address}", self.per_pair),
            (self._by_user, username, self.per_user),
        )

    def inflight(self, address: str) -> int:
        """Password checks running now for this address."""
        return self._inflight.get(address, 0)

    def admit(self, address: str, username: str, now: float) -> float | None:
        """None to go ahead, else seconds to wait."""
        if self._inflight.get(address, 0) >= self.inflight_per_address:
            return 1.0
        for book, key, limit in self._books(address, username):
            fails = self._recent(book, key, now)
            if len(fails) >= limit:
                return max(1.0, fails[0] + self.window - now)
        self._inflight[address] = self._inflight.get(address, 0) + 1
        return None

    def done(self, address: str, username: str, ok: bool, now: float) -> None:
        left = self._inflight.get(address, 1) - 1
        if left > 0:
            self._inflight[address] = left
        else:
            self._inflight.pop(address, None)
        if ok:
            self._by_pair.pop(f"{username}\x00{address}", None)
        else:
            for book, key, _ in self._books(address, username):
                self._recent(book, key, now).append(now)
        self.prune(now)

    def locked(self, username: str, now: float) -> bool:
        """Refused at login now: too many wrong passwords for the account,
        from anywhere or from one address."""
        if len(self._recent(self._by_user, username, now)) >= self.per_user:
            return True
        prefix = f"{username}\x00"
        return any(
            len(self._recent(self._by_pair, key, now)) >= self.per_pair
            for key in [k for k in self._by_pair if k.startswith(prefix)]
        )

    def forget(self, username: str) -> None:
        """An administrator unlocked the account: its failures are forgotten."""
        self._by_user.pop(username, None)
        for key in [k for k in self._by_pair if k.startswith(f"{username}\x00")]:
            del self._by_pair[key]

    def prune(self, now: float) -> None:
        """Forget addresses and accounts with nothing in the window (bounded memory)."""
        if len(self._by_address) + len(self._by_pair) + len(self._by_user) < 10_000:
            return
        for book in (self._by_address, self._by_pair, self._by_user):
            for key in [k for k, q in book.items() if not q or q[-1] <= now - self.window]:
                del book[key]


@dataclass
class RateLimit:
    """At most `limit` events per key in a sliding `window` (the public page's
    per-address limits). Memory is bounded: idle keys are forgotten."""

    limit: int
    window: float = 3600.0
    max_keys: int = 100_000
    _events: dict[str, deque[float]] = field(default_factory=dict)

    def hit(self, key: str, now: float) -> float | None:
        """None if allowed (and counted), else seconds until it would be."""
        q = self._events.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        if len(q) >= self.limit:
            return max(1.0, q[0] + self.window - now)
        q.append(now)
        if len(self._events) > self.max_keys:
            for k in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window]:
                del self._events[k]
        return None


class Throttled(HotlineError):
    error_id = "public-throttled"
    status = 429


def throttle(request: web.Request, key: web.AppKey[RateLimit], message: str, by: str | None = None) -> None:
    """Count this request against its client's limit (or against `by`: a
    ticket number, a phone), or refuse it saying when to come back."""
    wait = request.app[key].hit(client_address(request) if by is None else by, time.monotonic())
    if wait is not None:
        raise Throttled(message, retry_after=int(wait + 0.999))


ANONYMOUS = web.AppKey("anonymous_requests", RateLimit)


@web.middleware
async def anonymous_gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Changes anyone may send without a login are counted per client before
    their body is read or parsed: a flood of them cannot take the event loop
    the calls run on. The routes' own, finer limits come after."""
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and anonymous(request):
        throttle(request, ANONYMOUS, "请求过于频繁，请稍后再试")
    return await handler(request)
