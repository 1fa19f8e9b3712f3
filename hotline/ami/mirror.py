"""What Asterisk has right now (channels, queues, devices), as plain data.

Pure: fed typed events and resync snapshots, no I/O. ``apply`` reports
whether anything changed, so notifiers publish only real changes. After a
reconnect the mirror is rebuilt from a snapshot, never patched, so a
resynced controller holds exactly what a freshly started one would.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from hotline.ami import events as ev
from hotline.ami.used import UNWATCHED_DEVICES


@dataclass(frozen=True, slots=True)
class Channel:
    uniqueid: str
    name: str
    linkedid: str
    state: int
    caller_num: str
    caller_name: str
    context: str
    exten: str


@dataclass(frozen=True, slots=True)
class Member:
    interface: str
    name: str
    state_interface: str
    membership: str
    penalty: int
    paused: bool
    paused_reason: str
    status: int
    in_call: bool


@dataclass(slots=True)
class Queue:
    name: str
    strategy: str = ""
    members: dict[str, Member] = field(default_factory=dict)
    # caller uniqueid -> position
    callers: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Snapshot:
    channels: list[ev.CoreShowChannel]
    queue_params: list[ev.QueueParams]
    queue_members: list[ev.QueueMember]
    queue_entries: list[ev.QueueEntry]
    devices: list[ev.DeviceStateChange]


def _member(e: ev.MemberFields) -> Member:
    return Member(
        interface=e.interface,
        name=e.member_name,
        state_interface=e.state_interface or e.interface,
        membership=e.membership,
        penalty=e.penalty,
        paused=e.paused,
        paused_reason=e.paused_reason if e.paused else "",
        status=e.status,
        in_call=e.in_call,
    )


class PbxMirror:
    def __init__(self) -> None:
        self.channels: dict[str, Channel] = {}
        self.queues: dict[str, Queue] = {}
        self.devices: dict[str, str] = {}
        self.synced = False

    # -- snapshots ---------------------------------------------------------
    def load(self, snap: Snapshot) -> None:
        self.channels = {
            c.uniqueid: Channel(
                c.uniqueid,
                c.channel,
                c.linkedid,
                c.channel_state,
                c.caller_id_num,
                c.caller_id_name,
                c.context,
                c.exten,
            )
            for c in snap.channels
        }
        self.queues = {p.queue: Queue(p.queue, p.strategy) for p in snap.queue_params}
        for m in snap.queue_members:
            self.queues.setdefault(m.queue, Queue(m.queue)).members[m.interface] = _member(m)
        for q in snap.queue_entries:
            self.queues.setdefault(q.queue, Queue(q.queue)).callers[q.uniqueid] = q.position
        self.devices = {d.device: d.state for d in snap.devices if not d.device.startswith(UNWATCHED_DEVICES)}
        self.synced = True

    def clear(self) -> None:
        """Connection lost: what we hold can no longer be trusted."""
        self.synced = False

    def view(self) -> dict[str, Any]:
        """A deterministic plain-data view, for comparison and the API."""
        return {
            "channels": {k: asdict(v) for k, v in sorted(self.channels.items())},
            "queues": {
                name: {
                    "strategy": q.strategy,
                    "members": {k: asdict(m) for k, m in sorted(q.members.items())},
                    "callers": dict(sorted(q.callers.items())),
                }
                for name, q in sorted(self.queues.items())
            },
            "devices": dict(sorted(self.devices.items())),
        }

    # -- events ------------------------------------------------------------
    def apply(self, e: ev.Event) -> bool:
        """Apply one event; True when the mirror changed."""
        handler = _APPLY.get(type(e))
        return handler(self, e) if handler is not None else False

    def _set_channel(self, e: ev.ChannelEvent) -> bool:
        if not e.uniqueid:
            return False
        old = self.channels.get(e.uniqueid)
        context, exten = e.context, e.exten
        if old is not None:
            # Newstate & co. report where the channel is now; keep the first
            # context/exten only when the event carries none.
            context, exten = context or old.context, exten or old.exten
        new = Channel(
            e.uniqueid, e.channel, e.linkedid, e.channel_state, e.caller_id_num, e.caller_id_name, context, exten
        )
        if old == new:
            return False
        self.channels[e.uniqueid] = new
        return True

    def _hangup(self, e: ev.Hangup) -> bool:
        gone = self.channels.pop(e.uniqueid, None) is not None
        for q in self.queues.values():
            gone |= q.callers.pop(e.uniqueid, None) is not None
        return gone

    def _member_set(self, e: ev.MemberFields) -> bool:
        q = self.queues.setdefault(e.queue, Queue(e.queue))
        new = _member(e)
        if q.members.get(e.interface) == new:
            return False
        q.members[e.interface] = new
        return True

    def _member_removed(self, e: ev.QueueMemberRemoved) -> bool:
        q = self.queues.get(e.queue)
        return q is not None and q.members.pop(e.interface, None) is not None

    def _caller_join(self, e: ev.QueueCallerJoin) -> bool:
        q = self.queues.setdefault(e.queue, Queue(e.queue))
        q.callers[e.uniqueid] = e.position
        return True

    def _caller_leave(self, e: ev.QueueCallerLeave | ev.QueueCallerAbandon) -> bool:
        q = self.queues.get(e.queue)
        if q is None or q.callers.pop(e.uniqueid, None) is None:
            return False
        # app_queue renumbers everyone behind the leaver; so do we.
        for pos, uid in enumerate(sorted(q.callers, key=q.callers.__getitem__), start=1):
            q.callers[uid] = pos
        return True

    def _device(self, e: ev.DeviceStateChange) -> bool:
        if self.devices.get(e.device) == e.state:
            return False
        self.devices[e.device] = e.state
        return True


_APPLY: dict[type[ev.Event], Any] = {
    ev.Newchannel: PbxMirror._set_channel,
    ev.Newstate: PbxMirror._set_channel,
    ev.NewCallerid: PbxMirror._set_channel,
    ev.Hangup: PbxMirror._hangup,
    ev.QueueMemberAdded: PbxMirror._member_set,
    ev.QueueMemberStatus: PbxMirror._member_set,
    ev.QueueMemberPause: PbxMirror._member_set,
    ev.QueueMemberPenalty: PbxMirror._member_set,
    ev.QueueMemberRemoved: PbxMirror._member_removed,
    ev.QueueCallerJoin: PbxMirror._caller_join,
    ev.QueueCallerLeave: PbxMirror._caller_leave,
    ev.QueueCallerAbandon: PbxMirror._caller_leave,
    ev.DeviceStateChange: PbxMirror._device,
}
