"""Blocking addresses that keep failing SIP authentication.

Any SIP port on a public network is scanned within hours (sipvicious and
friends try account after account). Asterisk reports every failed attempt as
a security event over AMI; the controller counts them per address and, after
`sip_security.failures` within `window_seconds`, refuses that address for
`block_seconds`.

Where the block is enforced: Asterisk's own SIP ACL (a `type=acl` object in
pjsip_hotline_blocked.conf, rewritten over AMI UpdateConfig, then res_pjsip
reloaded). Chosen over the host firewall because the controller and the PBX
run unprivileged (no CAP_NET_ADMIN, see deploy/systemd), because it works
the same for the bundled PBX and an operator's own Asterisk (only AMI is
needed), and because the ACL is checked before any authentication or dialog
work. The firewall would also stop the packets from reaching Asterisk at
all; an operator who wants that can add fail2ban on Asterisk's security log
beside this.

`FailureLedger` (pbx/sipledger.py) is the pure part (counting, thresholds,
expiry); `SipGuard` feeds it from AMI, keeps blocks in the database (they outlive a
controller restart) and re-applies them whenever the PBX (re)connects.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
import time
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.ami.replies import AMIError, Connected
from hotline.config import Settings
from hotline.db.models import SipBlock
from hotline.errors import HotlineError
from hotline.pbx.sipledger import BLOCK_FILE, Alert, Block, Challenges, Failure, FailureLedger, acl_actions
from hotline.tasks import TaskSet

log = logging.getLogger(__name__)


class NotBlocked(HotlineError):
    error_id = "sip-address-not-blocked"
    status = 404


class SipGuard:
    def __init__(
        self,
        settings: Settings,
        client: AMIClient,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], float] = time.time,
    ):
        sec = settings.sip_security
        # Carriers are never blocked: a carrier with a stale password must
        # show up as a failing trunk, not vanish behind the ACL.
        never = [*sec.never_block, *settings.carrier_networks]
        self.enabled = sec.enabled
        self.ledger = FailureLedger(
            sec.failures, sec.window_seconds, sec.block_seconds, never, alert_only=settings.sip_alert_only_networks
        )
        self.challenges = Challenges()
        self.alerts: collections.deque[Alert] = collections.deque(maxlen=50)
        self.unverified_total = 0  # failures that answered no challenge of ours (forged, or a replay)
        self._tried: dict[str, str] = {}  # address -> the unknown account it last named
        self.client = client
        self.sessions = sessions
        self.clock = clock
        self.recent: collections.deque[Failure] = collections.deque(maxlen=100)
        self.failures_total = 0
        self.blocks_total = 0
        self.applied: tuple[str, ...] | None = None
        self._dirty = asyncio.Event()
        self._tasks = TaskSet("sip-guard")
        client.on(ev.ChallengeSent, self._on_challenge)
        client.on(ev.ChallengeResponseFailed, self._on_failure)
        client.on(ev.InvalidAccountID, self._on_unknown_account)
        client.on(Connected, self._on_connected)

    async def start(self) -> None:
        async with self.sessions() as db:
            rows = (await db.execute(select(SipBlock).where(SipBlock.lifted_at.is_(None)))).scalars().all()
        for row in rows:
            self.ledger.restore(
                Block(
                    row.address,
                    row.failures,
                    tuple(filter(None, row.accounts.split(","))),
                    row.blocked_at.timestamp(),
                    row.until.timestamp(),
                )
            )
        self._dirty.set()
        self._tasks.spawn(self._run(), name="sip-guard")
        log.info(
            "SIP guard: %d address(es) blocked at start (%s after %d failures in %.0f s)",
            len(self.ledger.blocked),
            "on" if self.enabled else "off",
            self.ledger.limit,
            self.ledger.window,
        )

    async def close(self) -> None:
        await self._tasks.close()

    # -- events ------------------------------------------------------------
    def _on_challenge(self, e: ev.ChallengeSent) -> None:
        if e.service == "PJSIP" and e.address:
            self.challenges.sent(e.address, e.session_id, e.challenge, self.clock())

    def _on_unknown_account(self, e: ev.InvalidAccountID) -> None:
        # Not counted: it needs no round trip, so over UDP anyone can make
        # one in any address's name. The name is kept for the failure that
        # follows once the sender answers the challenge ("<unknown>").
        if e.service != "PJSIP" or not e.address:
            return
        if len(self._tried) > 10_000:
            self._tried.clear()
        self._tried[e.address] = e.account_id[:64]
        self.recent.append(Failure(self.clock(), e.address, e.account_id, e.NAME))

    def _on_failure(self, e: ev.ChallengeResponseFailed) -> None:
        if e.service != "PJSIP" or not e.address:
            return
        now = self.clock()
        # Over TCP and TLS the address took a handshake; over UDP only an
        # answer in a dialog we challenged at that address counts.
        if e.transport == "UDP" and not self.challenges.answered(e.address, e.session_id, e.challenge, now):
            self.unverified_total += 1
            log.info("SIP: a failed answer from %s to no challenge of ours: not counted", e.address)
            return
        account = self._tried.pop(e.address, e.account_id) if e.account_id == "<unknown>" else e.account_id
        self.failures_total += 1
        self.recent.append(Failure(now, e.address, account, e.NAME))
        if not self.enabled:
            return
        verdict = self.ledger.failed(e.address, account, now)
        if isinstance(verdict, Alert):
            self.alerts.append(verdict)
            log.error(
                "SIP: %s (a seat network) failed authentication %d times (accounts: %s): not blocked; "
                "check the phones there",
                verdict.address,
                verdict.failures,
                ", ".join(verdict.accounts) or "-",
            )
            return
        if verdict is None:
            return
        block = verdict
        self.blocks_total += 1
        log.warning(
            "SIP: blocking %s for %.0f s after %d failed authentications (accounts tried: %s)",
            block.address,
            block.until - block.at,
            block.failures,
            ", ".join(block.accounts) or "-",
        )
        self._tasks.spawn(self._store(block), name=f"sip-block-{block.address}")
        self._dirty.set()

    def _on_connected(self, _e: Connected) -> None:
        # A restarted PBX rendered an empty block list: put ours back.
        self.applied = None
        self._dirty.set()

    # -- effects -----------------------------------------------------------
    async def _store(self, block: Block) -> None:
        async with self.sessions() as db, db.begin():
            db.add(
                SipBlock(
                    address=block.address,
                    failures=block.failures,
                    accounts=",".join(block.accounts),
                    blocked_at=_utc(block.at),
                    until=_utc(block.until),
                    lifted_by="",
                )
            )

    async def _run(self) -> None:
        while True:
            nxt = self.ledger.next_expiry()
            wait = None if nxt is None else max(0.0, nxt - self.clock()) + 0.05
            try:
                async with asyncio.timeout(wait):
                    await self._dirty.wait()
            except TimeoutError:
                pass
            self._dirty.clear()
            expired = self.ledger.expire(self.clock())
            for b in expired:
                log.info("SIP: block of %s expired", b.address)
                await self._lifted(b.address, by="")
            await self._apply()

    async def _apply(self) -> None:
        wanted = tuple(sorted(self.ledger.blocked))
        if wanted == self.applied or not self.client.connected:
            return
        try:
            await self.client.action("UpdateConfig", **acl_actions(wanted))
        except AMIError as exc:
            # Applied again on the next (re)connect or change.
            log.error("SIP: could not update the blocked ACL (%s): %s", BLOCK_FILE, exc)
            return
        self.applied = wanted

    async def _lifted(self, address: str, by: str) -> None:
        async with self.sessions() as db, db.begin():
            await db.execute(
                update(SipBlock)
                .where(SipBlock.address == address, SipBlock.lifted_at.is_(None))
                .values(lifted_at=_utc(self.clock()), lifted_by=by)
            )

    async def lift(self, address: str, by: str) -> None:
        """An admin frees an address now (a seat that mistyped its password)."""
        if self.ledger.lift(address) is None:
            raise NotBlocked(f"{address} 当前未被封禁")
        log.warning("SIP: %s lifted the block of %s", by, address)
        await self._lifted(address, by)
        self._dirty.set()


def _utc(at: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, dt.timezone.utc)
