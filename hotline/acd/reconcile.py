"""The ACD's actions: make Asterisk's queue membership what the intent says,
one AMI action per difference (acd/intent.py computes them, purely)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hotline.acd.intent import Fix, desired, diff
from hotline.ami.replies import AMIActionError, AMIError

if TYPE_CHECKING:
    from hotline.acd.service import AcdService

log = logging.getLogger(__name__)

# Replies that mean Asterisk already is where we want it.
_CONVERGED = ("already there", "not there", "not found")


class Reconciler:
    def __init__(self, service: "AcdService"):
        self.service = service

    async def run(self) -> None:
        acd = self.service
        while True:
            await acd._dirty.wait()
            acd._dirty.clear()
            if not acd.client.connected or not acd.keeper.mirror.synced:
                continue  # the resync after the next login sets us dirty again
            for name, lawyers in ((acd.acd.queue, False), (acd.acd.lawyer_queue, True)):
                queue = acd.keeper.mirror.queues.get(name)
                have = dict(queue.members) if queue is not None else {}
                for fix in diff(desired(acd.floor, lawyers), have, name):
                    await self.fix(fix)

    async def fix(self, fix: Fix) -> None:
        acd = self.service
        q = fix.queue or acd.acd.queue
        seat = acd.floor.by_interface.get(fix.interface, fix.interface)
        try:
            if fix.kind == "add":
                await acd.client.action("QueueAdd", Queue=q, Interface=fix.interface, MemberName=fix.name,
                                         Paused="true" if fix.paused else "false", Reason=fix.reason)
            elif fix.kind == "pause":
                await acd.client.action("QueuePause", Queue=q, Interface=fix.interface,
                                         Paused="true" if fix.paused else "false", Reason=fix.reason)
            else:
                await acd.client.action("QueueRemove", Queue=q, Interface=fix.interface)
            acd.actions_sent += 1
            if acd.desynced.pop(seat, None) is not None:
                acd.note("repaired", seat, "与交换机状态已一致")
        except AMIActionError as exc:
            if any(word in exc.reason.lower() for word in _CONVERGED):
                return
            if acd.desynced.get(seat) != exc.reason:
                acd.desynced[seat] = exc.reason
                acd.note("desynced", seat, f"无法同步到交换机：{exc.reason}")
                acd._changed()
        except AMIError as exc:
            log.warning("ACD %s %s: %s (retried after reconnect)", fix.kind, fix.interface, exc)
