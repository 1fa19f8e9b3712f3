"""What the retention run deletes or anonymises, and why (pure).

Each kind of personal data has its period; past it, files and rows that
only hold it are deleted, and callers' numbers and names are blanked on rows
the figures and briefings still count (a ticket, a call, a queue stay). A
ticket under a legal hold keeps everything, and so do the calls it came
from. Every run says, per kind: what, how many, why."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hotline.config import Settings
from hotline.jsonout import ReadModel

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Cutoffs:
    """Anything older than its cutoff has outlived its period."""

    recordings: dt.datetime
    voice_messages: dt.datetime
    photos: dt.datetime  # the ticket closed before
    callers: dt.datetime  # the ticket closed (or the call ended) before
    sessions: dt.datetime  # the session expired before
    logs: dt.datetime


def cutoffs(settings: Settings, now: dt.datetime) -> Cutoffs:
    r = settings.retention
    return Cutoffs(
        recordings=now - settings.recordings.retention_days * DAY,
        voice_messages=now - r.voice_messages_days * DAY,
        photos=now - r.photos_days * DAY,
        callers=now - r.callers_days * DAY,
        sessions=now - r.sessions_days * DAY,
        logs=now - r.logs_days * DAY,
    )


@dataclass(frozen=True)
class Purged(ReadModel):
    what: str  # recordings | voice-messages | photos | callers | sessions | logs
    count: int
    why: str  # what a person reads: the period that ran out

    @property
    def text(self) -> str:
        return WHAT_TEXT[self.what]


WHAT_TEXT = {
    "recordings": "通话录音",
    "voice-messages": "语音留言",
    "photos": "工单照片",
    "callers": "来电号码和姓名",
    "sessions": "登录会话",
    "logs": "日志文件",
}


def why(settings: Settings, what: str) -> str:
    r = settings.retention
    days = {
        "recordings": settings.recordings.retention_days,
        "voice-messages": r.voice_messages_days,
        "photos": r.photos_days,
        "callers": r.callers_days,
        "sessions": r.sessions_days,
        "logs": r.logs_days,
    }[what]
    return {
        "recordings": f"录音保存期 {days} 天已满，删除录音文件",
        "voice-messages": f"留言保存期 {days} 天已满，删除留言录音和来电号码",
        "photos": f"工单办结满 {days} 天，删除照片",
        "callers": f"工单办结（或来电）满 {days} 天，来电号码和姓名匿名化（工单、统计保留）",
        "sessions": f"登录会话过期满 {days} 天，删除",
        "logs": f"日志保存期 {days} 天已满，删除",
    }[what]


def old_logs(files: dict[str, float], cutoff: dt.datetime) -> list[str]:
    """The PBX's rotated logs (messages.log.<n or date>, with their mtimes)
    older than the cutoff; the live log is never one of them."""
    limit = cutoff.timestamp()
    return sorted(name for name, mtime in files.items() if name.startswith("messages.log.") and mtime < limit)
