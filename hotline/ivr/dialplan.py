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
HF_PATH (node:key steps) and HF_AT (their epochs); a route reports it in
one UserEvent (HotlineIvr), as does the h extension every context includes
for a caller lost in the IVR. Each dialplan step costs Asterisk a channel
snapshot, so a move records the steps it passes (a tag's, a play's or a
route's own) in the MSet that precedes its Goto, takes a route in place, and
enters an announcement or a time switch at the branch its globals choose.
Pure: unit-tested without a PBX.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from hotline.ivr.dialplan_text import (
    ENTRY_CONTEXT,
    KEYS,
    NOTICE_VAR,
    ROUTES,
    SAFE,
    SCHEDULE_NAME,
    choose,
    context_of,
    gone_context,
    report,
    say,
    switch_branches,
    then,
)
from hotline.ivr.flow import prompts_of
from hotline.ivr.runner import CompiledFlow


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
        self.lines += [f"[{self.ctx(nid)}]", f"include => {gone_context(self.v)}"]
        self.lines.extend(body)
        self.lines.append("")

    def enter(self, target: str, marks: tuple[str, ...] = (), *, fresh: bool = False) -> list[str]:
        """The applications that move the call to `target`, recording `marks`
        (steps taken here) and the steps of the nodes it passes on the way:
        a tag sets the category and moves on, a play or a menu is entered
        (a play's own step is taken here), an announcement or a time switch
        is entered at the branch its globals choose, and a route is taken
        here and now. `fresh`: the path is still empty (the flow's start)."""
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
        node = self.cf.flow.nodes.get(target)
        route = target in self.native and node is not None and node.type in ROUTES
        if route:
            path = ">".join(steps)
            # The route's summary for the seat (HOTLINE_IVR): the path so far
            # and the steps taken here, at most 250 characters.
            sep = "" if fresh else '${IF($["${HF_PATH}" = ""]?:>)}'
            sets["HOTLINE_IVR"] = path[:250] if fresh else f"${{HF_PATH:1:{max(0, 249 - len(path))}}}{sep}{path}"
            sets["HOTLINE_ROUTE"] = node.type
            sets |= ROUTES[node.type](node)
        apps = []
        if steps or sets:
            path = "".join(f">{m}" for m in steps)
            stamps = ">${EPOCH}" * len(steps)
            values = [f"HF_PATH=${{HF_PATH}}{path}", f"HF_AT=${{HF_AT}}{stamps}"] if steps else []
            apps.append("MSet(" + ",".join(values + [f"{k}={v}" for k, v in sets.items()]) + ")")
        if route:
            return [*apps, *self.hand_off(target, node)]
        return [*apps, f"Goto({self.ctx(target)},{self.entry(target)},1)"]

    def entry(self, target: str) -> str:
        """Where a move enters a node: an announcement and a time switch are
        entered at the branch their globals choose (no step of their own)."""
        node: Any = self.cf.flow.nodes.get(target)
        if target in self.native and node.type == "announcement":
            return choose([(f'"${{{NOTICE_VAR}}}" = ""', "off")], "on")
        if target in self.native and node.type == "time_switch":
            return choose(switch_branches(node), "other")
        return "s"

    def hand_off(self, nid: str, node: Any) -> list[str]:
        """The route taken: reported (the path set on the way in), the
        route's own prompt unless the caller typed ahead, then the route."""
        prompt = self.cf.files(nid, "prompt")
        # The route's own prompt, skipped when the caller typed ahead.
        play = [f'ExecIf($["${{HF_TA}}" = ""]?Playback({prompt[0]}))'] if prompt else []
        return [report(self.v, node.type), *play, f"Goto(hotline-route,{node.type},1)"]


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


def document(
    serving: CompiledFlow | None, versions: Iterable[CompiledFlow], agi_key: str, schedules: Iterable[str]
) -> str:
    """The whole generated file: where hotline-entry sends a new call (the
    serving version's start), and the contexts of every version a call may
    still be in."""
    schedules = tuple(schedules)
    lines = ["; Generated by the controller from the published IVR flows; do not edit.", ""]
    if serving is not None:
        w = _Writer(serving, agi_key, schedules)
        lines += [f"[{ENTRY_CONTEXT}]", f"include => {gone_context(serving.version)}", *_start(w), ""]
    for cf in versions:
        # Every context of the version includes it: a caller who hangs up in
        # the IVR is reported from the context the call is in (its h
        # extension), unless the call was handed on (HOTLINE_ROUTE) or is
        # the controller's (HF_AGI). No step on a call's way.
        gone = f'exten => h,1,ExecIf($["${{HOTLINE_ROUTE}}${{HF_AGI}}" = ""]?{report(cf.version, "hangup-in-ivr")})'
        lines += [f"[{gone_context(cf.version)}]", gone, "", compile_flow(cf, agi_key, schedules)]
    return "\n".join(lines) + "\n"


def _start(w: _Writer) -> list[str]:
    """The flow's start: the move into it, and a play's or a menu's own
    applications in place (one Goto fewer per call)."""
    start = w.cf.flow.start
    apps = w.enter(start, fresh=True)
    node: Any = w.cf.flow.nodes[start]
    if start not in w.native or node.type not in ("play", "menu"):
        return list(then(apps, "exten => s"))
    body = list(_NODES[node.type](w, start, node))
    first = body[0].removeprefix("exten => s,1,")
    return [*then([*apps[:-1], first], "exten => s"), *body[1:]]


# -- nodes ----------------------------------------------------------------------


def _typed_ahead(w: _Writer, target: str) -> Iterator[str]:
    """A key during a prompt that asked for none: kept for the next menu."""
    yield from then(["Set(HF_TA=${EXTEN})", *w.enter(target)], f"exten => {KEYS}")


def _play(w: _Writer, nid: str, node: Any) -> Iterator[str]:
    # Its step was taken on the way in (enter).
    yield from then([*say(w.cf.files(nid, "prompt")), *w.enter(node.next)], "exten => s")
    yield from _typed_ahead(w, node.next)


def _announcement(w: _Writer, nid: str, node: Any) -> Iterator[str]:
    # Entered at on or off (enter); s for a call that comes in otherwise.
    yield f"exten => s,1,Goto({w.entry(nid)},1)"
    yield f"exten => on,1,MSet(HF_PATH=${{HF_PATH}}>{nid}:on,HF_AT=${{HF_AT}}>${{EPOCH}})"
    yield from then([*say((f"${{{NOTICE_VAR}}}",)), *w.enter(node.next)])
    yield from then(w.enter(node.next, (f"{nid}:off",)), "exten => off")
    yield from _typed_ahead(w, node.next)


def _tag(w: _Writer, nid: str, node: Any) -> Iterator[str]:
    # Passed through by every move (enter); kept for completeness.
    yield from then(w.enter(node.next, (nid,)), "exten => s")


def _time_switch(w: _Writer, nid: str, node: Any) -> Iterator[str]:
    # Entered at the branch the globals choose (enter); s for a call that
    # comes in otherwise.
    yield f"exten => s,1,Goto({w.entry(nid)},1)"
    yield from then(w.enter(node.default, (f"{nid}:其他时间",)), "exten => other")
    if node.holiday:
        yield from then(w.enter(node.holiday, (f"{nid}:节假日",)), "exten => holiday")
    for i, c in enumerate(node.cases):
        yield from then(w.enter(c.next, (f"{nid}:{c.schedule}",)), f"exten => case{i}")
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
        yield from then(w.enter(target, (f"{nid}:{key}",)), f"exten => {key}")
    yield f"exten => {KEYS},1,Set(HF_K=${{EXTEN}})"
    yield " same => n,Goto(miss,1)"
    if n.timeout_next:
        yield from then(w.enter(n.timeout_next, (nid,)), "exten => t")
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
    yield from then(w.enter(n.default, (f"{nid}:${{HF_K}}",)))


def _route(w: _Writer, nid: str, node: Any) -> Iterator[str]:
    # Taken by every move into it (enter); kept for a call that comes in
    # otherwise.
    sets = {"HOTLINE_IVR": "${HF_PATH:1:250}", "HOTLINE_ROUTE": node.type, **ROUTES[node.type](node)}
    yield from then(
        ["MSet(" + ",".join(f"{k}={v}" for k, v in sets.items()) + ")", *w.hand_off(nid, node)], "exten => s"
    )


def _resume(w: _Writer, nid: str, exten: str = "s") -> Iterator[str]:
    """The controller takes over at this node: the interpreter resumes here
    with the path so far and any key typed ahead (ivr/agi.py); it reports
    the call itself from now on (HF_AGI)."""
    yield f"exten => {exten},1,Set(HF_AGI=1)"
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
    "queue": _route,
    "transfer": _route,
    "hangup": _route,
}
