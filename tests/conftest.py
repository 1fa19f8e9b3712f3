"""Shared fixtures: one bundled Asterisk per test session, reset between tests."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.config import Settings
from hotline.configfile import load
from tests.pg import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
TEST_CONFIG = Path(__file__).resolve().parent / "hotline-test.toml"


def make_settings(tmp: Path, **overrides: object) -> Settings:
    rootfs = os.environ.get("HOTLINE_TEST_ROOTFS", str(ROOT / "var" / "pbx-rootfs"))
    base = {"state_dir": str(tmp / "state"), "pbx": {"rootfs": rootfs, "instance_dir": str(tmp / "pbx")}}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}  # type: ignore[dict-item]
        else:
            base[key] = value
    return load(TEST_CONFIG, **base)


class Clock:
    """The controller's clock, set by a test (the night variant, lawyer hours)."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


# The private PostgreSQL server of the session (tests/pg.py), started only
# when a test asks for it.
PG_PORT = int(os.environ.get("HOTLINE_TEST_PG_PORT", "15432"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer(PG_PORT)
    if not server.available:
        pytest.fail("PostgreSQL is not installed (scripts/bootstrap installs it)")
    server.start()
    yield server
    server.stop()
