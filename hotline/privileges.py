"""Run as the service user, never as root.

The README's commands are typed as root on a fresh machine (and run as root
in CI). Root is needed only to install packages and build the PBX's root
filesystem; the controller and Asterisk then run as the unprivileged system
user the bootstrap creates (`service_user`, default `hotline`). Files the
hotline writes hold personal data (calls, recordings, tickets), so the
process umask keeps them private to that user.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from hotline.config import Settings
from hotline.errors import HotlineError

PRIVATE_UMASK = 0o077


class NoServiceUser(HotlineError):
    error_id = "service-user-missing"


def private_files() -> None:
    os.umask(PRIVATE_UMASK)


def _hand_over(path: Path, uid: int, gid: int, skip: Path) -> None:
    """chown a tree to the service user, leaving the PBX root filesystem
    (root-owned, read-only for the sandbox) alone."""
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
    skip = skip.resolve()
    for folder, dirs, files in os.walk(path):
        here = Path(folder)
        dirs[:] = [d for d in dirs if (here / d).resolve() != skip and not (here / d).is_symlink()]
        for name in [".", *files]:
            target = here / name if name != "." else here
            st = target.lstat()
            if (st.st_uid, st.st_gid) != (uid, gid):
                os.lchown(target, uid, gid)
    os.chmod(path, 0o700)


def drop_privileges(settings: Settings) -> None:
    """If running as root: give the state over to the service user and become it.

    Does nothing for an unprivileged user (the README's commands run with
    sudo, a systemd unit with User=)."""
    private_files()
    if os.geteuid() != 0:
        return
    name = settings.service_user
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        raise NoServiceUser(
            f"running as root, but the service user {name!r} does not exist; "
            f"scripts/bootstrap creates it (useradd --system {name})"
        ) from None
    if pw.pw_uid == 0:
        raise NoServiceUser(f"service_user {name!r} is root; give an unprivileged account")
    for folder in {settings.state_dir, settings.pbx.instance_dir}:
        _hand_over(folder, pw.pw_uid, pw.pw_gid, settings.pbx.rootfs)
    os.setgroups([])
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)
    os.environ["HOME"] = pw.pw_dir
    os.environ["USER"] = os.environ["LOGNAME"] = name
