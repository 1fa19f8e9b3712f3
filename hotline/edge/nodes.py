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
