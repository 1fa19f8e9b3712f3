"""The IVR interpreter as a pure generator.

``run(flow, ctx)`` yields instructions (play these files, wait for a key,
read digits, record, look a ticket up) and receives their results; it returns
where the call goes. It does no I/O, so every branch is unit-tested by driving
it with scripted results, and the FastAGI driver (hotline/ivr/agi.py) only
translates instructions into AGI commands.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from hotline.ivr.flow import Flow
from hotline.ivr.schedule import Calendar

# A validated flow cannot loop without input, but a call must end even if one
# slipped through: past this many steps the caller goes to a seat.
MAX_STEPS = 200


# -- instructions ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Play:
    """Play files in turn; a key in `digits` interrupts. Result: that key or ''."""

    files: tuple[str, ...]
    digits: str = ""


@dataclass(frozen=True, slots=True)
class WaitDigit:
    """Result: the key pressed, or '' after timeout_ms."""

    timeout_ms: int


@dataclass(frozen=True, slots=True)
class ReadDigits:
    """Play a prompt and read up to max_digits (ended by '#'). Result: the digits."""

    files: tuple[str, ...]
    max_digits: int
    timeout_ms: int


@dataclass(frozen=True, slots=True)
class Record:
    """Record the caller after a beep. Result: the file's name, or '' if nothing was said."""

    max_seconds: int


@dataclass(frozen=True, slots=True)
class QueueStaffed:
    """Result: True when someone is logged in to take the queue's calls."""

    queue: str


@dataclass(frozen=True, slots=True)
class LookupTicket:
    """Result: the ticket's status code, or None when there is no such ticket."""

    number: str


@dataclass(frozen=True, slots=True)
class CurrentAnnouncement:
    """Result: the prompt file of the active emergency notice, or None."""


Instruction = Play | WaitDigit | ReadDigits | Record | LookupTicket | CurrentAnnouncement | QueueStaffed


@dataclass(frozen=True, slots=True)
class Route:
    kind: str  # queue | transfer | hangup
    queue: str = ""
    skill: str = ""
    priority: int = 0
    number: str = ""
    # The route's own prompt (正在为您转接…), which the dialplan plays once
    # the AGI has ended: on every call that saves a round trip, and Asterisk
    # plays it without watching the AGI socket (bench/native_twin.py).
    prompt: str = ""


@dataclass(slots=True)
class Step:
    node: str
    type: str
    label: str
    key: str
    at: str

    def as_dict(self) -> dict[str, str]:
        return {"node": self.node, "type": self.type, "label": self.label, "key": self.key, "at": self.at}


@dataclass(slots=True)
class CallContext:
    now: Callable[[], dt.datetime]
    calendar: Calendar
    path: list[Step] = field(default_factory=list)
    vars: dict[str, str] = field(default_factory=dict)
    category: str = ""
    message_file: str = ""
    message_for_lawyers: bool = False
    survey: int | None = None
    # A key pressed during a prompt that asked for none (the welcome, the
    # notice): it stops that prompt and is the answer to the next menu, so a
    # caller who knows what they want never waits for the menu (type-ahead).
    typed_ahead: str = ""

    def step(self, nid: str, node: Any, key: str = "") -> None:
        self.path.append(Step(nid, node.type, node.label or nid, key, self.now().isoformat(timespec="seconds")))


ALL_KEYS = "0123456789*#"


@dataclass(frozen=True, slots=True)
class CompiledFlow:
    """A flow version with every prompt resolved to a playable file."""

    flow: Flow
    version: int
    prompts: dict[tuple[str, str], str]  # (node, field) -> file as Asterisk plays it
    system: dict[str, str]  # status:<code>, digit:<d> -> file

    def files(self, nid: str, fieldname: str) -> tuple[str, ...]:
        f = self.prompts.get((nid, fieldname))
        return (f,) if f else ()


Gen = Generator[Instruction, Any, Route]


def _say(files: tuple[str, ...], ctx: CallContext) -> Generator[Instruction, Any, None]:
    """A prompt any key stops; the key is kept for the next menu. Once a key
    is waiting, the prompts before that menu are skipped altogether."""
    if not files or ctx.typed_ahead:
        return
    key = yield Play(files, digits=ALL_KEYS)
    if key:
        ctx.typed_ahead = key


def _on_the_way(cf: CompiledFlow, nid: str, ctx: CallContext) -> str:
    """The prompt of a node that ends the IVR, for the dialplan to play; like
    any prompt, skipped once a key is waiting (the caller knows where to go)."""
    files = cf.files(nid, "prompt")
    return files[0] if files and not ctx.typed_ahead else ""


def run(cf: CompiledFlow, ctx: CallContext, start: str = "") -> Gen:
    """From the flow's start, or from `start` with the path so far in ctx
    (a call the dialplan ran up to a node it hands over, ivr/dialplan.py)."""
    flow = cf.flow
    nid = start or flow.start
    for _ in range(MAX_STEPS):
        node = flow.nodes[nid]
        t = node.type
        if t == "play":
            ctx.step(nid, node)
            yield from _say(cf.files(nid, "prompt"), ctx)
            nid = node.next
        elif t == "announcement":
            notice = yield CurrentAnnouncement()
            ctx.step(nid, node, "on" if notice else "off")
            if notice:
                yield from _say((notice,), ctx)
            nid = node.next
        elif t == "tag":
            ctx.category = node.category
            ctx.step(nid, node)
            nid = node.next
        elif t == "time_switch":
            target, why = _time_branch(node, ctx)
            ctx.step(nid, node, why)
            nid = target
        elif t == "menu":
            nid = yield from _menu(cf, nid, node, ctx)
        elif t == "collect":
            nid = yield from _collect(cf, nid, node, ctx)
        elif t == "ticket_status":
            number = ctx.vars.get(node.var, "")
            status = (yield LookupTicket(number)) if number else None
            ctx.step(nid, node, status or "none")
            if status and f"status:{status}" in cf.system:
                yield from _say(cf.files(nid, "found_prompt") + (cf.system[f"status:{status}"],), ctx)
            else:
                yield from _say(cf.files(nid, "not_found_prompt"), ctx)
            nid = node.next
        elif t == "survey":
            key, ctx.typed_ahead = ctx.typed_ahead, ""
            if not key:
                key = yield Play(cf.files(nid, "prompt"), digits="12345")
            if not key:
                key = yield WaitDigit(int(node.timeout * 1000))
            ctx.step(nid, node, key)
            if key and key in "12345":
                ctx.survey = int(key)
                yield from _say(cf.files(nid, "thanks"), ctx)
            if node.next is None:
                return Route("hangup")
            nid = node.next
        elif t == "message":
            ctx.category = node.category or ctx.category
            ctx.typed_ahead = ""  # the caller must hear how to leave a message
            yield Play(cf.files(nid, "prompt"), digits=ALL_KEYS)  # any key: straight to the beep
            name = yield Record(node.max_seconds)
            ctx.message_file = name or ""
            ctx.message_for_lawyers = node.lawyers
            ctx.step(nid, node, "recorded" if name else "silent")
            if name:
                yield from _say(cf.files(nid, "thanks"), ctx)
            return Route("hangup")
        elif t == "queue":
            if node.unstaffed and not (yield QueueStaffed(node.queue)):
                ctx.step(nid, node, "无人值守")
                nid = node.unstaffed
                continue
            ctx.step(nid, node)
            return Route(
                "queue", queue=node.queue, skill=node.skill, priority=node.priority, prompt=_on_the_way(cf, nid, ctx)
            )
        elif t == "transfer":
            ctx.step(nid, node, node.number)
            return Route("transfer", number=node.number, prompt=_on_the_way(cf, nid, ctx))
        elif t == "hangup":
            ctx.step(nid, node)
            return Route("hangup", prompt=_on_the_way(cf, nid, ctx))
        else:  # pragma: no cover - the model admits no other type
            raise ValueError(f"unknown node type {t}")
    return Route("queue", queue="hotline")


def _time_branch(node: Any, ctx: CallContext) -> tuple[str, str]:
    now = ctx.now()
    if node.holiday and ctx.calendar.is_holiday(now):
        return node.holiday, "节假日"
    for case in node.cases:
        if ctx.calendar.within(case.schedule, now):
            return case.next, case.schedule
    return node.default, "其他时间"


def _menu(cf: CompiledFlow, nid: str, node: Any, ctx: CallContext) -> Generator[Instruction, Any, str]:
    misses = 0
    # A key typed ahead, or pressed during a retry prompt, is the next choice.
    key: str | None = ctx.typed_ahead or None
    ctx.typed_ahead = ""
    while True:
        if key is None:
            # Any key stops the prompt, a wrong one too: callers press during
            # the prompt, and a wrong key must be answered, not swallowed.
            key = yield Play(cf.files(nid, "prompt"), digits=ALL_KEYS)
            if not key:
                key = yield WaitDigit(int(node.timeout * 1000))
        if key in node.options:
            ctx.step(nid, node, key)
            return node.options[key]
        if not key and node.timeout_next:
            ctx.step(nid, node, "")
            return node.timeout_next
        misses += 1
        if misses > node.retries:
            ctx.step(nid, node, key or "timeout")
            return node.default
        retry = "timeout_prompt" if not key else "invalid_prompt"
        key = (yield Play(cf.files(nid, retry), digits=ALL_KEYS)) or None


def _collect(cf: CompiledFlow, nid: str, node: Any, ctx: CallContext) -> Generator[Instruction, Any, str]:
    pattern = re.compile(node.pattern) if node.pattern else None
    ctx.typed_ahead = ""  # digits are read afresh (GET DATA cannot take a first key)
    for attempt in range(node.retries + 1):
        digits = yield ReadDigits(cf.files(nid, "prompt"), node.max_digits, int(node.timeout * 1000))
        digits = "".join(c for c in (digits or "") if c in "0123456789*")
        ok = node.min_digits <= len(digits) <= node.max_digits and (
            pattern is None or pattern.fullmatch(digits) is not None
        )
        if ok:
            ctx.vars[node.var] = digits
            ctx.step(nid, node, digits)
            return node.next
        if attempt < node.retries:
            yield Play(cf.files(nid, "invalid_prompt"), digits=ALL_KEYS)
    ctx.step(nid, node, "fail")
    return node.fail
