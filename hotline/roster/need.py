"""Staff need per shift (各班次需要人数): the lines the staffing advisor
finds each half hour needs, divided by the share of a rostered agent's time
on a line (shrinkage: breaks, ticket work, absence), spread over the shifts.

The spread is greedy and cyclic: going round the day twice (the night
shift runs past midnight), each half hour short of agents takes the
shortfall on the running shift with the most of its time still ahead, so
one person covers as much of what follows as possible. Any half hour is
then covered; the total is not always the least possible."""

from __future__ import annotations

import math
from collections.abc import Sequence

from hotline.config import Shift

SLOTS = 48


def _slot(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 2 + int(m) // 30


def slots_of(shift: Shift) -> list[int]:
    """The half hours a shift covers, in order (a night shift wraps)."""
    start, end = _slot(shift.start), _slot(shift.end)
    length = (end - start) % SLOTS or SLOTS
    return [(start + i) % SLOTS for i in range(length)]


def agents_needed(lines: Sequence[int], on_line_share: float) -> list[int]:
    return [math.ceil(n / on_line_share - 1e-9) if n else 0 for n in lines]


def per_shift(lines: Sequence[int], shifts: Sequence[Shift], on_line_share: float) -> dict[str, int]:
    need = agents_needed(lines, on_line_share)
    covers = {s.code: slots_of(s) for s in shifts}
    staff = {s.code: 0 for s in shifts}
    for step in range(2 * SLOTS):
        slot = step % SLOTS
        running = [c for c, cov in covers.items() if slot in cov]
        if not running:
            continue
        short = need[slot] - sum(staff[c] for c in running)
        if short > 0:
            ahead = {c: len(covers[c]) - covers[c].index(slot) for c in running}
            staff[max(running, key=lambda c: ahead[c])] += short
    return staff
