"""The private PostgreSQL server of `hotline cluster up` (never the system one).

Its own folder, created by initdb on first use; no TCP at all: the server
listens only on a Unix socket inside that folder, which is the service
user's alone (mode 700), so trust authentication admits nobody else."""

from __future__ import annotations

import glob
import os
import subprocess
from pathlib import Path

from hotline.errors import HotlineError

USER = "hotline"
DATABASE = "hotline"


class LocalPostgresError(HotlineError):
    error_id = "cluster-postgres-failed"


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


class LocalPostgres:
    def __init__(self, folder: Path, port: int):
        self.folder = folder
        self.port = port
        self.data = folder / "data"
        self.bindir = _bindir()

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{USER}@/{DATABASE}?host={self.folder}&port={self.port}"

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists() and self._ctl("status", check=False).returncode == 0

    def start(self) -> None:
        if self.bindir is None:
            raise LocalPostgresError("PostgreSQL is not installed (scripts/bootstrap installs it)")
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        if not (self.data / "PG_VERSION").exists():
            self._run(
                self.bindir / "initdb",
                "-D",
                str(self.data),
                "-U",
                USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            )
        if not self.running():
            self._ctl("start", "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=''")
        if DATABASE not in self._psql("SELECT datname FROM pg_database"):
            self._psql(f"CREATE DATABASE {DATABASE}")

    def stop(self) -> None:
        if self.bindir is not None and self.running():
            self._ctl("stop", "-m", "fast")

    def _psql(self, sql: str) -> str:
        assert self.bindir is not None
        done = self._run(
            self.bindir / "psql",
            "-h",
            str(self.folder),
            "-p",
            str(self.port),
            "-U",
            USER,
            "-d",
            "postgres",
            "-At",
            "-c",
            sql,
        )
        return done.stdout

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self.bindir is not None
        log = self.folder / "server.log"
        return self._run(
            self.bindir / "pg_ctl", "-D", str(self.data), "-l", str(log), "-w", "-t", "60", *args, check=check
        )

    @staticmethod
    def _run(*argv: object, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise LocalPostgresError(f"{Path(str(argv[0])).name} failed: {(done.stderr or done.stdout)[-1500:]}")
        return done
