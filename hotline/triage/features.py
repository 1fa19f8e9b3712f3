"""What the triage models read in a ticket: jieba's words and each pair of
them said side by side, after full-width forms are folded.

Words with a digit are dropped: house numbers, phone numbers and amounts say
nothing about the category, and a model file holding them would hold
callers' personal data. jieba's dictionary costs about 70 MB and a second to
load, so only child processes build a Tokens (triage/worker.py, train.py)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from hotline.segment import tokenizer

# A word worth reading: Han characters, or Latin letters (KTV, APP), no digit.
_KEEP = re.compile(r"^(?=.*[\u4e00-\u9fffA-Za-z])[\u4e00-\u9fffA-Za-z]+$")


def fold(text: str) -> str:
    """Full-width letters and digits to their ASCII forms, Latin lower-cased."""
    return unicodedata.normalize("NFKC", text).lower()


class Tokens:
    def __init__(self, extra_words: Iterable[str] = (), cache_dir: str | None = None):
        self._tk = tokenizer(extra_words, cache_dir, fold)

    def __call__(self, text: str) -> list[str]:
        words = [w for w in self._tk.lcut(fold(text), HMM=True) if _KEEP.match(w)]
        return words + [f"{a} {b}" for a, b in zip(words, words[1:])]
