"""A seat's SIP password works only while its agent sits there.

An agent is handed their seat's password (the desk's phone details, a
provisioning link) so their softphone can register as that seat. Passwords
never changing meant an agent could collect every seat's by logging in at
each, then register as any seat later and take its calls. So the password
of a seat is rotated whenever its agent leaves it (logout, a lead's logout,
a seat taken over): what the agent learned stops registering at once.

Chosen over a SIP identity per agent because seats stay the PBX's fixed
endpoints (`seat01`…, the queue members, the seat map's tiles) and a desk
phone set up for a seat keeps working while its agent is there; the price is
that a seat's softphone is provisioned anew by each agent who sits at it,
which the desk does at login.

Where: the new password is stored first (the state folder's secrets.toml,
which every render of the PBX's configuration reads), then written into the
PBX's `pjsip_hotline_seat_auth.conf` over AMI UpdateConfig with a res_pjsip
reload, the same path as the SIP guard's ACL, so an operator's own Asterisk
gets it too. Seats that leave together are rotated in one reload; a rotation
the PBX could not take (down, reconnecting) is applied on the next connect.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Iterable, Mapping

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.ami.client import AMIClient
from hotline.ami.replies import AMIError, Connected
from hotline.config import Settings
from hotline.credentials import ensure_secrets, write_secrets
from hotline.seats import edge_passwords
from hotline.tasks import TaskSet, wait_event

log = logging.getLogger(__name__)

AUTH_FILE = "pjsip_hotline_seat_auth.conf"


def auth_update(passwords: Mapping[str, str]) -> dict[str, str]:
    """UpdateConfig fields that set each seat's password (pure)."""
    fields = {"SrcFilename": AUTH_FILE, "DstFilename": AUTH_FILE, "Reload": "res_pjsip.so"}
    for i, (seat, password) in enumerate(sorted(passwords.items())):
        if not (
            seat.isascii()
            and seat.isalnum()
            and password.isascii()
            and password.replace("-", "").replace("_", "").isalnum()
        ):
            raise ValueError(f"seat {seat!r}: not a name or password the PBX's configuration can hold")
        fields |= {
            f"Action-{i:06d}": "Update",
            f"Cat-{i:06d}": seat,
            f"Var-{i:06d}": "password",
            f"Value-{i:06d}": password,
        }
    return fields


def left(before: Mapping[str, str], after: Mapping[str, str]) -> set[str]:
    """Seats whose agent is no longer the one who was there (pure)."""
    return {seat for seat, agent in before.items() if agent and after.get(seat, "") != agent}


class SeatCredentials:
    def __init__(self, settings: Settings, client: AMIClient, shared: async_sessionmaker[AsyncSession] | None = None):
        """shared: the database the SIP edge reads seats' passwords from
        (seats registered at the edge), kept equal to secrets.toml."""
        self.settings = settings
        self.client = client
        self.shared = shared
        self.rotations = 0
        self._holders: dict[str, str] = {}  # seat -> the agent at it, as last seen
        self._pending: dict[str, str] = {}  # seat -> password stored, not yet in the PBX
        self._shared_pending: dict[str, str] = {}  # the same, not yet where the edge reads it
        self._lock = asyncio.Lock()  # one writer of secrets.toml at a time
        self._wake = asyncio.Event()
        self._tasks = TaskSet("seat-credentials")
        self._rotating = TaskSet("seat-rotations")
        client.on(Connected, self._on_connected)

    async def start(self, holders: Mapping[str, str]) -> None:
        self._holders = {s: a for s, a in holders.items() if a}
        if self.shared is not None:
            # The leads' monitoring phones register at the edge too.
            current = ensure_secrets(self.settings)
            seeded = await edge_passwords.seed(
                self.shared, {**current["seat_passwords"], **current.get("monitor_passwords", {})}
            )
            if seeded:
                log.info("SIP: %d phones' passwords shared with the edge", seeded)
        self._tasks.spawn(self._run(), "seat-credentials")

    async def close(self) -> None:
        # A rotation begun (an agent just left) is finished and handed to the
        # PBX before the controller stops, or the stored and the PBX's disagree.
        await self._rotating.close(grace=5.0)
        await self._tasks.close()
        try:
            async with asyncio.timeout(5):
                await self._apply()
        except TimeoutError:
            log.error("SIP: stopping with the rotated passwords of %s not applied", ", ".join(sorted(self._pending)))

    def floor_changed(self, holders: Mapping[str, str]) -> None:
        """The ACD's floor moved: who sits where now (seat -> agent, '' if free)."""
        gone = left(self._holders, holders)
        self._holders = {s: a for s, a in holders.items() if a}
        if gone:
            self._rotating.spawn(self.rotate(gone), f"seat-rotate-{','.join(sorted(gone))}")

    async def rotate(self, seats: Iterable[str]) -> None:
        fresh = {s: secrets.token_urlsafe(12) for s in sorted(seats)}
        async with self._lock:
            await asyncio.to_thread(self._store, fresh)
        if self.shared is not None:
            self._shared_pending.update(fresh)
        self.rotations += len(fresh)
        self._pending.update(fresh)
        log.info("SIP password of %s rotated: its agent left", ", ".join(fresh))
        self._wake.set()

    def _store(self, fresh: dict[str, str]) -> None:
        current = ensure_secrets(self.settings)
        current["seat_passwords"] = {**current.get("seat_passwords", {}), **fresh}
        write_secrets(self.settings, current)

    async def _apply_shared(self) -> None:
        if self.shared is None or not self._shared_pending:
            return
        batch = dict(self._shared_pending)
        try:
            await edge_passwords.store(self.shared, batch)
        except (OSError, SQLAlchemyError) as exc:
            # Kept pending and retried: until then the edge takes the old password.
            log.error("SIP: the edge still has the old passwords of %s: %s", ", ".join(sorted(batch)), exc)
            self._wake_soon()
            return
        for seat, password in batch.items():
            if self._shared_pending.get(seat) == password:
                del self._shared_pending[seat]

    def _wake_soon(self) -> None:
        asyncio.get_running_loop().call_later(2.0, self._wake.set)

    def _on_connected(self, _e: Connected) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await wait_event(self._wake, 3600)
            self._wake.clear()
            await self._apply()

    async def _apply(self) -> None:
        await self._apply_shared()
        if not self._pending or not self.client.connected:
            return
        batch = dict(self._pending)
        try:
            await self.client.action("UpdateConfig", **auth_update(batch))
        except AMIError as exc:
            # Kept pending: the next connect applies it (a restarted bundled
            # PBX renders the stored passwords anyway).
            log.error("SIP: could not rotate the passwords of %s (%s): %s", ", ".join(sorted(batch)), AUTH_FILE, exc)
            return
        for seat, password in batch.items():
            if self._pending.get(seat) == password:  # not rotated again meanwhile
                del self._pending[seat]
