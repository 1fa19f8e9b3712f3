"""Provision Asterisk 22 from Debian's unstable suite into a cached root filesystem.

Debian 12 ships no Asterisk; mmdebstrap builds a small sid root filesystem
holding it (DESIGN.md, "The PBX"). The result is cached: a stamp file records
what was installed, and a second install with the same package list is a no-op.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from hotline.config import Settings
from hotline.credentials import ensure_secrets
from hotline.errors import HotlineError

STAMP = ".hotline-pbx.json"
ASTERISK = "usr/sbin/asterisk"


class InstallError(HotlineError):
    error_id = "pbx-install-failed"


def _stamp(settings: Settings) -> dict[str, object]:
    return {"suite": settings.pbx.suite, "packages": sorted(settings.pbx.packages)}


def is_installed(settings: Settings) -> bool:
    root = settings.pbx.rootfs
    try:
        recorded = json.loads((root / STAMP).read_text())
    except (FileNotFoundError, ValueError):
        return False
    wanted = _stamp(settings)
    return (root / ASTERISK).is_file() and all(recorded.get(k) == v for k, v in wanted.items())


def asterisk_version(rootfs: Path) -> str:
    try:
        recorded = json.loads((rootfs / STAMP).read_text())
        return str(recorded.get("asterisk_version", ""))
    except (FileNotFoundError, ValueError):
        return ""


# Folders the sandbox binds the instance's own folders onto.
MOUNT_POINTS = ("var/lib/asterisk/hotline", "usr/share/asterisk/sounds/zh")


def install(settings: Settings, say: Callable[[str], None] = print) -> bool:
    """Install if needed; returns True when something was built."""
    steps = 4
    started = time.monotonic()

    def step(n: int, text: str) -> None:
        say(f"[{n}/{steps}] {text}")

    step(1, "checking the tools (mmdebstrap, bwrap, sox)")
    missing = [tool for tool in ("mmdebstrap", "bwrap", "sox") if shutil.which(tool) is None]
    if missing:
        raise InstallError("missing tools: " + ", ".join(missing) + " (apt-get install mmdebstrap bubblewrap sox)")
    root = settings.pbx.rootfs
    built = False
    if is_installed(settings):
        step(2, f"Asterisk root filesystem already in {root} (cached)")
    else:
        step(2, f"building the Asterisk root filesystem in {root} (Debian {settings.pbx.suite})")
        _build(settings)
        built = True
    step(3, "checking the Asterisk version")
    version = asterisk_version(root)
    if not version.startswith("Asterisk 22"):
        raise InstallError(f"expected Asterisk 22 in {root}, found {version or 'nothing'}")
    say(f"      {version}")
    # bwrap cannot create a mount point inside the read-only root, and the
    # unprivileged service user cannot create one either: made here, as root.
    for point in MOUNT_POINTS:
        (root / point).mkdir(parents=True, exist_ok=True)
    step(4, "generating secrets (kept in the state folder, mode 600)")
    ensure_secrets(settings)
    say(f"done in {time.monotonic() - started:.1f} s")
    return built


def _build(settings: Settings) -> None:
    root = settings.pbx.rootfs
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.with_name(root.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    cmd = [
        "mmdebstrap",
        "--variant=apt",
        "--quiet",
        '--aptopt=Acquire::Check-Valid-Until "false"',
        '--aptopt=Acquire::Retries "3"',
        "--include=" + ",".join(settings.pbx.packages),
        settings.pbx.suite,
        str(tmp),
    ]
    if settings.pbx.mirror:
        cmd.append(settings.pbx.mirror)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not (tmp / ASTERISK).is_file():
        tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-15:])
        shutil.rmtree(tmp, ignore_errors=True)
        raise InstallError(f"mmdebstrap failed (exit {proc.returncode}):\n{tail}")
    version = subprocess.run(
        ["chroot", str(tmp), "/usr/sbin/asterisk", "-V"], capture_output=True, text=True
    ).stdout.strip()
    stamp = _stamp(settings) | {"asterisk_version": version, "built": time.strftime("%F %T")}
    (tmp / STAMP).write_text(json.dumps(stamp, ensure_ascii=False, indent=2))
    if root.exists():
        shutil.rmtree(root)
    tmp.rename(root)
