"""Read models become JSON here, for an HTTP response or a websocket frame,
and nowhere before: services hand typed objects about, the edges call this."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import fields
from typing import Any


def _json(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_json(v) for v in value]
    as_dict = getattr(value, "as_dict", None)
    return as_dict() if callable(as_dict) else value


class ReadModel:
    """A read model's JSON: its fields by name, times in ISO 8601."""

    __slots__ = ()

    def as_dict(self) -> dict[str, Any]:
        return {f.name: _json(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


def _edge(o: object) -> object:
    as_dict = getattr(o, "as_dict", None)
    if callable(as_dict):
        return as_dict()
    if isinstance(o, dt.datetime):
        return o.isoformat()
    raise TypeError(f"{type(o).__name__} is not a read model")


def dumps(o: object) -> str:
    return json.dumps(o, ensure_ascii=False, default=_edge)
