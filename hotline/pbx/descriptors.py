"""Open files: the limit a process is started with, and how near the PBX is.

Asterisk takes a few descriptors per channel (its timer, the Local
channel's pipes, RTP sockets, recordings); started by an unprivileged user
it inherits the soft `nofile` limit, often 1024, and at about 300 calls it
fails with "Too many open files" and drops calls. So whatever starts
Asterisk or the controller raises the soft limit to the hard one (the
systemd units raise both), and the controller watches how many the bundled
PBX holds, warning the lead and monitoring well before the limit."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

NEAR = 0.8  # warn at this share of the limit
CEILING = 1 << 20  # when the hard limit is unlimited


def raise_soft_limit() -> tuple[int, int]:
    """Soft nofile limit up to the hard one (no privilege needed); returns
    (soft, hard) as they are afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = CEILING if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft, hard


@dataclass(frozen=True, slots=True)
class FileUse:
    open: int
    limit: int

    @property
    def near_limit(self) -> bool:
        return self.limit > 0 and self.open >= NEAR * self.limit

    def as_dict(self) -> dict[str, object]:
        return {"open": self.open, "limit": self.limit, "near_limit": self.near_limit}


def parse_limit(limits_text: str) -> int:
    """The soft 'Max open files' of a /proc/PID/limits text (0 if unlimited or absent)."""
    for line in limits_text.splitlines():
        if line.startswith("Max open files"):
            soft = line[len("Max open files") :].split()[0]
            return int(soft) if soft.isdigit() else 0
    return 0


def file_use(pid: int) -> FileUse | None:
    """What process `pid` holds now; None when it is gone or not ours to read."""
    try:
        count = len(os.listdir(f"/proc/{pid}/fd"))
        with open(f"/proc/{pid}/limits", encoding="ascii") as fh:
            limit = parse_limit(fh.read())
    except OSError:
        return None
    return FileUse(count, limit)
