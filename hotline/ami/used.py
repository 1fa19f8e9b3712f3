"""The AMI events the controller asks Asterisk for (its Filter whitelist).

Asterisk matches a filter given as a name (`MatchCriteria: name(X)`) by a
hash of the event's name; the older form, a regular expression run over the
whole text of every event, cost Asterisk one regexec per filter per event and
let `HangupRequest` through on `Event: Hangup`. The session also asks only for
the event classes these belong to (Login `Events:`), so Asterisk drops the
rest (dialplan, AGI, RTCP, CDR, ...) on a bit mask before any filter runs."""

from __future__ import annotations

from dataclasses import dataclass

# Every event some part of the controller handles (hotline/ami/mirror.py,
# acd/, tickets/, resync, pbx/trunks.py, pbx/sipguard.py, carmove/): keep in step when
# a handler is added (tests/unit/test_used_events.py checks).
USED_EVENTS = (
    "Newchannel",
    "Newstate",
    "NewCallerid",
    "Hangup",
    "DeviceStateChange",
    "FullyBooted",
    "Shutdown",
    "QueueMemberAdded",
    "QueueMemberStatus",
    "QueueMemberPause",
    "QueueMemberPenalty",
    "QueueMemberRemoved",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentConnect",
    "AgentComplete",
    "AgentRingNoAnswer",
    "UserEvent",
    # Whether an Originate the controller sent could start (carmove/service.py).
    "OriginateResponse",
    # Trunk state (pbx/trunks.py) and failed authentication (pbx/sipguard.py).
    "ContactStatus",
    "Registry",
    "ChallengeSent",
    "ChallengeResponseFailed",
    "InvalidAccountID",
    "InvalidPassword",
)

# Devices whose state nothing reads: a Local channel's (a call through a
# queue member makes six) and app_queue's own presence devices (Queue:hotline,
# Queue:hotline_avail, Queue:hotline_pause_<member>: two per caller, the
# seats' pauses come from QueueMemberPause). The mirror leaves them out of a
# resync too, so a resynced mirror is what a live one holds.
UNWATCHED_DEVICES = ("Local/", "Queue:")

# The manager class (manager.conf read=) each event above is sent under.
EVENT_CLASS = {
    **dict.fromkeys(("Newchannel", "Newstate", "NewCallerid", "Hangup", "DeviceStateChange"), "call"),
    **dict.fromkeys(("OriginateResponse",), "call"),
    **dict.fromkeys(("FullyBooted", "Shutdown", "ContactStatus", "Registry"), "system"),
    **dict.fromkeys((n for n in USED_EVENTS if n.startswith(("QueueMember", "QueueCaller", "Agent"))), "agent"),
    "UserEvent": "user",
    **dict.fromkeys(("ChallengeSent", "ChallengeResponseFailed", "InvalidAccountID", "InvalidPassword"), "security"),
}


@dataclass(frozen=True)
class Filter:
    """One AMI Filter action: MatchCriteria and the Filter text it applies."""

    criteria: str
    text: str = ""

    def fields(self) -> dict[str, str]:
        return {"Operation": "Add", "MatchCriteria": self.criteria, "Filter": self.text}


def event_classes(names: list[str]) -> str:
    """The Login `Events:` value for these events; '' (every class the user
    may read) when one of them is not in the table above."""
    classes = [EVENT_CLASS.get(n) for n in names]
    if not names or None in classes:
        return ""
    return ",".join(sorted({c for c in classes if c}))


def filters(names: list[str], action_prefix: str) -> list[Filter]:
    """Include exactly these events; of two, only what the controller's own
    work needs: an OriginateResponse answers the session that sent the
    Originate (its ActionID starts with our prefix; every session gets every
    one), and of device states, none of UNWATCHED_DEVICES."""
    out: list[Filter] = []
    for name in names:
        if name == "OriginateResponse":
            out.append(
                Filter("action(include),name(OriginateResponse),header(ActionID),method(starts_with)", action_prefix)
            )
        else:
            out.append(Filter(f"action(include),name({name})"))
    if "DeviceStateChange" in names:
        out += [
            Filter("action(exclude),name(DeviceStateChange),header(Device),method(starts_with)", prefix)
            for prefix in UNWATCHED_DEVICES
        ]
    return out
