"""The process that answers the desk's suggestions: it holds jieba's
dictionary and the current model, so the controller holds neither. One
worker, started when the first model is there; the model is read again
when the folder asked for changes (a retrain promoted a new version)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hotline.triage import model as tm
from hotline.triage.features import Tokens

_tokens: Tokens | None = None
_loaded: tuple[str, tm.Model] | None = None


def start(place_names: list[str], cache_dir: str | None) -> None:
    global _tokens
    _tokens = Tokens(place_names, cache_dir)
    _tokens("预热")  # jieba reads its dictionary on first use: here, not on the desk's first request


def suggest(folder: str, content: str, address: str, k: int) -> dict[str, Any]:
    global _loaded
    assert _tokens is not None, "worker not started"
    if _loaded is None or _loaded[0] != folder:
        _loaded = (folder, tm.load(Path(folder)))
    model = _loaded[1]
    said = _tokens(content)
    known = sum(1 for t in said if t in model.vocab)
    return {
        "version": model.version,
        "categories": model.categories(said, k) if known else [],
        "units": model.units(said + _tokens(address), k) if known else [],
        "known": known,
    }
