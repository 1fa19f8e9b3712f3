"""Suspected duplicates (并单候选): the same caller, the same address and
category, or much the same words, among open tickets of the last
`tickets.repeat_days`. Scoring is pure; the query is one read."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.config import Settings
from hotline.db.models import Ticket
from hotline.tickets import workflow as wf

SCAN_LIMIT = 200  # recent open tickets compared by text


def bigrams(text: str) -> frozenset[str]:
    """Character pairs: Chinese has no spaces, and pairs catch most
    rewordings of the same complaint without a segmenter."""
    chars = [c for c in text if not c.isspace() and c not in "，。、！？,.!?；;：:（）()“”\"'"]
    return frozenset(a + b for a, b in zip(chars, chars[1:]))


@functools.lru_cache(maxsize=1024)  # a few MB at most
def _bigrams(text: str) -> frozenset[str]:
    # Every intake compares itself with up to SCAN_LIMIT recent tickets, the
    # same ones intake after intake: their pairs are made once.
    return bigrams(text)


def similarity(a: str, b: str) -> float:
    x, y = _bigrams(a), _bigrams(b)
    if not x or not y:
        return 0.0
    common = len(x & y)
    return common / (len(x) + len(y) - common)  # the union's size, without making it


@dataclass(frozen=True, slots=True)
class Probe:
    """What a ticket is compared by (a ticket not yet written has no number)."""

    content: str
    caller: str = ""
    address: str = ""
    category: str = ""
    district: str = ""
    number: str = ""


@dataclass(frozen=True, slots=True)
class Candidate:
    number: str
    score: float
    reasons: tuple[str, ...]


def compare(t: Probe, other: Probe, threshold: float) -> Candidate | None:
    reasons: list[str] = []
    score = similarity(t.content, other.content)
    if t.caller and t.caller == other.caller:
        reasons.append("同一来电号码")
    if t.address and t.address == other.address and t.category == other.category:
        reasons.append("地址和分类相同")
    if score >= threshold:
        reasons.append(f"内容相似 {score:.0%}")
    if not reasons:
        return None
    return Candidate(other.number, round(score + len(reasons), 3), tuple(reasons))


async def candidates(
    db: AsyncSession, settings: Settings, t: Probe, now: dt.datetime, limit: int = 5
) -> list[Candidate]:
    """Open tickets this one may repeat, best first. A read: run it before
    a write transaction, not inside one (SQLite writers queue behind it)."""
    by = tuple(name for name in _MATCHED_BY if getattr(t, name))
    if not by:
        return []
    params = {name: getattr(t, name) for name in by}
    since = now - dt.timedelta(days=settings.tickets.repeat_days)
    rows = (await db.execute(_query(by), {**params, "number": t.number, "since": since})).all()
    found = [c for r in rows if (c := compare(t, Probe(*r), settings.work.similar_text)) is not None]
    return sorted(found, key=lambda c: -c.score)[:limit]


_MATCHED_BY = ("category", "caller", "address", "district")


@functools.cache
def _query(by: tuple[str, ...]) -> Any:
    # One statement per set of fields given, built once: building it cost
    # more than running it (bench/channel_intake.py, profiled).
    return (
        select(Ticket.content, Ticket.caller, Ticket.address, Ticket.category, Ticket.district, Ticket.number)
        .where(
            Ticket.status != wf.Status.CLOSED.value,
            Ticket.number != bindparam("number"),
            Ticket.merged_into == "",
            Ticket.created_at >= bindparam("since"),
            or_(*(getattr(Ticket, name) == bindparam(name) for name in by)),
        )
        .order_by(Ticket.id.desc())
        .limit(SCAN_LIMIT)
    )


def probe_of(t: Ticket) -> Probe:
    return Probe(t.content, t.caller, t.address, t.category, t.district, t.number)
