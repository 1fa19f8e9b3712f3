"""Typed AMI events. Nothing outside hotline/ami reads raw AMI headers.

Each class names the AMI headers it reads; ``parse_event`` turns a Message
into the matching dataclass, an UnknownEvent for names we do not model, or a
MalformedEvent when a header cannot be converted (logged, never raised).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from hotline.ami.protocol import Message


def _int(value: str) -> int:
    return int(value) if value.strip() not in ("", "-") else 0


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "yes", "true", "on", "y")


def _cid(value: str) -> str:
    # Asterisk writes '<unknown>' where a caller ID or connected line is empty.
    return "" if value == "<unknown>" else value


def h(header: str, conv: Callable[[str], Any] = str, default: Any = "") -> Any:
    """A field read from AMI header ``header``."""
    return field(default=default, metadata={"ami": header, "conv": conv})


@dataclass(frozen=True, slots=True)
class Event:
    NAME: ClassVar[str] = ""
    raw: Message = field(repr=False, compare=False, default=Message(()))

    @property
    def action_id(self) -> str:
        return self.raw.action_id


@dataclass(frozen=True, slots=True)
class UnknownEvent(Event):
    name: str = ""


@dataclass(frozen=True, slots=True)
class MalformedEvent(Event):
    name: str = ""
    error: str = ""


REGISTRY: dict[str, type[Event]] = {}
E = TypeVar("E", bound=type[Event])


def ami_event(name: str) -> Callable[[E], E]:
    def register(cls: E) -> E:
        cls.NAME = name
        REGISTRY[name.lower()] = cls
        return cls

    return register


# The dialplan's own events (UserEvent with a name): typed like the rest.
USER_EVENTS: dict[str, type[Event]] = {}


def user_event(name: str) -> Callable[[E], E]:
    def register(cls: E) -> E:
        cls.NAME = "UserEvent"  # what the AMI filter lets through
        USER_EVENTS[name.lower()] = cls
        return cls

    return register


def parse_event(msg: Message) -> Event:
    name = msg.event
    cls = REGISTRY.get(name.lower())
    if cls is not None and cls.NAME == "UserEvent":
        cls = USER_EVENTS.get(msg.get("UserEvent").lower(), cls)
    if cls is None:
        return UnknownEvent(raw=msg, name=name)
    kwargs: dict[str, Any] = {"raw": msg}
    index = msg._index
    for field_name, header, key, conv in _fields_of(cls):
        value = index.get(key)
        if value is None:
            continue
        try:
            kwargs[field_name] = conv(value)
        except (ValueError, TypeError) as exc:
            return MalformedEvent(raw=msg, name=name, error=f"{header}: {exc}")
    return cls(**kwargs)


_FIELDS: dict[type[Event], tuple[tuple[str, str, str, Callable[[str], Any]], ...]] = {}


def _fields_of(cls: type[Event]) -> tuple[tuple[str, str, str, Callable[[str], Any]], ...]:
    # Read once per event type: walking dataclasses.fields() and their
    # metadata for every event was a tenth of the AMI edge's time.
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = tuple(
            (f.name, f.metadata["ami"], f.metadata["ami"].lower(), f.metadata["conv"])
            for f in dataclasses.fields(cls)
            if "ami" in f.metadata
        )
    return found


# -- shared field groups ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelEvent(Event):
    channel: str = h("Channel")
    uniqueid: str = h("Uniqueid")
    linkedid: str = h("Linkedid")
    channel_state: int = h("ChannelState", _int, 0)
    channel_state_desc: str = h("ChannelStateDesc")
    caller_id_num: str = h("CallerIDNum", _cid)
    caller_id_name: str = h("CallerIDName", _cid)
    connected_line_num: str = h("ConnectedLineNum", _cid)
    connected_line_name: str = h("ConnectedLineName", _cid)
    context: str = h("Context")
    exten: str = h("Exten")
    priority: int = h("Priority", _int, 0)

    def var(self, name: str) -> str:
        """A channel variable sent along (manager.conf channelvars)."""
        return self.raw.chan_var(name)


@dataclass(frozen=True, slots=True)
class MemberFields(Event):
    queue: str = h("Queue")
    interface: str = h("Interface")
    member_name: str = h("MemberName")
    state_interface: str = h("StateInterface")
    membership: str = h("Membership")
    penalty: int = h("Penalty", _int, 0)
    calls_taken: int = h("CallsTaken", _int, 0)
    last_call: int = h("LastCall", _int, 0)
    login_time: int = h("LoginTime", _int, 0)
    in_call: bool = h("InCall", _bool, False)
    status: int = h("Status", _int, 0)
    paused: bool = h("Paused", _bool, False)
    paused_reason: str = h("PausedReason")
    wrapuptime: int = h("Wrapuptime", _int, 0)


@dataclass(frozen=True, slots=True)
class AgentFields(ChannelEvent):
    queue: str = h("Queue")
    interface: str = h("Interface")
    member_name: str = h("MemberName")
    dest_channel: str = h("DestChannel")
    dest_uniqueid: str = h("DestUniqueid")
    hold_time: int = h("HoldTime", _int, 0)
    talk_time: int = h("TalkTime", _int, 0)
    ring_time: int = h("RingTime", _int, 0)
    reason: str = h("Reason")


# -- system -------------------------------------------------------------------


@ami_event("FullyBooted")
@dataclass(frozen=True, slots=True)
class FullyBooted(Event):
    uptime: int = h("Uptime", _int, 0)
    last_reload: int = h("LastReload", _int, 0)


@ami_event("Shutdown")
@dataclass(frozen=True, slots=True)
class Shutdown(Event):
    shutdown: str = h("Shutdown")
    restart: bool = h("Restart", _bool, False)


@ami_event("Reload")
@dataclass(frozen=True, slots=True)
class Reload(Event):
    module: str = h("Module")
    status: str = h("Status")


# -- channels -----------------------------------------------------------------


@ami_event("Newchannel")
@dataclass(frozen=True, slots=True)
class Newchannel(ChannelEvent):
    pass


@ami_event("Newstate")
@dataclass(frozen=True, slots=True)
class Newstate(ChannelEvent):
    pass


@ami_event("NewCallerid")
@dataclass(frozen=True, slots=True)
class NewCallerid(ChannelEvent):
    pass


@ami_event("NewConnectedLine")
@dataclass(frozen=True, slots=True)
class NewConnectedLine(ChannelEvent):
    pass


@ami_event("Newexten")
@dataclass(frozen=True, slots=True)
class Newexten(ChannelEvent):
    application: str = h("Application")
    app_data: str = h("AppData")


@ami_event("Hangup")
@dataclass(frozen=True, slots=True)
class Hangup(ChannelEvent):
    cause: int = h("Cause", _int, 0)
    cause_txt: str = h("Cause-txt")


@ami_event("CoreShowChannel")
@dataclass(frozen=True, slots=True)
class CoreShowChannel(ChannelEvent):
    application: str = h("Application")
    bridge_id: str = h("BridgeId")


@ami_event("DTMFEnd")
@dataclass(frozen=True, slots=True)
class DTMFEnd(ChannelEvent):
    digit: str = h("Digit")
    direction: str = h("Direction")


@ami_event("Hold")
@dataclass(frozen=True, slots=True)
class Hold(ChannelEvent):
    pass


@ami_event("Unhold")
@dataclass(frozen=True, slots=True)
class Unhold(ChannelEvent):
    pass


@ami_event("VarSet")
@dataclass(frozen=True, slots=True)
class VarSet(ChannelEvent):
    variable: str = h("Variable")
    value: str = h("Value")


@ami_event("OriginateResponse")
@dataclass(frozen=True, slots=True)
class OriginateResponse(ChannelEvent):
    response: str = h("Response")
    reason: int = h("Reason", _int, 0)


@ami_event("UserEvent")
@dataclass(frozen=True, slots=True)
class UserEvent(ChannelEvent):
    user_event: str = h("UserEvent")


@user_event("HotlineCallback")
@dataclass(frozen=True, slots=True)
class HotlineCallback(UserEvent):
    """hotline-callback-dial: how a callback's call to the citizen ended."""

    callback_id: str = h("Id")
    status: str = h("Status")  # the Dial status: ANSWER, BUSY, NOANSWER, CHANUNAVAIL, ...


@user_event("HotlineSurvey")
@dataclass(frozen=True, slots=True)
class HotlineSurvey(UserEvent):
    """hotline-after-seat: the key the caller pressed in the survey."""

    call_id: str = h("CallId")
    score: str = h("Score")


@user_event("HotlineRevisit")
@dataclass(frozen=True, slots=True)
class HotlineRevisit(UserEvent):
    """hotline-revisit: the citizen's answer to the automated revisit."""

    ticket: str = h("Ticket")
    answer: str = h("Answer")  # 1 satisfied, 2 not, none


@user_event("HotlineIvr")
@dataclass(frozen=True, slots=True)
class HotlineIvr(UserEvent):
    """hotline-flow: a call left a flow run by the dialplan (hotline/ivr/dialplan.py)."""

    call_id: str = h("CallId")
    flow: str = h("Flow")  # the version
    path: str = h("Path")  # node:key>node>...
    at: str = h("At")  # each step's epoch, >-separated
    route: str = h("Route")  # queue, transfer, hangup or hangup-in-ivr
    tag: str = h("Tag")
    dialed: str = h("Dialed")


@user_event("HotlineCarmove")
@dataclass(frozen=True, slots=True)
class HotlineCarmove(UserEvent):
    """hotline-carmove-*: a step of a car-moving call (answered, key1, nokey,
    unreached, ended, bridge-failed)."""

    binding: str = h("Binding")
    step: str = h("Step")


# -- devices ------------------------------------------------------------------


@ami_event("DeviceStateChange")
@dataclass(frozen=True, slots=True)
class DeviceStateChange(Event):
    device: str = h("Device")
    state: str = h("State")


# -- queues -------------------------------------------------------------------


@ami_event("QueueParams")
@dataclass(frozen=True, slots=True)
class QueueParams(Event):
    queue: str = h("Queue")
    max: int = h("Max", _int, 0)
    strategy: str = h("Strategy")
    calls: int = h("Calls", _int, 0)
    holdtime: int = h("Holdtime", _int, 0)
    talktime: int = h("TalkTime", _int, 0)
    completed: int = h("Completed", _int, 0)
    abandoned: int = h("Abandoned", _int, 0)
    service_level: int = h("ServiceLevel", _int, 0)
    weight: int = h("Weight", _int, 0)


@ami_event("QueueMember")
@dataclass(frozen=True, slots=True)
class QueueMember(MemberFields):
    # QueueStatus calls the interface "Location" and the member "Name".
    interface: str = h("Location")
    member_name: str = h("Name")


@ami_event("QueueEntry")
@dataclass(frozen=True, slots=True)
class QueueEntry(ChannelEvent):
    queue: str = h("Queue")
    position: int = h("Position", _int, 0)
    wait: int = h("Wait", _int, 0)


@ami_event("QueueMemberAdded")
@dataclass(frozen=True, slots=True)
class QueueMemberAdded(MemberFields):
    pass


@ami_event("QueueMemberRemoved")
@dataclass(frozen=True, slots=True)
class QueueMemberRemoved(MemberFields):
    pass


@ami_event("QueueMemberStatus")
@dataclass(frozen=True, slots=True)
class QueueMemberStatus(MemberFields):
    pass


@ami_event("QueueMemberPause")
@dataclass(frozen=True, slots=True)
class QueueMemberPause(MemberFields):
    pass


@ami_event("QueueMemberPenalty")
@dataclass(frozen=True, slots=True)
class QueueMemberPenalty(MemberFields):
    pass


@ami_event("QueueCallerJoin")
@dataclass(frozen=True, slots=True)
class QueueCallerJoin(ChannelEvent):
    queue: str = h("Queue")
    position: int = h("Position", _int, 0)
    count: int = h("Count", _int, 0)


@ami_event("QueueCallerLeave")
@dataclass(frozen=True, slots=True)
class QueueCallerLeave(ChannelEvent):
    queue: str = h("Queue")
    position: int = h("Position", _int, 0)
    count: int = h("Count", _int, 0)


@ami_event("QueueCallerAbandon")
@dataclass(frozen=True, slots=True)
class QueueCallerAbandon(ChannelEvent):
    queue: str = h("Queue")
    position: int = h("Position", _int, 0)
    original_position: int = h("OriginalPosition", _int, 0)
    hold_time: int = h("HoldTime", _int, 0)


@ami_event("AgentCalled")
@dataclass(frozen=True, slots=True)
class AgentCalled(AgentFields):
    pass


@ami_event("AgentConnect")
@dataclass(frozen=True, slots=True)
class AgentConnect(AgentFields):
    pass


@ami_event("AgentComplete")
@dataclass(frozen=True, slots=True)
class AgentComplete(AgentFields):
    pass


@ami_event("AgentRingNoAnswer")
@dataclass(frozen=True, slots=True)
class AgentRingNoAnswer(AgentFields):
    pass


@ami_event("AgentDump")
@dataclass(frozen=True, slots=True)
class AgentDump(AgentFields):
    pass


# -- AGI ----------------------------------------------------------------------


@ami_event("AsyncAGIStart")
@dataclass(frozen=True, slots=True)
class AsyncAGIStart(ChannelEvent):
    env: str = h("Env")


@ami_event("AsyncAGIExec")
@dataclass(frozen=True, slots=True)
class AsyncAGIExec(ChannelEvent):
    # Asterisk >= 12 sends AsyncAGIExec with CommandID; panoramisk 1.4 waited
    # for 'AsyncAGI' with 'SubEvent: Exec' and never completed.
    command_id: str = h("CommandID")
    result: str = h("Result")


@ami_event("AsyncAGIEnd")
@dataclass(frozen=True, slots=True)
class AsyncAGIEnd(ChannelEvent):
    pass


@ami_event("AGIExecStart")
@dataclass(frozen=True, slots=True)
class AGIExecStart(ChannelEvent):
    command: str = h("Command")
    command_id: str = h("CommandId")


@ami_event("AGIExecEnd")
@dataclass(frozen=True, slots=True)
class AGIExecEnd(ChannelEvent):
    command: str = h("Command")
    command_id: str = h("CommandId")
    result_code: int = h("ResultCode", _int, 0)
    result: str = h("Result")


# -- SIP trunks and security ---------------------------------------------------


def _usec(value: str) -> float:
    """Round-trip time in microseconds ('N/A' or empty before a qualify)."""
    try:
        return float(value)
    except ValueError:
        return 0.0


@ami_event("ContactStatus")
@dataclass(frozen=True, slots=True)
class ContactStatus(Event):
    """A PJSIP contact's qualify result changed (OPTIONS answered or not)."""

    uri: str = h("URI")
    status: str = h("ContactStatus")  # Reachable, Unreachable, Unknown, NonQualified, Created, Removed
    aor: str = h("AOR")
    endpoint: str = h("EndpointName")
    rtt_usec: float = h("RoundtripUsec", _usec, 0.0)


@ami_event("ContactStatusDetail")
@dataclass(frozen=True, slots=True)
class ContactStatusDetail(Event):
    """One contact in PJSIPShowEndpoint's answer (permanent contacts too,
    which PJSIPShowContacts leaves out)."""

    uri: str = h("URI")
    status: str = h("Status")
    aor: str = h("AOR")
    endpoint: str = h("EndpointName")
    rtt_usec: float = h("RoundtripUsec", _usec, 0.0)


@ami_event("Registry")
@dataclass(frozen=True, slots=True)
class Registry(Event):
    """An outbound registration's state changed."""

    channel_type: str = h("ChannelType")
    username: str = h("Username")  # the registration's client URI
    domain: str = h("Domain")  # its server URI
    status: str = h("Status")  # Registered, Unregistered, Rejected, Failed
    cause: str = h("Cause")


@ami_event("OutboundRegistrationDetail")
@dataclass(frozen=True, slots=True)
class OutboundRegistrationDetail(Event):
    """One registration in PJSIPShowRegistrationsOutbound' answer."""

    object_name: str = h("ObjectName")
    status: str = h("Status")
    server_uri: str = h("ServerUri")
    client_uri: str = h("ClientUri")


@dataclass(frozen=True, slots=True)
class SecurityEvent(Event):
    """Asterisk's security events (manager class 'security')."""

    service: str = h("Service")  # PJSIP, AMI
    account_id: str = h("AccountID")
    session_id: str = h("SessionID")
    remote_address: str = h("RemoteAddress")  # IPV4/UDP/203.0.113.9/5060

    @property
    def address(self) -> str:
        """The remote IP address alone ('' when Asterisk sent none)."""
        parts = self.remote_address.split("/")
        return parts[2] if len(parts) >= 4 and parts[0] in ("IPV4", "IPV6") else ""

    @property
    def transport(self) -> str:
        """UDP, TCP, TLS, WS, WSS ('' when Asterisk sent none)."""
        parts = self.remote_address.split("/")
        return parts[1] if len(parts) >= 4 else ""


@ami_event("ChallengeSent")
@dataclass(frozen=True, slots=True)
class ChallengeSent(SecurityEvent):
    challenge: str = h("Challenge")  # the nonce sent to the remote address


@ami_event("ChallengeResponseFailed")
@dataclass(frozen=True, slots=True)
class ChallengeResponseFailed(SecurityEvent):
    challenge: str = h("Challenge")  # the nonce the request answered with


@ami_event("InvalidAccountID")
@dataclass(frozen=True, slots=True)
class InvalidAccountID(SecurityEvent):
    pass


@ami_event("InvalidPassword")
@dataclass(frozen=True, slots=True)
class InvalidPassword(SecurityEvent):
    pass
