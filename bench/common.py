"""Shared by the benchmarks: a bundled PBX and settings on the bench ports."""

from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hotline.config import Settings, load
from hotline.pbx.install import install
from hotline.pbx.process import Pbx

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def bench_pbx(**overrides: object) -> Iterator[tuple[Settings, Pbx]]:
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        rootfs = os.environ.get("HOTLINE_TEST_ROOTFS", str(ROOT / "var" / "pbx-rootfs"))
        settings = load(Path(__file__).parent / "hotline-bench.toml", state_dir=f"{tmp}/state",
                        pbx={"rootfs": rootfs, "instance_dir": f"{tmp}/pbx"}, **overrides)
        install(settings, say=lambda line: None)
        pbx = Pbx(settings)
        pbx.start()
        try:
            yield settings, pbx
        finally:
            pbx.stop()


def percentile(values: Iterable[float], p: float) -> float:
    data = sorted(values)
    if not data:
        return float("nan")
    if len(data) == 1:
        return data[0]
    return statistics.quantiles(data, n=1000, method="inclusive")[int(p * 10) - 1]
