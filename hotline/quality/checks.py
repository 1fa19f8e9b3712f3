"""The automatic checks on one answered call, from who spoke when (pure).

Both parties' speech segments (quality/vad.py) on the call's own clock,
0 = the seat answered: talk shares, the silences when neither speaks (hold
not counted: the caller hears music then), overtalk (both at once), the
time to the agent's first word; and the rules that flag a call for a lead's
review. Computed on a 10 ms grid: exact enough for seconds, cheap for hours."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hotline.config import QualitySettings
from hotline.jsonout import ReadModel

TICK = 0.01
Spans = Sequence[tuple[float, float]]


@dataclass(frozen=True)
class Checks(ReadModel):
    duration_s: float
    agent_talk_s: float
    caller_talk_s: float
    agent_share: float  # of all talk, 0..1
    silence_s: float  # neither speaks, hold excluded
    silence_share: float  # of the call outside hold
    longest_silence_s: float
    longest_silence_at: float  # seconds into the call
    overtalk_s: float
    overtalk_share: float  # of the call outside hold
    overtalk: tuple[tuple[float, float], ...]  # the spans, longest first (at most five)
    hold_s: float
    greet_s: float | None  # the agent's first word; None: never spoke


@dataclass(frozen=True)
class Flag(ReadModel):
    code: str  # silence | overtalk | no-greeting | ticket-incomplete
    text: str
    at: float | None = None  # seconds into the call, where the recording shows it


def _grid(spans: Spans, n: int) -> list[bool]:
    out = [False] * n
    for a, b in spans:
        for i in range(max(0, round(a / TICK)), min(n, round(b / TICK))):
            out[i] = True
    return out


def _runs(marks: Iterable[bool]) -> list[tuple[float, float]]:
    runs, start = [], None
    for i, m in enumerate([*marks, False]):
        if m and start is None:
            start = i
        elif not m and start is not None:
            runs.append((round(start * TICK, 2), round(i * TICK, 2)))
            start = None
    return runs


def measure(agent: Spans, caller: Spans, duration: float, holds: Spans = ()) -> Checks:
    n = max(round(duration / TICK), 1)
    a, c, h = _grid(agent, n), _grid(caller, n), _grid(holds, n)
    live = n - sum(h)
    quiet = [not (x or y or z) for x, y, z in zip(a, c, h, strict=True)]
    both = [x and y and not z for x, y, z in zip(a, c, h, strict=True)]
    silences = _runs(quiet)
    longest = max(silences, key=lambda s: s[1] - s[0], default=(0.0, 0.0))
    spans = tuple(sorted(_runs(both), key=lambda s: s[0] - s[1])[:5])
    talk_a, talk_c = sum(a) * TICK, sum(c) * TICK
    first = next((s[0] for s in sorted(agent) if s[1] > s[0]), None)
    return Checks(
        duration_s=round(duration, 2),
        agent_talk_s=round(talk_a, 2),
        caller_talk_s=round(talk_c, 2),
        agent_share=round(talk_a / (talk_a + talk_c), 3) if talk_a + talk_c else 0.0,
        silence_s=round(sum(quiet) * TICK, 2),
        silence_share=round(sum(quiet) / live, 3) if live else 0.0,
        longest_silence_s=round(longest[1] - longest[0], 2),
        longest_silence_at=longest[0],
        overtalk_s=round(sum(both) * TICK, 2),
        overtalk_share=round(sum(both) / live, 3) if live else 0.0,
        overtalk=spans,
        hold_s=round(sum(h) * TICK, 2),
        greet_s=first,
    )


def mmss(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60:02d}:{s % 60:02d}"


# What a ticket must say before it counts as complete (the lead's 工单规范).
REQUIRED = {"category": "分类", "district": "属地", "address": "地址", "content": "诉求内容"}


def flags(checks: Checks, cfg: QualitySettings, ticket: dict[str, str] | None) -> list[Flag]:
    """Why the call goes to a lead's review ([] : it does not)."""
    out = []
    if checks.longest_silence_s > cfg.silence_seconds:
        at = checks.longest_silence_at
        out.append(Flag("silence", f"静音 {checks.longest_silence_s:.0f} 秒（{mmss(at)} 起）", at))
    if checks.overtalk_share * 100 > cfg.overtalk_percent:
        first = min(checks.overtalk, default=(0.0, 0.0))
        out.append(
            Flag(
                "overtalk",
                f"抢话占通话 {checks.overtalk_share * 100:.0f}%（{mmss(first[0])} 起，共 {len(checks.overtalk)} 处）",
                first[0],
            )
        )
    if checks.greet_s is None:
        out.append(Flag("no-greeting", "坐席全程未开口", 0.0))
    elif checks.greet_s > cfg.greet_seconds:
        out.append(Flag("no-greeting", f"接通 {checks.greet_s:.0f} 秒后才问候", 0.0))
    return out + ticket_flags(ticket)


def ticket_flags(ticket: dict[str, str] | None) -> list[Flag]:
    """A ticket missing what every ticket must say (none: no ticket to judge)."""
    if ticket is None:
        return []
    missing = [text for field, text in REQUIRED.items() if not str(ticket.get(field) or "").strip()]
    return [Flag("ticket-incomplete", "工单缺少：" + "、".join(missing))] if missing else []


# (agent, shift code, start, end): who was rostered when (roster/rules.span).
Rostered = Sequence[tuple[str, str, dt.datetime, dt.datetime]]


def shift_of(agent: str, at: dt.datetime, rostered: Rostered) -> str:
    """The rostered shift an agent's call fell in ('' : off the roster); of
    shifts overlapping at a change, the one that began last."""
    hits = [(start, code) for who, code, start, end in rostered if who == agent and start <= at < end]
    return max(hits)[1] if hits else ""


def sampled(call_id: str, percent: float) -> bool:
    """The random sample (抽检) of calls no rule flagged: decided by the call's
    id, so every lead sees the same sample and a page reload keeps it."""
    digest = hashlib.sha256(call_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") < percent / 100 * 2**32
