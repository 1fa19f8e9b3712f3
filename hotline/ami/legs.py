"""Queue calls that ended for their seat before app_queue said so.

With Queue option c the caller stays after the seat hangs up (the survey),
and app_queue sends AgentComplete only when the caller leaves as well. By
then it no longer names the seat's leg (DestChannel empty) and, if the
caller's channel is gone too, not even the caller. Whoever ends a seat's
call on its leg's Hangup marks it here, so the late AgentComplete is taken
for that call and never for the one the seat may be on by then."""

from __future__ import annotations

from collections import deque

from hotline.ami import events as ev

KEEP = 20  # per seat: an AgentComplete that never comes (a restart in between) is forgotten


class EarlyEnds:
    def __init__(self) -> None:
        self._pending: dict[str, deque[tuple[str, str]]] = {}  # interface -> (leg, caller uniqueid), oldest first

    def mark(self, interface: str, leg: str, caller_uniqueid: str) -> None:
        self._pending.setdefault(interface, deque(maxlen=KEEP)).append((leg, caller_uniqueid))

    def late(self, e: ev.AgentComplete) -> bool:
        """Whether this AgentComplete is for a call already ended (and forget it)."""
        pending = self._pending.get(e.interface)
        if not pending:
            return False
        for i, (leg, uniqueid) in enumerate(pending):
            if (e.dest_channel and e.dest_channel == leg) or (e.uniqueid and e.uniqueid == uniqueid):
                del pending[i]
                return True
        if not e.dest_channel:  # the seat's leg is gone: the oldest call that ended before
            pending.popleft()
            return True
        return False
