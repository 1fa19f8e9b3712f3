"""Retention periods, what counts as old, and the access log's daily files (pure and local)."""

from __future__ import annotations

import datetime as dt
import logging
import stat
from pathlib import Path

from hotline.config import Settings
from hotline.retention import rules
from hotline.web.accesslog import PrivateDailyLog

NOW = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)


def test_each_kind_of_data_has_its_own_cutoff_from_the_settings() -> None:
    s = Settings.model_validate(
        {"retention": {"voice_messages_days": 10, "callers_days": 400}, "recordings": {"retention_days": 7}}
    )
    cut = rules.cutoffs(s, NOW)
    assert cut.recordings == NOW - dt.timedelta(days=7)
    assert cut.voice_messages == NOW - dt.timedelta(days=10)
    assert cut.callers == NOW - dt.timedelta(days=400)
    assert cut.photos == NOW - dt.timedelta(days=365)  # the default
    assert "7 天" in rules.why(s, "recordings") and "400 天" in rules.why(s, "callers")


def test_only_rotated_logs_older_than_the_cutoff_go_never_the_live_one() -> None:
    cutoff = NOW - dt.timedelta(days=30)
    old, young = (cutoff - dt.timedelta(hours=1)).timestamp(), (cutoff + dt.timedelta(hours=1)).timestamp()
    files = {
        "messages.log": old,  # the live log, however old its last line
        "messages.log.2026-10-01_00-00-00": old,
        "messages.log.3": old,
        "messages.log.2026-11-20_00-00-00": young,
        "console.log": old,
    }
    assert rules.old_logs(files, cutoff) == ["messages.log.2026-10-01_00-00-00", "messages.log.3"]


def test_the_access_log_keeps_its_days_and_every_file_private(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    handler = PrivateDailyLog(path, when="midnight", backupCount=2, encoding="utf-8")
    log = logging.getLogger("test.retention.access")
    log.addHandler(handler)
    log.propagate = False
    try:
        first_midnight = dt.datetime(2026, 11, 1).timestamp()  # local midnight, as the handler counts
        for day in range(4):
            log.warning("GET /api/health from 10.0.0.%d", day)
            # The handler names a file after the day that ended: four days pass.
            handler.rolloverAt = int(first_midnight) + (day + 1) * 86400
            handler.doRollover()
        rotated = sorted(p.name for p in tmp_path.glob("access.log.*"))
        assert rotated == ["access.log.2026-11-03", "access.log.2026-11-04"]  # two days kept, the oldest gone
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in tmp_path.iterdir())
    finally:
        log.removeHandler(handler)
        handler.close()
