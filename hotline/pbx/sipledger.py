"""The SIP guard's rules, pure: failures counted per address in a sliding
window, blocks with an end, exempt networks, networks that only ever raise
an alert (the operator's own seat networks: blocking them by mistake would
take the seats off the air), the challenges a failure must answer to count, and
the one UpdateConfig that makes Asterisk's ACL hold exactly the blocked
addresses."""

from __future__ import annotations

import collections
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

BLOCK_FILE = "pjsip_hotline_blocked.conf"
BLOCK_ACL = "hotline-blocked"
# A distributed scan must not grow the ledger without bound.
MAX_TRACKED = 20_000


@dataclass(frozen=True, slots=True)
class Failure:
    at: float
    address: str
    account: str
    kind: str  # ChallengeResponseFailed (wrong password) | InvalidAccountID (no such account)


@dataclass(frozen=True, slots=True)
class Block:
    address: str
    failures: int
    accounts: tuple[str, ...]
    at: float
    until: float


@dataclass(frozen=True, slots=True)
class Alert:
    """An address of the operator's own seat networks crossed the line: told,
    never blocked."""

    address: str
    failures: int
    accounts: tuple[str, ...]
    at: float


@dataclass
class _Tally:
    times: collections.deque[float] = field(default_factory=collections.deque)
    accounts: dict[str, None] = field(default_factory=dict)


class FailureLedger:
    def __init__(
        self, limit: int, window: float, block_seconds: float, never: Iterable[str] = (), alert_only: Iterable[str] = ()
    ):
        self.limit = limit
        self.window = window
        self.block_seconds = block_seconds
        self.never = [ipaddress.ip_network(n) for n in never]
        self.alert_only = [ipaddress.ip_network(n) for n in alert_only]
        self.tallies: dict[str, _Tally] = {}
        self.blocked: dict[str, Block] = {}

    def exempt(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return True  # nothing the ACL could hold
        return any(ip in net for net in self.never)

    def only_alert(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return any(ip in net for net in self.alert_only)

    def failed(self, address: str, account: str, now: float) -> Block | Alert | None:
        """Count one failure; returns the new block (or, for the seat
        networks, the alert) when this one crossed the line."""
        if address in self.blocked or self.exempt(address):
            return None
        tally = self.tallies.get(address)
        if tally is None:
            if len(self.tallies) >= MAX_TRACKED:
                self._prune(now)
            tally = self.tallies[address] = _Tally()
        tally.times.append(now)
        if account:
            tally.accounts[account[:64]] = None
        while tally.times and tally.times[0] <= now - self.window:
            tally.times.popleft()
        if len(tally.times) < self.limit:
            return None
        del self.tallies[address]
        if self.only_alert(address):
            return Alert(address, len(tally.times), tuple(list(tally.accounts)[:8]), now)
        block = Block(address, len(tally.times), tuple(list(tally.accounts)[:8]), now, now + self.block_seconds)
        self.blocked[address] = block
        return block

    def _prune(self, now: float) -> None:
        for address in [a for a, t in self.tallies.items() if not t.times or t.times[-1] <= now - self.window]:
            del self.tallies[address]
        while len(self.tallies) >= MAX_TRACKED:
            self.tallies.pop(next(iter(self.tallies)))

    def restore(self, block: Block) -> None:
        self.blocked[block.address] = block

    def lift(self, address: str) -> Block | None:
        return self.blocked.pop(address, None)

    def expire(self, now: float) -> list[Block]:
        gone = [b for b in self.blocked.values() if b.until <= now]
        for b in gone:
            del self.blocked[b.address]
        return gone

    def next_expiry(self) -> float | None:
        return min((b.until for b in self.blocked.values()), default=None)


def acl_actions(addresses: Iterable[str]) -> dict[str, str]:
    """UpdateConfig fields that make the blocked ACL hold exactly `addresses`."""
    fields = {
        "SrcFilename": BLOCK_FILE,
        "DstFilename": BLOCK_FILE,
        "Reload": "res_pjsip.so",
        "Action-000000": "EmptyCat",
        "Cat-000000": BLOCK_ACL,
        "Action-000001": "Append",
        "Cat-000001": BLOCK_ACL,
        "Var-000001": "type",
        "Value-000001": "acl",
    }
    for i, address in enumerate(sorted(addresses), start=2):
        ip = ipaddress.ip_address(address)  # never anything but an address into the file
        fields |= {
            f"Action-{i:06d}": "Append",
            f"Cat-{i:06d}": BLOCK_ACL,
            f"Var-{i:06d}": "deny",
            f"Value-{i:06d}": f"{ip}/{ip.max_prefixlen}",
        }
    return fields


class Challenges:
    """Challenges Asterisk sent: per address and SIP dialog (Call-ID), with
    their nonce when Asterisk names it, for as long as it accepts an answer.

    A failed answer counts only when it follows a challenge sent to that
    address in that dialog: a single forged UDP REGISTER carrying a made-up
    Authorization (or naming an unknown account) proves nothing about its
    source address and no longer counts. Asterisk 22 reports ChallengeSent
    with an empty nonce (its check of the scheme is case-sensitive), so the
    nonce is compared only when both sides carry one; a forger who sends a
    challenge-less REGISTER first and then a forged answer in the same
    dialog still counts, which is why seat networks are never blocked."""

    def __init__(self, lifetime: float = 60.0, max_dialogs: int = MAX_TRACKED):
        self.lifetime = lifetime
        self.max_dialogs = max_dialogs
        self._sent: dict[tuple[str, str], tuple[str, float]] = {}

    def sent(self, address: str, dialog: str, nonce: str, now: float) -> None:
        if len(self._sent) >= self.max_dialogs:
            self._prune(now)
        self._sent[(address, dialog[:128])] = (nonce[:64], now)

    def answered(self, address: str, dialog: str, nonce: str, now: float) -> bool:
        entry = self._sent.get((address, dialog[:128]))
        if entry is None or now - entry[1] > self.lifetime:
            return False
        sent_nonce = entry[0]
        return not sent_nonce or not nonce or sent_nonce == nonce[:64]

    def _prune(self, now: float) -> None:
        for key in [k for k, (_, at) in self._sent.items() if now - at > self.lifetime]:
            del self._sent[key]
        while len(self._sent) >= self.max_dialogs:
            self._sent.pop(next(iter(self._sent)))
