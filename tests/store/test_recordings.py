"""Recording access rules and the retention purge (files on disk, index in the store)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hotline.accounts import Identity
from hotline.db.engine import make_engine, sessionmaker
from hotline.db.migrate import upgrade_async
from hotline.recordings.store import RecordingForbidden, RecordingNotFound, RecordingStore
from hotline.roles import Role
from hotline.tickets.store import TicketStore
from tests.conftest import TEST_CONFIG, make_settings

AGENT = Identity(1, "agent01", "坐席员一", frozenset({Role.AGENT}))
OTHER = Identity(2, "agent02", "坐席员二", frozenset({Role.AGENT}))
ADMIN = Identity(3, "admin", "管理员", frozenset({Role.ADMIN}))


async def test_agents_hear_their_own_calls_and_old_recordings_are_purged(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    await upgrade_async(settings)
    engine = make_engine(settings)
    sessions = sessionmaker(engine)
    tickets = TicketStore(settings, sessions, lambda: dt.datetime.now(dt.timezone.utc))
    recordings = RecordingStore(settings, sessions)
    try:
        for call_id in ("old-call", "new-call"):
            await tickets.open_for_call(
                call_id=call_id,
                uniqueid=call_id,
                caller="13800000000",
                caller_name="",
                tag="",
                seat="seat01",
                agent="agent01",
                wait_s=1,
            )
        settings.recordings_dir.mkdir(parents=True)
        for name in ("old-call", "new-call"):
            (settings.recordings_dir / f"{name}.wav").write_bytes(b"RIFF" + b"\0" * 100)
        long_ago = time.time() - 200 * 86400
        os.utime(settings.recordings_dir / "old-call.wav", (long_ago, long_ago))

        assert (await recordings.open_for("old-call", AGENT)).name == "old-call.wav"
        assert (await recordings.open_for("old-call", ADMIN)).name == "old-call.wav"
        with pytest.raises(RecordingForbidden):
            await recordings.open_for("old-call", OTHER)
        with pytest.raises(RecordingNotFound):
            await recordings.open_for("../secrets", ADMIN)

        assert await recordings.purge(dry_run=True) == ["old-call.wav"]
        assert (settings.recordings_dir / "old-call.wav").exists()
        assert await recordings.purge() == ["old-call.wav"]  # retention_days = 180
        assert not (settings.recordings_dir / "old-call.wav").exists()
        with pytest.raises(RecordingNotFound):
            await recordings.open_for("old-call", ADMIN)
        assert (await recordings.open_for("new-call", AGENT)).exists()
    finally:
        await engine.dispose()


def test_purge_command(tmp_path: Path) -> None:
    env = {**os.environ, "HOTLINE_STATE_DIR": str(tmp_path / "state"), "HOTLINE_RECORDINGS__DIR": str(tmp_path / "rec")}
    (tmp_path / "rec").mkdir()
    old = tmp_path / "rec" / "x1.wav"
    old.write_bytes(b"RIFF")
    os.utime(old, (time.time() - 10 * 86400,) * 2)
    out = subprocess.run(
        [sys.executable, "-m", "hotline", "--config", str(TEST_CONFIG), "recordings", "purge", "--days", "7"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "deleted x1.wav" in out and not old.exists()
