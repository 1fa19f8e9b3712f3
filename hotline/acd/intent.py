"""What queue membership the controller wants, and the actions that get
Asterisk there. Pure: the reconciler applies each Fix as one AMI action."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.ami.mirror import Member
from hotline.seats.state import Floor


@dataclass(frozen=True, slots=True)
class Want:
    interface: str
    name: str
    paused: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Fix:
    kind: str  # add | remove | pause
    interface: str
    name: str = ""
    paused: bool = False
    reason: str = ""
    queue: str = ""


def desired(floor: Floor, lawyers: bool = False, hosts: frozenset[str] | None = None) -> dict[str, Want]:
    """Every logged-in agent is a member; only agents on a line and free are
    unpaused. Two queues: the hotline's (lawyers=False) takes no lawyer, the
    lawyers' takes nobody else. hosts: in a cluster, the seats placed on
    this node (a seat is a member on one node at a time)."""
    out = {}
    for s in floor.seats.values():
        if s.logged_in and s.lawyer == lawyers and (hosts is None or s.name in hosts):
            reason = s.queue_pause()
            out[s.interface] = Want(s.interface, s.agent_name or s.agent, bool(reason), reason)
    return out


def diff(want: dict[str, Want], have: dict[str, Member], queue: str = "") -> list[Fix]:
    fixes = []
    for iface, w in sorted(want.items()):
        m = have.get(iface)
        if m is None:
            fixes.append(Fix("add", iface, w.name, w.paused, w.reason, queue))
        elif m.paused != w.paused or (w.paused and m.paused_reason != w.reason):
            fixes.append(Fix("pause", iface, w.name, w.paused, w.reason, queue))
    for iface, m in sorted(have.items()):
        # Static members belong to queues.conf; only our dynamic ones are ghosts.
        if iface not in want and m.membership == "dynamic":
            fixes.append(Fix("remove", iface, m.name, queue=queue))
    return fixes
