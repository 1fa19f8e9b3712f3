"""What the AMI client hands back: its errors (each with a fixed id), the
markers it puts in the event stream, list results and AGI results."""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline.ami.events import Event
from hotline.ami.protocol import Message
from hotline.errors import HotlineError


class AMIError(HotlineError):
    error_id = "ami-error"
    status = 502


class AMINotConnected(AMIError):
    error_id = "ami-not-connected"
    status = 503


class AMIDisconnected(AMIError):
    error_id = "ami-disconnected"
    status = 503


class AMITimeout(AMIError):
    error_id = "ami-timeout"
    status = 504


class AMIActionError(AMIError):
    """Asterisk answered 'Response: Error'."""

    error_id = "ami-action-failed"

    def __init__(self, action: str, message: str, response: Message | None = None):
        super().__init__(f"{action}: {message}", action=action)
        self.action = action
        self.reason = message
        self.response = response


class AMIAuthError(AMIError):
    error_id = "ami-auth-failed"


@dataclass(frozen=True, slots=True)
class Connected(Event):
    """Marker put in the event stream after each successful login."""

    server_banner: str = ""
    connection_number: int = 0


@dataclass(frozen=True, slots=True)
class Disconnected(Event):
    """Marker put in the event stream when a connection ends."""

    reason: str = ""


@dataclass(slots=True)
class ListResult:
    response: Message
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AGIResult:
    code: int
    result: str
    data: str
    raw: str


def parse_agi_reply(line: str) -> AGIResult:
    """'200 result=1 (dtmf) endpos=1234' -> AGIResult(200, '1', 'dtmf')."""
    line = line.strip()
    code_text, _, rest = line.partition(" ")
    try:
        code = int(code_text.rstrip("-"))
    except ValueError:
        return AGIResult(0, "", "", line)
    result, data = "", ""
    if rest.startswith("result="):
        value = rest[len("result=") :]
        result, _, tail = value.partition(" ")
        tail = tail.strip()
        if tail.startswith("(") and ")" in tail:
            data = tail[1 : tail.index(")")]
    else:
        data = rest
    return AGIResult(code, result, data, line)
