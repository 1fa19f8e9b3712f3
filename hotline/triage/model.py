"""A trained triage model and how it ranks: pure numpy, no scikit-learn.

Training (triage/train.py, a child process) fits scikit-learn's TF-IDF and
logistic regression and writes only arrays: the vocabulary, the IDF weights
and each head's coefficients. Ranking here repeats what scikit-learn's
transform and predict_proba compute (sublinear TF x IDF, L2 norm, softmax),
so the process that answers the desk loads neither scikit-learn nor a
pickle: a model file is data (np.load with allow_pickle=False), and a
tampered one can at worst rank badly."""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ARRAYS = "model.npz"
META = "meta.json"


@dataclass(frozen=True, slots=True)
class Head:
    """One linear classifier over the shared features: category or unit."""

    labels: tuple[str, ...]
    coef: np.ndarray  # (labels, features); one row when there are two labels
    intercept: np.ndarray

    def probabilities(self, idx: np.ndarray, val: np.ndarray) -> np.ndarray:
        scores = self.coef[:, idx] @ val + self.intercept
        if len(self.labels) == 2:  # scikit-learn's binary case: one row, a logistic
            p = 1.0 / (1.0 + math.exp(-float(scores[0])))
            return np.array([1.0 - p, p])
        scores = scores - scores.max()
        e = np.exp(scores)
        return e / e.sum()

    def rank(self, idx: np.ndarray, val: np.ndarray, k: int) -> list[tuple[str, float]]:
        p = self.probabilities(idx, val)
        best = np.argsort(-p)[:k]
        return [(self.labels[i], float(p[i])) for i in best]


@dataclass(frozen=True, slots=True)
class Model:
    version: str
    vocab: dict[str, int]
    idf: np.ndarray
    category: Head
    unit: Head | None
    meta: dict[str, Any] = field(default_factory=dict)

    def features(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The ticket's TF-IDF vector, sparse: feature indices and values."""
        counts = Counter(self.vocab[t] for t in tokens if t in self.vocab)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        val = (1.0 + np.log(tf)) * self.idf[idx]
        return idx, val / np.linalg.norm(val)

    def categories(self, tokens: list[str], k: int = 3) -> list[tuple[str, float]]:
        return self.category.rank(*self.features(tokens), k)

    def units(self, tokens: list[str], k: int = 3) -> list[tuple[str, float]]:
        return self.unit.rank(*self.features(tokens), k) if self.unit else []


def save(model: Model, folder: Path) -> None:
    """Written private to the service user: the vocabulary comes from what citizens said."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    words = sorted(model.vocab, key=model.vocab.__getitem__)
    arrays: dict[str, Any] = {
        "idf": model.idf,
        "category_coef": model.category.coef,
        "category_intercept": model.category.intercept,
    }
    if model.unit:
        arrays |= {"unit_coef": model.unit.coef, "unit_intercept": model.unit.intercept}
    meta = {
        **model.meta,
        "version": model.version,
        "vocab": words,
        "category_labels": list(model.category.labels),
        "unit_labels": list(model.unit.labels) if model.unit else [],
    }
    for name, write in ((ARRAYS, lambda f: np.savez(f, **arrays)), (META, lambda f: f.write(_json(meta)))):
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            write(f)


def _json(meta: dict[str, Any]) -> bytes:
    return json.dumps(meta, ensure_ascii=False).encode("utf-8")


def load(folder: Path) -> Model:
    meta = json.loads((folder / META).read_text(encoding="utf-8"))
    with np.load(folder / ARRAYS, allow_pickle=False) as a:
        unit = Head(tuple(meta["unit_labels"]), a["unit_coef"], a["unit_intercept"]) if "unit_coef" in a.files else None
        category = Head(tuple(meta["category_labels"]), a["category_coef"], a["category_intercept"])
        idf = a["idf"]
    vocab = {w: i for i, w in enumerate(meta.pop("vocab"))}
    if len(vocab) != idf.shape[0] or category.coef.shape[1] != idf.shape[0]:
        raise ValueError(f"triage model {folder.name}: its arrays and vocabulary disagree")
    return Model(str(meta["version"]), vocab, idf, category, unit, meta)
