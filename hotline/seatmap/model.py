"""What the shift lead's seat map shows, as plain data: tiles and the header.

Pure: built from the ACD's typed read models (acd/views.py); the hub sends
only the tiles whose seat changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hotline.acd.lines import window_text
from hotline.acd.views import HeaderView, SeatView
from hotline.numbers import mask_number

STATE_TEXT = {
    "offline": "未登录",
    "ready": "空闲",
    "ringing": "振铃",
    "talking": "通话中",
    "wrapup": "话后处理",
    "paused": "暂停",
    "off_line": "工单处理",
    "standby": "备班",
    "desynced": "未同步",
}


def build(seats: Iterable[SeatView], head: HeaderView) -> dict[str, Any]:
    return {"header": header(head), "seats": {s.seat: seat(s) for s in seats}}


def seat(s: SeatView) -> dict[str, Any]:
    """One tile."""
    state = "desynced" if s.desynced else s.status
    live = state in ("talking", "ringing")
    return {
        "seat": s.seat,
        "agent": s.agent_name or s.agent,
        "agent_id": s.agent,
        "state": state,
        "text": STATE_TEXT.get(state, state) + (f"（{s.pause_reason}）" if state == "paused" else ""),
        "since": s.since,
        "on_line": s.on_line,
        "caller": mask_number(s.caller) if live else "",
        "tag": s.tag if live else "",
        "category": s.category if live else "",
        "desynced": s.desynced or "",
        # What an agent off the lines (or a lawyer between calls) is working on.
        "working": s.working if state in ("off_line", "standby") or (s.lawyer and not live) else "",
        "lawyer": s.lawyer,
        # On a line because overflow pulled them from ticket work (溢出支援), since when.
        "pulled_at": s.pulled_at,
        "overflow_exempt": s.overflow_exempt,
        "node": s.node,
    }


def header(h: HeaderView) -> dict[str, Any]:
    """The map's header."""
    lines = h.lines
    return {
        "window": lines.window,
        "window_text": window_text(lines.window),
        "lines_target": lines.target,
        "lines_scheduled": lines.scheduled,
        "lines_by": lines.by,
        "lines_staffed": lines.staffed,
        "overflow": lines.overflow,
        "overflow_reason": lines.overflow_reason,
        "standby": lines.standby_active,
        "standby_on": lines.standby_on,
        "standby_reason": lines.standby_reason,
        "waiting": h.waiting,
        "longest_wait_s": h.longest_wait_s,
        "alert": h.longest_wait_s > 15,
    }
