"""What the edge knows of each node: a typed read of `dispatcher.list`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NodeState:
    name: str
    uri: str
    # Kamailio's flags: A active, I inactive, D disabled, T trying; P probing.
    flags: str

    @property
    def up(self) -> bool:
        return self.flags.startswith("A")


def parse_dispatcher_list(result: Any) -> list[NodeState]:
    """Set 1 of Kamailio's `dispatcher.list` answer; anything else is ignored."""
    out: list[NodeState] = []
    if not isinstance(result, dict):
        return out
    for record in result.get("RECORDS") or []:
        group = record.get("SET") if isinstance(record, dict) else None
        if not isinstance(group, dict) or group.get("ID") != 1:
            continue
        for target in group.get("TARGETS") or []:
            dest = target.get("DEST") if isinstance(target, dict) else None
            if not isinstance(dest, dict):
                continue
            attrs = dest.get("ATTRS")
            attrs = attrs if isinstance(attrs, dict) else {}
            uri = str(dest.get("URI", ""))
            out.append(NodeState(name=str(attrs.get("DUID") or uri), uri=uri, flags=str(dest.get("FLAGS", ""))))
    return out


def _items(result: Any) -> dict[str, Any]:
    """name -> value of every htable item in an `htable.dump` answer."""
    found: dict[str, Any] = {}
    stack = [result]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if "name" in x and "value" in x:
                found[str(x["name"])] = x["value"]
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return found


def parse_steered(result: Any) -> list[str]:
    """The destinations the edge steers new calls to, in turn, as it last
    read them (its `steer` table: `count`, then `p::0` …); none: round robin."""
    items = _items(result)
    count = items.get("count")
    if type(count) is not int or count <= 0:
        return []
    return [str(items[f"p::{i}"]) for i in range(count) if f"p::{i}" in items]
