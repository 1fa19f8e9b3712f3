"""The triage models on disk (state_dir/triage: one folder a version, the
served one named in `current`, all private to the service user) and the
child process that fits a new one (`python -m hotline.triage.train`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

from hotline.children import run_module
from hotline.errors import HotlineError
from hotline.triage.model import META
from hotline.triage.train import Example

CURRENT = "current"
# A year of a large centre's tickets trains in a few minutes.
TRAIN_TIMEOUT_S = 1800.0


class TrainingFailed(HotlineError):
    error_id = "triage-training-failed"
    status = 500


class Versions:
    def __init__(self, root: Path):
        self.root = root

    def current(self) -> str:
        try:
            version = (self.root / CURRENT).read_text().strip()
        except FileNotFoundError:
            return ""
        return version if (self.root / version / META).is_file() else ""

    def new_version(self, now: dt.datetime) -> str:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        version = base = now.strftime("v%Y%m%d-%H%M%S")
        for n in range(2, 100):  # a second version within the same second
            if not (self.root / version).exists():
                break
            version = f"{base}-{n}"
        return version

    def promote(self, version: str) -> None:
        tmp = self.root / f".{CURRENT}.tmp"
        tmp.write_text(version)
        os.replace(tmp, self.root / CURRENT)

    def note(self, version: str, meta: dict[str, Any]) -> None:
        """The model's own meta gets who trained it and whether it is served."""
        path = self.root / version / META
        whole = json.loads(path.read_text(encoding="utf-8"))
        whole.update({k: meta[k] for k in ("source", "by", "promoted")})
        path.write_text(json.dumps(whole, ensure_ascii=False), encoding="utf-8")

    def prune(self, keep: int) -> None:
        current = self.current()
        for version in [v["version"] for v in self.versions()][keep:]:
            if version != current:
                shutil.rmtree(self.root / version, ignore_errors=True)

    def versions(self) -> list[dict[str, Any]]:
        """Newest first, without the vocabulary and labels."""
        if not self.root.is_dir():
            return []
        out = []
        current = self.current()
        for folder in sorted((p for p in self.root.iterdir() if (p / META).is_file()), reverse=True):
            try:
                meta = json.loads((folder / META).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            for key in ("vocab", "category_labels", "unit_labels"):
                meta.pop(key, None)
            out.append({**meta, "current": folder.name == current})
        return out


async def train_in_child(root: Path, rows: list[Example], version: str, place_names: list[str]) -> dict[str, Any]:
    """triage/train.py in a child process, killed if the controller stops meanwhile."""
    head = {"folder": str(root), "version": version, "place_names": place_names, "cache_dir": str(root)}

    async def feed(stdin: asyncio.StreamWriter) -> None:
        stdin.write((json.dumps(head, ensure_ascii=False) + "\n").encode("utf-8"))
        for r in rows:
            line = {"at": r.at.isoformat(), "content": r.content, "address": r.address, "category": r.category}
            stdin.write((json.dumps({**line, "unit": r.unit}, ensure_ascii=False) + "\n").encode("utf-8"))
            await stdin.drain()

    code, out, err = await run_module("hotline.triage.train", feed, TRAIN_TIMEOUT_S)
    if code != 0:
        raise TrainingFailed(f"训练失败（退出码 {code}）：{err.decode(errors='replace')[-500:]}")
    meta: dict[str, Any] = json.loads(out)
    return meta
