"""Chinese word segmentation (jieba) for the features that read tickets'
words: the briefings' hot topics and the triage models.

Each caller gets a tokenizer of its own with the centre's own words added
(place names, 12345's vocabulary). jieba is imported here, on first use:
its dictionary costs about 70 MB and a second to load, so only the child
processes that segment ever load it, never the controller."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any


def tokenizer(
    extra_words: Iterable[str] = (), cache_dir: str | None = None, fold: Callable[[str], str] = str.strip
) -> Any:
    """A jieba.Tokenizer knowing `extra_words` (each passed through `fold`);
    cache_dir: where it keeps its dictionary cache (the service's own folder)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    if cache_dir:
        tk.tmp_dir = cache_dir
    for w in extra_words:
        if w.strip():
            tk.add_word(fold(w.strip()), freq=None)
    return tk
