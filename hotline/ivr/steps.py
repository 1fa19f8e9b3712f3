"""A call's IVR path as the dialplan carries it, back into steps.

The dialplan (hotline/ivr/dialplan.py) records each step as node:key in one
channel variable and its epoch in another; the controller turns them into the
same steps the interpreter records, to resume a call or write its row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hotline.ivr.flow import TagNode
from hotline.ivr.runner import CompiledFlow, Step


def parse_steps(cf: CompiledFlow, path: str, at: str) -> list[Step]:
    """Steps of nodes this version has; anything else (a forged or truncated
    path) is left out rather than trusted."""
    stamps = at.split(">") if at else []
    steps = []
    for i, mark in enumerate(path.split(">") if path else []):
        nid, _, key = mark.partition(":")
        node = cf.flow.nodes.get(nid)
        if node is None:
            continue
        stamp = stamps[i] if i < len(stamps) else ""
        when = dt.datetime.fromtimestamp(int(stamp), dt.timezone.utc) if stamp.isdigit() else None
        steps.append(Step(nid, node.type, node.label or nid, key, when.isoformat(timespec="seconds") if when else ""))
    return steps


def category_of(cf: CompiledFlow, steps: list[Step]) -> str:
    """The category the path's last tag set (as the interpreter keeps it)."""
    category = ""
    for s in steps:
        node = cf.flow.nodes[s.node]
        if isinstance(node, TagNode):
            category = node.category
    return category


def started_at(steps: list[Step]) -> dt.datetime | None:
    for s in steps:
        if s.at:
            return dt.datetime.fromisoformat(s.at)
    return None


def call_row(
    cf: CompiledFlow, *, call_id: str, caller: str, caller_name: str, dialed: str, tag: str, started: dt.datetime
) -> dict[str, Any]:
    """A call's row as it enters the IVR; the path and route join it as it leaves."""
    return {
        "call_id": call_id,
        "caller": "" if caller == "unknown" else caller,
        "caller_name": caller_name[:64],
        "dialed": dialed,
        "tag": tag,
        "flow_name": cf.flow.name,
        "flow_version": cf.version,
        "started_at": started,
    }


def ended_row(row: dict[str, Any], steps: list[Step], *, category: str, survey: Any, route: str) -> dict[str, Any]:
    """The call's row as it leaves the IVR (by either engine)."""
    return row | {"ivr_path": [s.as_dict() for s in steps], "category": category, "survey": survey, "route": route}
