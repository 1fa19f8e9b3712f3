"""The AMI whitelist names every event a handler is registered for."""

from __future__ import annotations

import re
from pathlib import Path

from hotline.ami import events as ev
from hotline.ami.mirror import _APPLY
from hotline.ami.used import USED_EVENTS
from hotline.configfile import load
from hotline.pbx.render import render_config

ROOT = Path(__file__).resolve().parents[2] / "hotline"


def test_every_handled_event_passes_the_filter() -> None:
    handled = set()
    for source in ROOT.rglob("*.py"):
        handled |= set(re.findall(r"\.on\(ev\.([A-Za-z]+)", source.read_text(encoding="utf-8")))
    handled |= {t.__name__ for t in _APPLY}
    names = {cls.__name__: cls.NAME for cls in [*ev.REGISTRY.values(), *ev.USER_EVENTS.values()]}
    assert handled and {names[h] for h in handled} <= set(USED_EVENTS)


# Stasis message types Asterisk is told never to make, and the AMI events they become.
DECLINED = {
    "agi_exec_start_type": "AGIExecStart",
    "agi_exec_end_type": "AGIExecEnd",
    "ast_channel_varset_type": "VarSet",
}


def test_asterisk_makes_no_event_the_controller_reads_less_of(tmp_path: Path) -> None:
    """stasis.conf declines only what no handler needs; pbx.unread_events makes them again."""
    assert not set(DECLINED.values()) & set(USED_EVENTS)
    for unread, expected in ((False, set(DECLINED)), (True, set())):
        settings = load(None, state_dir=str(tmp_path / f"state-{unread}"), pbx={"unread_events": unread})
        render_config(settings, tmp_path / f"etc-{unread}")
        stasis = (tmp_path / f"etc-{unread}" / "stasis.conf").read_text()
        assert set(re.findall(r"^decline = (\w+)$", stasis, re.M)) == expected
