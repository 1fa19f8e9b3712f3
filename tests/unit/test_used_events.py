"""The AMI whitelist names every event a handler is registered for."""

from __future__ import annotations

import re
from pathlib import Path

from hotline.ami import events as ev
from hotline.ami.mirror import _APPLY
from hotline.ami.used import USED_EVENTS

ROOT = Path(__file__).resolve().parents[2] / "hotline"


def test_every_handled_event_passes_the_filter() -> None:
    handled = set()
    for source in ROOT.rglob("*.py"):
        handled |= set(re.findall(r"\.on\(ev\.([A-Za-z]+)", source.read_text(encoding="utf-8")))
    handled |= {t.__name__ for t in _APPLY}
    names = {cls.__name__: cls.NAME for cls in [*ev.REGISTRY.values(), *ev.USER_EVENTS.values()]}
    assert handled and {names[h] for h in handled} <= set(USED_EVENTS)
