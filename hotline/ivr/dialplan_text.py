"""The words of a flow written as dialplan (dialplan.py): names, the
globals the controller keeps (engine.py), what may be written verbatim, and
the pieces every node is made of. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

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


def gone_context(version: int) -> str:
    """The context every context of a version includes: its h extension."""
    return f"{CONTEXT_PREFIX}gone{version}"


def choose(cases: list[tuple[str, str]], default: str) -> str:
    """An extension picked by the first condition that holds."""
    expr = default
    for cond, exten in reversed(cases):
        expr = f"${{IF($[{cond}]?{exten}:{expr})}}"
    return expr


def switch_branches(node: Any) -> list[tuple[str, str]]:
    # The windows as the controller last said, while they hold (the epoch it
    # gave); else the controller decides over FastAGI. Compared as text:
    # unset is less than any epoch, and epochs have ten digits until 2286.
    cases = [(f'"${{{CALENDAR_VAR}}}" <= "${{EPOCH}}"', "resume")]
    if node.holiday:
        cases.append((f'"${{{HOLIDAY_VAR}}}" = "1"', "holiday"))
    cases += [(f'"${{{schedule_var(c.schedule)}}}" = "1"', f"case{i}") for i, c in enumerate(node.cases)]
    return cases


def then(apps: list[str], first: str = "") -> Iterator[str]:
    """Priorities running apps in turn; `first` starts an extension."""
    for i, app in enumerate(apps):
        yield f"{first},1,{app}" if i == 0 and first else f" same => n,{app}"


def report(version: int, route: str) -> str:
    """The UserEvent from which the controller writes the call's row."""
    return (
        f"UserEvent(HotlineIvr,CallId: ${{HOTLINE_CALLID}},Flow: {version},Path: ${{HF_PATH:1}},"
        f"At: ${{HF_AT:1}},Route: {route},Tag: ${{HOTLINE_TAG}},Dialed: ${{HOTLINE_DIALED}})"
    )


def say(files: tuple[str, ...]) -> list[str]:
    """The prompt unless a key is already waiting (typed ahead)."""
    return [f'ExecIf($["${{HF_TA}}" = ""]?Background({f}))' for f in files]


def _queue_sets(node: Any) -> dict[str, str]:
    sets = {}
    if node.queue != "hotline":
        sets["HOTLINE_QUEUE"] = node.queue
    if node.skill:
        sets["HOTLINE_SKILL"] = node.skill
    if node.priority:
        sets["HOTLINE_PRIORITY"] = str(node.priority)
    return sets


# The channel variables each route sets (hotline-route reads them).
ROUTES: dict[str, Callable[[Any], dict[str, str]]] = {
    "queue": _queue_sets,
    "transfer": lambda node: {"HOTLINE_TRANSFER_NUMBER": node.number},
    "hangup": lambda node: {},
}
