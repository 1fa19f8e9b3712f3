"""A flow compiled to dialplan: the common path of a call with no FastAGI.

Per-call FastAGI costs both sides a connection, an environment and a wake-up
per prompt (bench/native_twin.py), while plays, menus, tags, time switches
and routes are what Asterisk's own applications do. So each version is also
written as dialplan, one context per node named by version (a call keeps its
version across a publish), and a call reaches the controller over FastAGI
only at a node that needs it (digits, a ticket's status, a message, the
survey, an unstaffed-queue check): the driver resumes the interpreter there
with the path so far (ivr/agi.py). The semantics are the interpreter's
(ivr/runner.py): any key stops a prompt and is kept for the next menu, a
menu retries with its invalid or timeout prompt, a key during a retry prompt
is the next choice. What only the controller knows (the notice, the open
windows, a holiday) it keeps in globals (ivr/engine.py). The path travels in
HF_PATH (node:key steps) and HF_AT (their epochs); the hand-off reports it in
one UserEvent (HotlineIvr), as does a hangup handler for a caller lost in
the IVR. Each dialplan step costs Asterisk a channel snapshot, so a move
records the steps it passes (a tag's, a play's or a route's own) in the MSet
that precedes its Goto. Pure: unit-tested without a PBX.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from hotline.ivr.flow import prompts_of
from hotline.ivr.runner import CompiledFlow

CONTEXT_PREFIX = "hf"
ENTRY_CONTEXT = "hotline-flow"
KEYS = "_[0-9*#]"
# Globals the controller keeps (engine.py).
NOTICE_VAR = "HOTLINE_NOTICE"
CALENDAR_VAR = "HOTLINE_CAL_UNTIL"
HOLIDAY_VAR = "HOTLINE_HOLIDAY"
SCHEDULE_PREFIX = "HOTLINE_IN_"
# Text placed in the dialplan verbatim: no comma, quote, bracket, dollar,
# semicolon or line break can reach an application's arguments.
SAFE = re.compile(r"[\w:>./+-]*")
SCHEDULE_NAME = re.compile(r"[A-Za-z0-9_]{1,40}")


def context_of(version: int, nid: str) -> str:
    return f"{CONTEXT_PREFIX}{version}-{nid}"


def schedule_var(name: str) -> str:
    return SCHEDULE_PREFIX + name


class _Writer:
    def __init__(self, cf: CompiledFlow, agi_key: str, schedules: Iterable[str]):
        self.cf = cf
        self.v = cf.version
        self.agi_key = agi_key
        self.native = {nid for nid in cf.flow.nodes if compilable(cf, nid, schedules)}
        self.lines: list[str] = []

    def ctx(self, nid: str) -> str:
        return context_of(self.v, nid)

    def context(self, nid: str, body: Iterable[str]) -> None:
        self.lines.append(f"[{self.ctx(nid)}]")
        self.lines.extend(body)
        self.lines.append("")

    def enter(self, target: str, marks: tuple[str, ...] = ()) -> list[str]:
        """The applications that move the call to `target`, recording `marks`
        (steps taken here) and the steps of the nodes it passes on the way:
        a tag sets the category and moves on, a play, a route or a menu is
        entered (a play's and a route's own step is taken here too)."""
        steps, sets = list(marks), {}
        seen: set[str] = set()
        while target in self.native and target not in seen:
            node: Any = self.cf.flow.nodes[target]
            if node.type == "tag":
                seen.add(target)
                steps.append(target)
                sets["HOTLINE_CATEGORY"] = node.category
                target = node.next
                continue
            if node.type in ("play", "queue", "transfer", "hangup"):
                steps.append(target)
            elif node.type == "menu":
                sets["HF_MISS"] = "0"
            break
        apps = []
        if steps or sets:
            path = "".join(f">{m}" for m in steps)
            stamps = ">${EPOCH}" * len(steps)
            values = [f"HF_PATH=${{HF_PATH}}{path}", f"HF_AT=${{HF_AT}}{stamps}"] if steps else []
            apps.append("MSet(" + ",".join(values + [f"{k}={v}" for k, v in sets.items()]) + ")")
        return [*apps, f"Goto({self.ctx(target)},s,1)"]


def _then(apps: list[str], first: str = "") -> Iterator[str]:
    """Priorities running apps in turn; `first` starts an extension."""
    for i, app in enumerate(apps):
        yield f"{first},1,{app}" if i == 0 and first else f" same => n,{app}"


def compilable(cf: CompiledFlow, nid: str, schedules: Iterable[str]) -> bool:
    node: Any = cf.flow.nodes[nid]
    t = node.type
    if t not in _NODES:  # the others resume over FastAGI
        return False
    if not all(SAFE.fullmatch(f) for name, _ in prompts_of(node) for f in cf.files(nid, name)):
        return False
    if t == "queue":
        return node.unstaffed is None and all(SAFE.fullmatch(v) for v in (node.queue, node.skill))
    if t == "tag":
        return bool(SAFE.fullmatch(node.category))
    if t == "time_switch":
        known = set(schedules)
        return all(c.schedule in known and SCHEDULE_NAME.fullmatch(c.schedule) for c in node.cases)
    return True


def compile_flow(cf: CompiledFlow, agi_key: str, schedules: Iterable[str]) -> str:
    """The version's contexts (one per node)."""
    w = _Writer(cf, agi_key, schedules)
    for nid, node in cf.flow.nodes.items():
        w.context(nid, _NODES[node.type](w, nid, node) if nid in w.native else _resume(w, nid))
    return "\n".join(w.lines)


def _report(version: int, route: str) -> str:
    """The UserEvent from which the controller writes the call's row."""
    return (
        f"UserEvent(HotlineIvr,CallId: ${{HOTLINE_CALLID}},Flow: {version},Path: ${{HF_PATH:1}},"
        f"At: ${{HF_AT:1}},Route: {route},Tag: ${{HOTLINE_TAG}},Dialed: ${{HOTLINE_DIALED}})"
    )


def document(
    serving: CompiledFlow | None, versions: Iterable[CompiledFlow], agi_key: str, schedules: Iterable[str]
) -> str:
    """The whole generated file: where hotline-entry sends a new call (the
    serving version's start, with a hangup handler that reports a caller lost
    in the IVR), and the contexts of every version a call may still be in."""
    schedules = tuple(schedules)
    lines = ["; Generated by the controller from the published IVR flows; do not edit.", ""]
    if serving is not None:
        push = f"Set(CHANNEL(hangup_handler_push)={CONTEXT_PREFIX}gone{serving.version},s,1)"
        start = _Writer(serving, agi_key, schedules).enter(serving.flow.start)
        lines += [f"[{ENTRY_CONTEXT}]", *_then([push, *start], "exten => s"), ""]
    for cf in versions:
        gone = [f"[{CONTEXT_PREFIX}gone{cf.version}]", f"exten => s,1,{_report(cf.version, 'hangup-in-ivr')}"]
        lines += [*gone, " same => n,Return()", "", compile_flow(cf, agi_key, schedules)]
    return "\n".join(lines) + "\n"


# -- nodes ----------------------------------------------------------------------


def _say(files: tuple[str, ...]) -> list[str]:
    """The prompt unless a key is already waiting (typed ahead)."""
    return [f'ExecIf($["${{HF_TA}}" = ""]?Background({f}))' for f in files]


def _typed_ahead(w: _Writer, target: str) -> Iterator[str]:
    """A key during a prompt that asked for none: kept for the next menu."""
    yield from _then(["Set(HF_TA=${EXTEN})", *w.enter(target)], f"exten => {KEYS}")


def _play(w: _Writer, nid: str, node: Any) -> Iterator[str]:
    # Its step was taken on the way in (enter).
    yield from _then([*_say(w.cf.files(nid, "prompt")), *w.enter(node.next)], "exten => s")
    yield from _typed_ahead(w, node.next)


def _announcement(w: _Writer, nid: str, node: Any) -> Iterator[str]:
    yield f'exten => s,1,GotoIf($["${{{NOTICE_VAR}}}" = ""]?off,1)'
    yield f" same => n,MSet(HF_PATH=${{HF_PATH}}>{nid}:on,HF_AT=${{HF_AT}}>${{EPOCH}})"
    yield from _then([*_say((f"${{{NOTICE_VAR}}}",)), *w.enter(node.next)])
    yield from _then(w.enter(node.next, (f"{nid}:off",)), "exten => off")
    yield from _typed_ahead(w, node.next)


def _tag(w: _Writer, nid: str, node: Any) -> Iterator[str]:
    # Passed through by every move (enter); kept for completeness.
    yield from _then(w.enter(node.next, (nid,)), "exten => s")


def _time_switch(w: _Writer, nid: str, node: Any) -> Iterator[str]:
    # The windows as the controller last said, while they hold (the epoch it
    # gave); else the controller decides over FastAGI. Compared as text:
    # unset is less than any epoch, and epochs have ten digits until 2286.
    yield f'exten => s,1,GotoIf($["${{{CALENDAR_VAR}}}" <= "${{EPOCH}}"]?resume,1)'
    branches = [(f"case{i}", c.schedule, c.next) for i, c in enumerate(node.cases)]
    if node.holiday:
        branches.insert(0, ("holiday", "节假日", node.holiday))
        yield f' same => n,GotoIf($["${{{HOLIDAY_VAR}}}" = "1"]?holiday,1)'
    for label, schedule, _ in branches:
        if label != "holiday":
            yield f' same => n,GotoIf($["${{{schedule_var(schedule)}}}" = "1"]?{label},1)'
    yield from _then(w.enter(node.default, (f"{nid}:其他时间",)))
    for label, key, target in branches:
        yield from _then(w.enter(target, (f"{nid}:{key}",)), f"exten => {label}")
    yield from _resume(w, nid, "resume")


def _menu(w: _Writer, nid: str, n: Any) -> Iterator[str]:
    prompt = w.cf.files(nid, "prompt")
    # HF_MISS was reset on the way in (enter). A key typed ahead is the choice.
    yield 'exten => s,1,GotoIf($["${HF_TA}" = ""]?ask)'
    yield " same => n,MSet(HF_K=${HF_TA},HF_TA=)"
    yield " same => n,Goto(${HF_K},1)"
    yield " same => n(ask),NoOp()" if not prompt else f" same => n(ask),Background({prompt[0]})"
    for f in prompt[1:]:
        yield f" same => n,Background({f})"
    yield f" same => n,WaitExten({n.timeout:g})"
    for key, target in n.options.items():
        yield from _then(w.enter(target, (f"{nid}:{key}",)), f"exten => {key}")
    yield f"exten => {KEYS},1,Set(HF_K=${{EXTEN}})"
    yield " same => n,Goto(miss,1)"
    if n.timeout_next:
        yield from _then(w.enter(n.timeout_next, (nid,)), "exten => t")
    else:
        yield "exten => t,1,Set(HF_K=)"
        yield " same => n,Goto(miss,1)"
    # A wrong key or none: the retry prompt (a key during it is the next
    # choice), then the menu again; past the retries, the default.
    yield "exten => miss,1,Set(HF_MISS=$[${HF_MISS} + 1])"
    yield f" same => n,GotoIf($[${{HF_MISS}} > {int(n.retries)}]?out)"
    yield ' same => n,GotoIf($["${HF_K}" = ""]?silent)'
    for f in w.cf.files(nid, "invalid_prompt"):
        yield f" same => n,Background({f})"
    yield " same => n,Goto(s,ask)"
    yield " same => n(silent),NoOp()"
    for f in w.cf.files(nid, "timeout_prompt"):
        yield f" same => n,Background({f})"
    yield " same => n,Goto(s,ask)"
    yield ' same => n(out),ExecIf($["${HF_K}" = ""]?Set(HF_K=timeout))'
    yield from _then(w.enter(n.default, (f"{nid}:${{HF_K}}",)))


def _hand_off(w: _Writer, nid: str, route: str, sets: dict[str, str], dest: str) -> Iterator[str]:
    # Its step was taken on the way in (enter).
    values = ",".join(f"{k}={v}" for k, v in sets.items())
    yield f"exten => s,1,MSet(HOTLINE_IVR=${{HF_PATH:1:250}},HOTLINE_ROUTE={route}{',' + values if values else ''})"
    yield " same => n,Set(CHANNEL(hangup_handler_pop)=)"
    yield f" same => n,{_report(w.v, route)}"
    prompt = w.cf.files(nid, "prompt")
    if prompt:
        # The route's own prompt, skipped when the caller typed ahead.
        yield f' same => n,ExecIf($["${{HF_TA}}" = ""]?Playback({prompt[0]}))'
    yield f" same => n,{dest}"


def _queue(w: _Writer, nid: str, node: Any) -> Iterator[str]:
    sets = {}
    if node.queue != "hotline":
        sets["HOTLINE_QUEUE"] = node.queue
    if node.skill:
        sets["HOTLINE_SKILL"] = node.skill
    if node.priority:
        sets["HOTLINE_PRIORITY"] = str(node.priority)
    yield from _hand_off(w, nid, "queue", sets, "Goto(hotline-route,queue,1)")


def _transfer(w: _Writer, nid: str, node: Any) -> Iterator[str]:
    sets = {"HOTLINE_TRANSFER_NUMBER": node.number}
    yield from _hand_off(w, nid, "transfer", sets, "Goto(hotline-route,transfer,1)")


def _hangup(w: _Writer, nid: str, node: Any) -> Iterator[str]:
    yield from _hand_off(w, nid, "hangup", {}, "Goto(hotline-route,hangup,1)")


def _resume(w: _Writer, nid: str, exten: str = "s") -> Iterator[str]:
    """The controller takes over at this node: the interpreter resumes here
    with the path so far and any key typed ahead (ivr/agi.py)."""
    yield f"exten => {exten},1,Set(CHANNEL(hangup_handler_pop)=)"
    yield (
        f" same => n,AGI(${{HOTLINE_AGI}}/ivr?key={w.agi_key},${{HOTLINE_CALLID}},${{HOTLINE_TAG}},"
        f"${{HOTLINE_DIALED}},{w.v},{nid},${{HF_PATH:1}},${{HF_AT:1}},${{HF_TA}})"
    )
    yield " same => n,Goto(hotline-entry,s,after)"


_NODES = {
    "play": _play,
    "announcement": _announcement,
    "tag": _tag,
    "time_switch": _time_switch,
    "menu": _menu,
    "queue": _queue,
    "transfer": _transfer,
    "hangup": _hangup,
}
