"""What the shift lead's seat map shows, as plain data, and what changed.

Pure: built from the ACD's floor view (and the caller details the mirror
holds); ``delta`` compares two views so only real changes go out.
"""

from __future__ import annotations

from typing import Any

from hotline.numbers import mask_number

STATE_TEXT = {
    "offline": "未登录", "ready": "空闲", "ringing": "振铃", "talking": "通话中", "wrapup": "话后处理",
    "paused": "暂停", "off_line": "工单处理", "standby": "备班", "desynced": "未同步",
}


def build(floor: dict[str, Any], now: float) -> dict[str, Any]:
    """floor: AcdService.floor_view()."""
    return {"header": header(floor), "seats": {s["seat"]: seat(s) for s in floor["seats"]}}


def seat(s: dict[str, Any]) -> dict[str, Any]:
    """One tile, from AcdService.seat_view()."""
    state = "desynced" if s["desynced"] else s["status"]
    info = {"tag": s.get("tag", ""), "category": s.get("category", "")}
    return {
        "seat": s["seat"], "agent": s["agent_name"] or s["agent"], "state": state,
        "text": STATE_TEXT.get(state, state) + (f"（{s['pause_reason']}）" if state == "paused" else ""),
        "since": s["since"], "on_line": s["on_line"],
        "caller": mask_number(s["caller"]) if state in ("talking", "ringing") else "",
        "tag": info.get("tag", "") if state in ("talking", "ringing") else "",
        "category": info.get("category", "") if state in ("talking", "ringing") else "",
        "desynced": s["desynced"] or "",
    }


def header(floor: dict[str, Any]) -> dict[str, Any]:
    """The map's header, from AcdService.header_view() (or floor_view())."""
    lines = floor["lines"]
    return {
        "window": lines["window"], "lines_target": lines["target"], "lines_scheduled": lines["scheduled"],
        "lines_staffed": lines["staffed"], "standby": lines["standby_active"],
        "standby_reason": lines["standby_reason"], "waiting": floor["waiting"]["count"],
        "longest_wait_s": floor["waiting"]["longest_s"], "alert": floor["waiting"]["longest_s"] > 15,
    }
