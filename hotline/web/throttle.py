"""Throttling: login attempts and per-address limits as pure bookkeeping
(no I/O), and the one helper the public routes refuse with (429).

Password guessing is slowed per client address and per account; argon2's
cost is paid by at most a few attempts at a time, so a flood of wrong
passwords cannot take the CPU the event loop (and the calls on it) need.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from hotline.errors import HotlineError


@dataclass
class LoginThrottle:
    window: float = 300.0
    per_address: int = 20  # attempts per address in the window, right or wrong
    per_user: int = 5  # wrong passwords per account in the window
    inflight_per_address: int = 2  # verifications running at once for one address
    _by_address: dict[str, deque[float]] = field(default_factory=dict)
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _inflight: dict[str, int] = field(default_factory=dict)

    def _recent(self, book: dict[str, deque[float]], key: str, now: float) -> deque[float]:
        q = book.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def admit(self, address: str, username: str, now: float) -> float | None:
        """None to go ahead (and the attempt is counted), else seconds to wait."""
        tries = self._recent(self._by_address, address, now)
        fails = self._recent(self._failures, username, now)
        if self._inflight.get(address, 0) >= self.inflight_per_address:
            return 1.0
        if len(tries) >= self.per_address:
            return max(1.0, tries[0] + self.window - now)
        if len(fails) >= self.per_user:
            return max(1.0, fails[0] + self.window - now)
        tries.append(now)
        self._inflight[address] = self._inflight.get(address, 0) + 1
        return None

    def done(self, address: str, username: str, ok: bool, now: float) -> None:
        left = self._inflight.get(address, 1) - 1
        if left > 0:
            self._inflight[address] = left
        else:
            self._inflight.pop(address, None)
        if ok:
            self._failures.pop(username, None)
        else:
            self._recent(self._failures, username, now).append(now)
        self.prune(now)

    def prune(self, now: float) -> None:
        """Forget addresses and accounts with nothing in the window (bounded memory)."""
        if len(self._by_address) + len(self._failures) < 10_000:
            return
        for book in (self._by_address, self._failures):
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


def throttle(request: web.Request, key: web.AppKey[RateLimit], message: str) -> None:
    """Count this request against its address's limit, or refuse it saying when to come back."""
    wait = request.app[key].hit(request.remote or "?", time.monotonic())
    if wait is not None:
        raise Throttled(message, retry_after=int(wait + 0.999))
