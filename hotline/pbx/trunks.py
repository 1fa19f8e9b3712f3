"""Carrier trunks as the shift lead and monitoring see them: up or down.

`TrunkBoard` is pure: told each trunk's qualify results (the carrier
answering SIP OPTIONS) and, for registration trunks, the registration's
state, it keeps per trunk whether it can carry calls, since when, and why
not. `TrunkWatch` feeds it from AMI (ContactStatus and Registry events, and
a poll after every (re)connect) and tells its subscribers (the seat map) when
a trunk goes down or comes back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Gauge

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.ami.replies import AMIError, Connected, Disconnected
from hotline.config import Settings, Trunk

log = logging.getLogger(__name__)

# ContactStatus/ContactList words: reachable, or no word yet about it.
_REACHABLE = {"reachable", "avail"}
_UNREACHABLE = {"unreachable", "unavail", "removed"}


@dataclass(frozen=True, slots=True)
class TrunkState:
    name: str
    registration: bool  # does this trunk register (else: known by address)
    reachable: bool | None = None  # None: no qualify answer or timeout yet
    registered: bool | None = None  # None: not known yet (or not a registration trunk)
    rtt_ms: float | None = None
    since: float = 0.0

    @property
    def up(self) -> bool:
        return self.reachable is True and (not self.registration or self.registered is True)

    @property
    def known(self) -> bool:
        return self.reachable is not None

    @property
    def reason(self) -> str:
        """Why it cannot carry calls, in the lead's words ('' when up)."""
        if self.up:
            return ""
        if self.reachable is False:
            return "运营商无应答（OPTIONS 探测超时）"
        if self.registration and self.registered is False:
            return "注册失败"
        return "正在探测"


class TrunkBoard:
    """Every configured trunk's state; changes return whether anything moved."""

    def __init__(self, trunks: Iterable[Trunk], now: float):
        self.states: dict[str, TrunkState] = {t.name: TrunkState(t.name, t.registration, since=now) for t in trunks}

    def _put(self, new: TrunkState, now: float) -> bool:
        """Store; True when what the lead sees changed (not a new round trip)."""
        old = self.states[new.name]
        moved = (new.reachable, new.registered) != (old.reachable, old.registered)
        self.states[new.name] = dataclasses.replace(new, since=now if moved else old.since)
        return moved

    def contact(self, trunk: str, status: str, rtt_usec: float, now: float) -> bool:
        old = self.states.get(trunk)
        if old is None:
            return False
        word = status.lower()
        if word in _REACHABLE:
            reachable: bool | None = True
        elif word in _UNREACHABLE:
            reachable = False
        else:
            return False  # Created, Unknown, NonQualified: nothing learnt
        rtt = round(rtt_usec / 1000, 1) if reachable and rtt_usec > 0 else None
        return self._put(dataclasses.replace(old, reachable=reachable, rtt_ms=rtt), now)

    def registration(self, trunk: str, status: str, now: float) -> bool:
        old = self.states.get(trunk)
        if old is None or not old.registration:
            return False
        return self._put(dataclasses.replace(old, registered=status.lower() == "registered"), now)

    def forget(self, now: float) -> bool:
        """The PBX is gone: nothing is known about any trunk until it is back."""
        changed = False
        for old in list(self.states.values()):
            changed |= self._put(dataclasses.replace(old, reachable=None, registered=None, rtt_ms=None), now)
        return changed


class TrunkWatch:
    def __init__(
        self,
        settings: Settings,
        client: AMIClient,
        clock: Callable[[], float] = time.time,
        tz: dt.tzinfo = dt.timezone.utc,
    ):
        self.client = client
        self.clock = clock
        self.tz = tz
        self.trunks = {t.name: t for t in settings.trunks}
        self.board = TrunkBoard(settings.trunks, clock())
        # Registry events name a registration by its URIs, not its object.
        self._by_client_uri = {f"sip:{t.username}@{t.host}:{t.port}": t.name for t in settings.trunks if t.registration}
        self._listeners: list[Callable[[], None]] = []
        self._down: set[str] = set()  # trunks last logged as down
        if not self.trunks:
            return
        client.on(Connected, self._poll)
        client.on(Disconnected, self._on_disconnected)
        client.on(ev.ContactStatus, self._on_contact)
        client.on(ev.Registry, self._on_registry)

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self, changed: bool) -> None:
        if not changed:
            return
        down = {n for n, s in self.board.states.items() if s.known and not s.up}
        for name in sorted(down - self._down):
            log.warning("trunk %s down: %s", name, self.board.states[name].reason)
        for name in sorted(self._down - down):
            log.warning("trunk %s back", name)
        self._down = down
        for listener in self._listeners:
            try:
                listener()
            except Exception:
                log.exception("trunk watch listener %r failed", listener)

    def _trunk_of(self, endpoint: str, aor: str) -> str:
        return endpoint if endpoint in self.trunks else aor if aor in self.trunks else ""

    def _on_contact(self, e: ev.ContactStatus) -> None:
        name = self._trunk_of(e.endpoint, e.aor)
        if name:
            self._changed(self.board.contact(name, e.status, e.rtt_usec, self.clock()))

    def _on_registry(self, e: ev.Registry) -> None:
        name = self._by_client_uri.get(e.username, "")
        if name:
            self._changed(self.board.registration(name, e.status, self.clock()))

    def _on_disconnected(self, _e: Disconnected) -> None:
        self._changed(self.board.forget(self.clock()))

    async def _poll(self, _e: Connected | None = None) -> None:
        """What Asterisk knows now: after a (re)connect no event repeats it."""
        now = self.clock()
        changed = False
        for name in self.trunks:
            try:
                detail = await self.client.list_action("PJSIPShowEndpoint", Endpoint=name)
            except AMIError as exc:
                log.warning("trunk %s: no endpoint on the PBX (%s); is its configuration rendered?", name, exc)
                continue
            for c in detail.events:
                if isinstance(c, ev.ContactStatusDetail):
                    changed |= self.board.contact(name, c.status, c.rtt_usec, now)
        if any(t.registration for t in self.trunks.values()):
            try:
                regs = await self.client.list_action("PJSIPShowRegistrationsOutbound")
            except AMIError as exc:
                log.warning("trunk registrations poll failed: %s", exc)
                regs = None
            for r in regs.events if regs is not None else ():
                if isinstance(r, ev.OutboundRegistrationDetail) and r.object_name.endswith("-reg"):
                    changed |= self.board.registration(r.object_name[:-4], r.status, now)
        self._changed(changed)

    def view(self) -> list[dict[str, Any]]:
        """What /api/health and the seat map show, in order of preference."""
        out = []
        for name, trunk in self.trunks.items():
            s = self.board.states[name]
            out.append(
                {
                    "name": name,
                    "host": f"{trunk.host}:{trunk.port}",
                    "transport": trunk.transport,
                    "registration": trunk.registration,
                    "up": s.up,
                    "known": s.known,
                    "reachable": s.reachable,
                    "registered": s.registered,
                    "rtt_ms": s.rtt_ms,
                    "reason": s.reason,
                    "since": round(s.since, 3),
                    "since_text": dt.datetime.fromtimestamp(s.since, self.tz).strftime("%H:%M:%S"),
                }
            )
        return out

    @property
    def any_up(self) -> bool:
        return any(s.up for s in self.board.states.values())

    @property
    def cut_off(self) -> bool:
        """Every configured trunk known to be down: no citizen can get through."""
        states = self.board.states.values()
        return bool(states) and all(s.known and not s.up for s in states)


def trunk_metrics(registry: Any, watch: TrunkWatch) -> Callable[[], Awaitable[None]]:
    up = Gauge(
        "hotline_trunk_up",
        "1 while the carrier answers qualify (and the registration holds)",
        ["trunk"],
        registry=registry,
    )
    rtt = Gauge(
        "hotline_trunk_rtt_seconds", "Round trip of the last answered SIP OPTIONS", ["trunk"], registry=registry
    )

    async def update() -> None:
        for name, s in watch.board.states.items():
            up.labels(name).set(1 if s.up else 0)
            rtt.labels(name).set((s.rtt_ms or 0) / 1000)

    return update
