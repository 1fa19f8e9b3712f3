"""The ACD's actions: make Asterisk's queue membership what the intent says,
one AMI action per difference (acd/intent.py computes them, purely).

The reconciler owns its wake-up and the seats it could not repair; it reads
the floor and the PBX mirror through the callables it is given and reports
each seat that fell out of step or came back (Outcome) to whoever built it,
so it knows nothing of the service that holds the floor."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hotline.acd.intent import Fix, desired, diff
from hotline.ami.client import AMIClient
from hotline.ami.mirror import PbxMirror
from hotline.ami.replies import AMIActionError, AMIError
from hotline.seats.state import Floor

log = logging.getLogger(__name__)

# Replies that mean Asterisk already is where we want it.
_CONVERGED = ("already there", "not there", "not found")


@dataclass(frozen=True, slots=True)
class Outcome:
    seat: str
    desynced: str | None  # why Asterisk refused the repair; None: in step again


class Reconciler:
    def __init__(
        self,
        client: AMIClient,
        mirror: Callable[[], PbxMirror],
        floor: Callable[[], Floor],
        queues: Sequence[tuple[str, bool]],
        report: Callable[[Outcome], None],
        state_interface: Callable[[str], str] = lambda _seat: "",
        hosts: Callable[[], frozenset[str] | None] = lambda: None,
    ):
        """queues: (name, lawyers only) in the order they are repaired;
        state_interface: where app_queue reads a seat's state ('' : its interface)."""
        self.client = client
        self.mirror = mirror
        self.floor = floor
        self.queues = queues
        self.report = report
        self.state_interface = state_interface
        self.hosts = hosts
        self.desynced: dict[str, str] = {}  # seat -> why it could not be repaired
        self.actions_sent = 0
        self._wake = asyncio.Event()

    def poke(self) -> None:
        """The intent or the PBX changed: compare again."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            mirror = self.mirror()
            if not self.client.connected or not mirror.synced:
                continue  # the resync after the next login pokes us again
            floor = self.floor()
            for name, lawyers in self.queues:
                queue = mirror.queues.get(name)
                have = dict(queue.members) if queue is not None else {}
                for fix in diff(desired(floor, lawyers, self.hosts()), have, name):
                    await self.fix(fix, floor)

    async def fix(self, fix: Fix, floor: Floor) -> None:
        q = fix.queue or self.queues[0][0]
        seat = floor.by_interface.get(fix.interface, fix.interface)
        try:
            if fix.kind == "add":
                await self.client.action(
                    "QueueAdd",
                    Queue=q,
                    Interface=fix.interface,
                    MemberName=fix.name,
                    Paused="true" if fix.paused else "false",
                    Reason=fix.reason,
                    StateInterface=self.state_interface(seat),  # empty: the interface's own
                )
            elif fix.kind == "pause":
                await self.client.action(
                    "QueuePause",
                    Queue=q,
                    Interface=fix.interface,
                    Paused="true" if fix.paused else "false",
                    Reason=fix.reason,
                )
            else:
                await self.client.action("QueueRemove", Queue=q, Interface=fix.interface)
            self.actions_sent += 1
            if self.desynced.pop(seat, None) is not None:
                self.report(Outcome(seat, None))
        except AMIActionError as exc:
            if any(word in exc.reason.lower() for word in _CONVERGED):
                return
            if self.desynced.get(seat) != exc.reason:
                self.desynced[seat] = exc.reason
                self.report(Outcome(seat, exc.reason))
        except AMIError as exc:
            log.warning("ACD %s %s: %s (retried after reconnect)", fix.kind, fix.interface, exc)
