"""Ticket histories to learn from: the centre's own closed tickets (read by
triage/service.py), or a history file: JSON lines, one closed ticket each
(at, content, address, category, unit), as the seeded history
(seed/triage-history.jsonl.gz, written by bench/triage_history.py) or a
previous system's export for a centre that starts with none."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

from hotline.triage.train import Example

SEEDED = Path(__file__).resolve().parent.parent / "seed" / "triage-history.jsonl.gz"


class HistoryError(ValueError):
    pass


def read(path: Path = SEEDED) -> list[tuple[Example, int]]:
    """Each ticket with its week (1 for a file that names none)."""
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                at = dt.datetime.fromisoformat(r["at"])
                fields = [r.get(k, "") for k in ("content", "address", "category", "unit")]
                if at.tzinfo is None or not all(type(v) is str for v in fields) or not fields[0] or not fields[2]:
                    raise ValueError("needs at (with its offset), content and category as text")
                week = r.get("week", 1)
                if type(week) is not int:
                    raise ValueError("week must be a whole number")
            except (ValueError, KeyError, TypeError) as exc:
                raise HistoryError(f"{path.name} line {n}: {exc}") from None
            out.append((Example(at, *fields), week))
    return out
