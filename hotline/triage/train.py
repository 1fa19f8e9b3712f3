"""Fitting a triage model: scikit-learn's TF-IDF and multinomial logistic
regression over jieba's words (triage/features.py), in a child process
(`python -m hotline.triage.train`: a header line and a ticket a line on
stdin, the model written to its folder, its meta as JSON on stdout).

The category head reads what the citizen said; the unit head reads that and
the address, and learns from dispatched tickets only (an answered ticket
went to no unit). Before the model that will be served is fitted on every
row, one fitted on the older 80 % is measured on the newest 20 %: tickets
held out by time, as the model will meet them."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.triage import model as tm
from hotline.triage.features import Tokens

HOLDOUT = 0.2
C = 3.0  # inverse regularisation: chosen on weeks 1-4 of the seeded history (bench/triage.py)


@dataclass(frozen=True, slots=True)
class Example:
    at: dt.datetime
    content: str
    address: str
    category: str
    unit: str  # where it was dispatched; "" when answered on the call


def _same(tokens: list[str]) -> list[str]:
    return tokens


def fit(said: Sequence[list[str]], where: Sequence[list[str]], rows: Sequence[Example], version: str) -> tm.Model:
    """said: each row's content tokens; where: its address tokens."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    both = [s + w for s, w in zip(said, where)]
    vec = TfidfVectorizer(analyzer=_same, sublinear_tf=True, min_df=2)
    vec.fit(both)
    cats = LogisticRegression(C=C, max_iter=2000).fit(vec.transform(said), [r.category for r in rows])
    category = tm.Head(tuple(str(c) for c in cats.classes_), cats.coef_, cats.intercept_)
    sent = [i for i, r in enumerate(rows) if r.unit]
    unit = None
    if len({rows[i].unit for i in sent}) >= 2:
        units = LogisticRegression(C=C, max_iter=2000).fit(
            vec.transform([both[i] for i in sent]), [rows[i].unit for i in sent]
        )
        unit = tm.Head(tuple(str(c) for c in units.classes_), units.coef_, units.intercept_)
    vocab = {str(w): int(i) for w, i in vec.vocabulary_.items()}
    return tm.Model(version, vocab, vec.idf_, category, unit)


def accuracy(model: tm.Model, said: Sequence[list[str]], labels: Sequence[str]) -> dict[str, Any]:
    hits1 = hits3 = 0
    for tokens, label in zip(said, labels):
        top = [c for c, _ in model.categories(tokens, 3)]
        hits1 += bool(top) and top[0] == label
        hits3 += label in top
    n = max(len(labels), 1)
    return {"top1": round(hits1 / n, 4), "top3": round(hits3 / n, 4), "n": len(labels)}


def train(
    rows: list[Example], folder: str, version: str, place_names: list[str], cache_dir: str | None
) -> dict[str, Any]:
    """Run in a child process: measure on the newest fifth, fit on all, write
    the model to folder/version; its meta (with the figures) is returned."""
    # The child gives way to calls, and one core is all it takes.
    os.nice(10)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _train(rows, folder, version, place_names, cache_dir)


def _train(
    rows: list[Example], folder: str, version: str, place_names: list[str], cache_dir: str | None
) -> dict[str, Any]:
    started = time.process_time()
    tokens = Tokens(place_names, cache_dir)
    rows = sorted(rows, key=lambda r: r.at)
    said = [tokens(r.content) for r in rows]
    where = [tokens(r.address) for r in rows]
    cut = int(len(rows) * (1 - HOLDOUT))
    held: dict[str, Any] = {}
    if cut and len({r.category for r in rows[:cut]}) >= 2:
        trial = fit(said[:cut], where[:cut], rows[:cut], version)
        held = accuracy(trial, said[cut:], [r.category for r in rows[cut:]])
        held["from"] = rows[cut].at.isoformat() if cut < len(rows) else ""
    served = fit(said, where, rows, version)
    meta = {
        "version": version,
        "trained_on": len(rows),
        "categories": len(served.category.labels),
        "units": len(served.unit.labels) if served.unit else 0,
        "features": len(served.vocab),
        "first": rows[0].at.isoformat(),
        "last": rows[-1].at.isoformat(),
        "held_out": held,
        "cpu_s": 0.0,
    }
    meta["cpu_s"] = round(time.process_time() - started, 2)
    tm.save(tm.Model(version, served.vocab, served.idf, served.category, served.unit, meta), Path(folder) / version)
    return meta


def learning_curve(
    rows: Sequence[Example], test: Sequence[Example], sizes: Sequence[int], tokens: Tokens
) -> list[dict[str, Any]]:
    """Held-out accuracy against training size (each size the newest rows of `rows`)."""
    said = [tokens(r.content) for r in rows]
    where = [tokens(r.address) for r in rows]
    test_said = [tokens(r.content) for r in test]
    out = []
    for n in sizes:
        part = slice(len(rows) - n, len(rows))
        m = fit(said[part], where[part], rows[part], "curve")
        out.append({"train": n, **accuracy(m, test_said, [r.category for r in test])})
    return out


def main() -> None:
    head = json.loads(sys.stdin.readline())
    rows = []
    for line in sys.stdin:
        r = json.loads(line)
        rows.append(Example(dt.datetime.fromisoformat(r["at"]), r["content"], r["address"], r["category"], r["unit"]))
    meta = train(rows, head["folder"], head["version"], head["place_names"], head["cache_dir"])
    sys.stdout.write(json.dumps(meta, ensure_ascii=False))


if __name__ == "__main__":
    main()
